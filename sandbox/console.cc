#include "sandbox/console.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sandbox/utf8.h"

namespace evaluatecode::sandbox {
namespace {

constexpr char kConsoleKey[] = "\xff" "console";  // hidden symbol key in the global stash

duk_ret_t EncodeJson(duk_context* ctx, void* /*udata*/) {
  duk_json_encode(ctx, -1);
  return 1;
}

// Replaces the value at `index` by its text: strings as they are, objects and arrays as JSON (falling
// back to String() for a cycle), everything else as String() does.
void ToText(duk_context* ctx, duk_idx_t index) {
  if (duk_is_string(ctx, index) && !duk_is_symbol(ctx, index)) return;
  if (duk_is_object(ctx, index) && !duk_is_function(ctx, index)) {
    duk_dup(ctx, index);
    if (duk_safe_call(ctx, EncodeJson, nullptr, 1, 1) == DUK_EXEC_SUCCESS && duk_is_string(ctx, -1)) {
      duk_replace(ctx, index);
      return;
    }
    duk_pop(ctx);
  }
  duk_safe_to_string(ctx, index);
}

}  // namespace

Console::Console(size_t max_bytes, const TimeSource& time_source)
    : max_bytes_(max_bytes), time_source_(time_source) {}

void Console::Bind(duk_context* ctx, Console* console) {
  duk_push_global_stash(ctx);
  duk_push_pointer(ctx, console);
  duk_put_prop_string(ctx, -2, kConsoleKey);
  duk_pop(ctx);
}

void Console::Install(duk_context* ctx) {
  Bind(ctx, nullptr);
  static constexpr struct {
    const char* name;
    LogEntry::Level level;
  } kMethods[] = {{"log", LogEntry::Level::kLog},
                  {"info", LogEntry::Level::kInfo},
                  {"warn", LogEntry::Level::kWarn},
                  {"error", LogEntry::Level::kError}};
  duk_push_object(ctx);
  for (const auto& method : kMethods) {
    duk_push_c_function(ctx, Write, DUK_VARARGS);
    duk_set_magic(ctx, -1, static_cast<duk_int_t>(method.level));
    duk_put_prop_string(ctx, -2, method.name);
  }
  duk_put_global_string(ctx, "console");
}

duk_ret_t Console::Write(duk_context* ctx) {
  duk_push_global_stash(ctx);
  duk_get_prop_string(ctx, -1, kConsoleKey);
  auto* console = static_cast<Console*>(duk_get_pointer(ctx, -1));
  duk_pop_2(ctx);
  if (console == nullptr) return 0;
  const auto level = static_cast<LogEntry::Level>(duk_get_current_magic(ctx));

  const duk_idx_t count = duk_get_top(ctx);
  if (console->used_bytes_ >= console->max_bytes_) {
    // Spent: convert nothing more, so a flood costs no work.
    console->truncated_ = true;
    return 0;
  }
  for (duk_idx_t i = 0; i < count; ++i) ToText(ctx, i);
  duk_push_string(ctx, " ");
  duk_insert(ctx, 0);
  duk_join(ctx, count);
  duk_size_t length = 0;
  const char* text = duk_get_lstring(ctx, -1, &length);
  console->Append(level, text, length);
  return 0;
}

void Console::Append(LogEntry::Level level, const char* text, size_t length) {
  // Each entry costs its bytes plus one, as if newline-separated, so that a flood of empty entries
  // is bounded too.
  const size_t room = max_bytes_ - used_bytes_ - 1;
  if (length > room) {
    truncated_ = true;
    length = room;
    if (length == 0) {
      used_bytes_ = max_bytes_;
      return;
    }
  }
  used_bytes_ += length + 1;
  entries_.push_back(
      LogEntry{level, CesuToUtf8(absl::string_view(text, length)), time_source_.Now()});
}

std::vector<LogEntry> Console::TakeEntries() {
  std::vector<LogEntry> entries = std::move(entries_);
  entries_.clear();
  if (truncated_) {
    entries.push_back(LogEntry{LogEntry::Level::kWarn,
                               absl::StrCat("console output truncated: max_log_bytes (", max_bytes_,
                                            ") reached"),
                               time_source_.Now()});
  }
  used_bytes_ = 0;
  truncated_ = false;
  return entries;
}

}  // namespace evaluatecode::sandbox
