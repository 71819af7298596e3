#ifndef EVALUATECODE_SANDBOX_COMPILER_H_
#define EVALUATECODE_SANDBOX_COMPILER_H_

#include <memory>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sandbox/compiled_script.h"
#include "sandbox/diagnostic.h"

namespace evaluatecode::sandbox {

// The outcome of compiling a script. A script that does not compile is data, not a failure:
// `script` is null and `diagnostics` says why.
struct CompileResult {
  std::shared_ptr<const CompiledScript> script;
  std::vector<Diagnostic> diagnostics;

  bool ok() const { return script != nullptr; }
};

// Turns source into something an Engine can run. Expensive: callers go through ScriptCache.
// Implementations are thread-safe.
class Compiler {
 public:
  virtual ~Compiler() = default;

  // Compiles `source` as the body of `function (input) { … }`. Returns a non-OK Status only when
  // our machinery fails (kResourceExhausted if the compile itself ran out of its budget).
  virtual absl::StatusOr<CompileResult> Compile(absl::string_view source) const = 0;
};

// Budget of one compile: the source is untrusted, so compiling it is bounded too.
struct CompilerOptions {
  // Wall-clock budget of one compile.
  absl::Duration timeout = absl::Seconds(2);
  // Cap on the compile heap in bytes.
  size_t memory_bytes = 64 << 20;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_COMPILER_H_
