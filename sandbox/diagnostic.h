#ifndef EVALUATECODE_SANDBOX_DIAGNOSTIC_H_
#define EVALUATECODE_SANDBOX_DIAGNOSTIC_H_

#include <string>

namespace evaluatecode::sandbox {

// A problem found in a script's source, at the author's own position.
struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string message;
  // 1-based; 0 when unknown. Duktape reports lines only, so column stays 0 for its errors.
  int line = 0;
  int column = 0;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_DIAGNOSTIC_H_
