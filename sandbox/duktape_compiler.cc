#include "sandbox/duktape_compiler.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "sandbox/duktape_heap.h"
#include "sandbox/thrown_error.h"

namespace evaluatecode::sandbox {
namespace {

// The script is the body of a function of `input`. Compiling it in function mode makes the whole
// text one function expression, so the body cannot close the wrapper and run code outside it; the
// header shares the first line, so line numbers in the body are the author's own.
constexpr char kWrapperHead[] = "function (input) {";
constexpr char kWrapperTail[] = "\n}";

struct CompileCall {
  const std::string* wrapped_source;
};

duk_ret_t CompileAndDump(duk_context* ctx, void* udata) {
  const auto* call = static_cast<const CompileCall*>(udata);
  duk_push_string(ctx, kScriptFileName);
  // Strict mode: warm heaps have a frozen global object, and strict code reports a write to it
  // (an implicit global, a patched built-in) as the TypeError it is instead of ignoring it.
  duk_compile_lstring_filename(ctx, DUK_COMPILE_FUNCTION | DUK_COMPILE_STRICT,
                               call->wrapped_source->data(), call->wrapped_source->size());
  duk_dump_function(ctx);
  return 1;
}

int CountLines(absl::string_view source) {
  return 1 + static_cast<int>(std::count(source.begin(), source.end(), '\n'));
}

class DuktapeCompiler final : public Compiler {
 public:
  DuktapeCompiler(const CompilerOptions& options, const TimeSource& time_source)
      : options_(options), time_source_(time_source) {}

  // Compiler
  absl::StatusOr<CompileResult> Compile(absl::string_view source) const override {
    absl::StatusOr<std::unique_ptr<DuktapeHeap>> heap =
        DuktapeHeap::Create(options_.memory_bytes, time_source_);
    if (!heap.ok()) return heap.status();
    duk_context* ctx = (*heap)->context();
    const int source_lines = CountLines(source);
    const std::string wrapped = absl::StrCat(kWrapperHead, source, kWrapperTail);
    CompileCall call{&wrapped};

    (*heap)->Arm(time_source_.Now() + options_.timeout, nullptr);
    const duk_int_t status = duk_safe_call(ctx, CompileAndDump, &call, 0, 1);
    (*heap)->Disarm();

    CompileResult result;
    if (status != DUK_EXEC_SUCCESS) {
      Diagnostic diagnostic;
      if ((*heap)->stop_cause() != DuktapeHeap::StopCause::kNone) {
        diagnostic.message = absl::StrCat("compiling took longer than its budget of ",
                                          absl::FormatDuration(options_.timeout));
      } else if ((*heap)->memory_limit_hit()) {
        diagnostic.message = absl::StrCat("compiling needed more than its memory budget of ",
                                          options_.memory_bytes, " bytes");
      } else {
        ThrownError error = ReadThrownError(ctx);
        diagnostic.message = std::move(error.message);
        diagnostic.line = std::min(error.line, source_lines);
      }
      result.diagnostics.push_back(std::move(diagnostic));
      return result;
    }

    auto script = std::make_shared<CompiledScript>();
    static std::atomic<uint64_t> next_id{1};
    script->id = next_id.fetch_add(1, std::memory_order_relaxed);
    script->source_lines = source_lines;
    duk_size_t size = 0;
    const void* bytecode = duk_get_buffer_data(ctx, -1, &size);
    script->bytecode.assign(static_cast<const char*>(bytecode), size);
    result.script = std::move(script);
    return result;
  }

 private:
  const CompilerOptions options_;
  const TimeSource& time_source_;
};

}  // namespace

std::unique_ptr<Compiler> NewDuktapeCompiler(const CompilerOptions& options,
                                             const TimeSource& time_source) {
  return std::make_unique<DuktapeCompiler>(options, time_source);
}

}  // namespace evaluatecode::sandbox
