#include "sandbox/thrown_error.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "sandbox/connectors_binding.h"
#include "sandbox/utf8.h"

namespace evaluatecode::sandbox {
namespace {

duk_ret_t Read(duk_context* ctx, void* udata) {
  auto* out = static_cast<ThrownError*>(udata);
  // [... error]; String() coerces in place, so coerce a copy.
  duk_dup_top(ctx);
  out->message = CesuToUtf8(duk_safe_to_string(ctx, -1));
  duk_pop(ctx);
  if (duk_is_error(ctx, -1)) {
    duk_get_prop_string(ctx, -1, "lineNumber");
    out->line = duk_is_number(ctx, -1) ? duk_get_int(ctx, -1) : 0;
    duk_pop(ctx);
    duk_get_prop_string(ctx, -1, "stack");
    if (duk_is_string(ctx, -1)) out->stack = CesuToUtf8(duk_get_string(ctx, -1));
    duk_pop(ctx);
    duk_get_prop_string(ctx, -1, kConnectorReasonKey);
    if (duk_is_string(ctx, -1)) out->connector_reason = duk_get_string(ctx, -1);
    duk_pop(ctx);
  }
  return 0;
}

// Keeps the message line and the frames in the script; drops Duktape's native frames, which name
// engine internals rather than anything the author wrote.
std::string ScriptFrames(absl::string_view stack) {
  std::vector<absl::string_view> kept;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(stack, '\n')) {
    if (first || absl::StrContains(line, absl::StrCat("(", kScriptFileName, ":"))) kept.push_back(line);
    first = false;
  }
  return absl::StrJoin(kept, "\n");
}

}  // namespace

ThrownError ReadThrownError(duk_context* ctx) {
  ThrownError error;
  duk_dup_top(ctx);
  if (duk_safe_call(ctx, Read, &error, 1, 1) != DUK_EXEC_SUCCESS && error.message.empty()) {
    error.message = "Error (its message could not be read)";
  }
  duk_pop(ctx);
  error.stack = ScriptFrames(error.stack);
  return error;
}

}  // namespace evaluatecode::sandbox
