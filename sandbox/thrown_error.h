#ifndef EVALUATECODE_SANDBOX_THROWN_ERROR_H_
#define EVALUATECODE_SANDBOX_THROWN_ERROR_H_

#include <string>

#include "duktape.h"

namespace evaluatecode::sandbox {

// What a script threw, as an author wants to read it.
struct ThrownError {
  // `String(value)`, e.g. "TypeError: undefined not callable".
  std::string message;
  // The `lineNumber` of an Error, 0 for thrown non-Error values.
  int line = 0;
  // The script's own frames of the Error's `stack`, empty for non-Errors.
  std::string stack;
  // For a ConnectorError raised by `connectors.*`: its reason, e.g. "CONNECTOR_TIMEOUT".
  std::string connector_reason;
};

// Reads the value on top of `ctx`'s stack (left in place). Safe to call outside duk_safe_call: it
// runs its Duktape work in one, since reading `message` or `stack` may run the script's getters.
ThrownError ReadThrownError(duk_context* ctx);

// The file name scripts are compiled under: what stack traces show instead of any host path.
inline constexpr char kScriptFileName[] = "script";

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_THROWN_ERROR_H_
