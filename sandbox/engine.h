#ifndef EVALUATECODE_SANDBOX_ENGINE_H_
#define EVALUATECODE_SANDBOX_ENGINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cancellation.h"
#include "common/wire_struct.h"
#include "google/protobuf/struct.pb.h"
#include "sandbox/compiled_script.h"
#include "sandbox/connector_host.h"

namespace evaluatecode::sandbox {

// Limits of one evaluation, already resolved against the server's defaults and maxima.
struct EvaluationLimits {
  // Cap on the script heap in bytes (the heap's own ~100 KB of built-ins count against it).
  size_t memory_bytes = 32 << 20;
  // Bytes of console output kept; past it, output is dropped and one truncation entry is added.
  size_t max_log_bytes = 64 << 10;
  // Cap on the result's size, measured as its compact JSON encoding.
  size_t max_output_bytes = 1 << 20;
};

// What one evaluation is given.
struct EvaluationRequest {
  // Exposed to the script as `input`: `wire_input` when set (the input read from its bytes,
  // common/wire_struct.h), else `input`, else an empty object. Not owned; must outlive Evaluate().
  const google::protobuf::Struct* input = nullptr;
  const WireStruct* wire_input = nullptr;
  EvaluationLimits limits;
  // The script is stopped when this passes (the request timeout clamped by the gRPC deadline).
  absl::Time deadline = absl::InfiniteFuture();
  // Polled while the script runs; may be null. Not owned; must outlive Evaluate().
  const Cancellation* cancellation = nullptr;
  // Evaluations of different partitions (tenants) never share a heap, even a reused one.
  std::string partition;
  // Serves `connectors.*` calls; null: every call fails CONNECTOR_NOT_ALLOWED. Not owned.
  ConnectorHost* connector_host = nullptr;
  // The evaluation's world, for reproducible results: Date.now() and console times are `clock`
  // (InfiniteFuture: the real clock), Math.random() is seeded with `random_seed`.
  absl::Time clock = absl::InfiniteFuture();
  uint64_t random_seed = 0;
};

// One console call.
struct LogEntry {
  enum class Level { kLog, kInfo, kWarn, kError };
  Level level = Level::kLog;
  std::string message;
  absl::Time time;
};

// A failure the script caused: customer errors are data, never a non-OK Status.
struct ScriptError {
  enum class Kind {
    kRuntimeError,   // the script threw
    kTimeout,        // the deadline passed
    kMemoryLimit,    // the heap reached its cap
    kResultInvalid,  // the result is not JSON or too large
    kCancelled,      // the Cancellation was raised
    kCrashed,        // its worker process died (native crash, fatal error) or broke its channel
    kQuarantined,    // refused: this code crashed workers repeatedly
    kConnectorError,  // a connector call failed and the script did not catch it
    kUnsettledPromise,  // the script's promise was still pending with nothing left to run
    kNoWorker,  // no sandbox worker became free before the deadline: the server is overloaded
  };
  Kind kind = Kind::kRuntimeError;
  std::string message;
  // For kConnectorError: the connector's reason name, e.g. "CONNECTOR_TIMEOUT".
  std::string connector_reason;
  // 1-based position in the script source; 0 when unknown.
  int line = 0;
  int column = 0;
  std::string stack;

  // The run stopped, or never started, because its Cancellation was raised.
  static ScriptError Cancelled() { return {Kind::kCancelled, "the evaluation was cancelled"}; }
};

struct EvaluationResult {
  // What the script returned (null when it returned nothing). Unset when `error` is set.
  google::protobuf::Value result;
  std::optional<ScriptError> error;
  // Console output, including what was logged before an error.
  std::vector<LogEntry> logs;
  absl::Duration engine_time;
  size_t peak_heap_bytes = 0;
  // True when the evaluation ran in a heap an earlier evaluation had used.
  bool reused_heap = false;
  // True when the script stopped at a connector call its host answered with `suspend`: this run
  // counts for nothing (no result, error or logs) and the evaluation is to be run again.
  bool suspended = false;
};

// Runs compiled scripts. Evaluate never parses or transpiles. Implementations are thread-safe.
class Engine {
 public:
  virtual ~Engine() = default;

  // Runs `script` once. Returns a non-OK Status only when our machinery fails (e.g. a heap could not
  // be created); everything the script does, including running out of time or memory, is reported
  // in EvaluationResult::error.
  virtual absl::StatusOr<EvaluationResult> Evaluate(const CompiledScript& script,
                                                    const EvaluationRequest& request) const = 0;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_ENGINE_H_
