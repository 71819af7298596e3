#ifndef EVALUATECODE_SANDBOX_SANDBOX_H_
#define EVALUATECODE_SANDBOX_SANDBOX_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cancellation.h"
#include "google/protobuf/struct.pb.h"
#include "sandbox/connector_host.h"
#include "sandbox/diagnostic.h"
#include "sandbox/engine.h"

namespace evaluatecode::sandbox {

// One script to compile and run.
struct SandboxRequest {
  std::string source;
  // Lower-case hex SHA-256 of `source` when the caller has computed it already (the worker
  // sandbox's supervisor has), or empty. The compile cache trusts it as its key.
  std::string code_sha256;
  // Not owned; must outlive the call. Null means `serialized_input` parsed, or an empty object
  // when that is null too.
  const google::protobuf::Struct* input = nullptr;
  // `input` serialized, when the caller has the bytes already (the service has them as the request
  // came, and may not have parsed them): a sandbox worker is sent these instead of `input`
  // serialized again. Not owned; may be null.
  const std::string* serialized_input = nullptr;
  EvaluationLimits limits;
  absl::Time deadline = absl::InfiniteFuture();
  // Not owned; may be null.
  const Cancellation* cancellation = nullptr;
  // The tenant: evaluations of different partitions never share a heap.
  std::string partition;
  // Serves the script's connector calls (in this process, even when the script runs in a worker);
  // null: every call fails CONNECTOR_NOT_ALLOWED. Not owned.
  ConnectorHost* connector_host = nullptr;
  // What the script sees of time and randomness (see EvaluationRequest). In a worker, an evaluation
  // is run again from the top after each connector call (WorkerSandbox): with the real clock, a
  // run may take another path than the one before it, and its calls are then made anew.
  absl::Time clock = absl::InfiniteFuture();
  uint64_t random_seed = 0;
};

// Whether Sandbox::Compile also checks types.
enum class TypeCheck { kRun, kSkip };

// How a source compiled.
struct CompileOutcome {
  std::string code_sha256;
  bool cache_hit = false;
  // Empty when the source compiled cleanly; an error diagnostic means it did not compile.
  std::vector<Diagnostic> diagnostics;

  bool compiled() const {
    for (const Diagnostic& d : diagnostics) {
      if (d.severity == Diagnostic::Severity::kError) return false;
    }
    return true;
  }
};

struct SandboxResult {
  CompileOutcome compile;
  // Meaningful only when compile.compiled().
  EvaluationResult evaluation;
};

// Called once with an evaluation's result.
using SandboxDone = absl::AnyInvocable<void(absl::StatusOr<SandboxResult>) &&>;
// Called once with a compile's outcome.
using CompileDone = absl::AnyInvocable<void(absl::StatusOr<CompileOutcome>) &&>;

// Compiles and runs untrusted scripts, in this process or behind a process boundary. A non-OK
// Status means our machinery failed; everything the script caused (including crashing a worker)
// is data in the result. Implementations are thread-safe.
class Sandbox {
 public:
  virtual ~Sandbox() = default;
  // Blocks for the length of the evaluation.
  virtual absl::StatusOr<SandboxResult> Evaluate(const SandboxRequest& request) = 0;
  // Starts the evaluation and returns; `done` gets the result, on any thread. What `request`
  // points to (input, cancellation, connector host) must outlive the call of `done`. By default
  // the evaluation runs on this thread before EvaluateAsync returns; a sandbox that can wait
  // without a thread (for a worker, for a vendor) overrides it.
  virtual void EvaluateAsync(const SandboxRequest& request, SandboxDone done) {
    std::move(done)(Evaluate(request));
  }
  // With TypeCheck::kRun, a TypeScript source that compiled is type checked too; type errors are
  // warnings among the diagnostics (Transpiler::CheckTypes).
  virtual absl::StatusOr<CompileOutcome> Compile(const std::string& source,
                                                 TypeCheck type_check) = 0;
  // Compile, reporting to `done` (on any thread) instead of blocking; by default on this thread.
  virtual void CompileAsync(const std::string& source, TypeCheck type_check, CompileDone done) {
    std::move(done)(Compile(source, type_check));
  }
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_SANDBOX_H_
