#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_METRICS_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_METRICS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace evaluatecode::service::observability {

// The `metrics:` config section.
struct MetricsOptions {
  // enabled: serve /metrics. When false metrics are still counted (cheaply) but not served.
  bool enabled = true;
  // listen: HOST:PORT of the /metrics HTTP endpoint, apart from the gRPC port so that a
  // NetworkPolicy can open it to the scraper only. Port 0 picks a free port.
  std::string listen_address = "127.0.0.1:9464";
};

// State of a connector's circuit breaker, as exported.
enum class BreakerState { kClosed, kOpen, kHalfOpen };

// What the service, the sandbox supervisor and the connector layer report. Label values are bounded
// by the implementation: a value outside the expected set (an unknown reason, method, connector or
// operation) is recorded as "OTHER"/"other", never as the caller's text. Nothing from user input
// (tenant ids, labels, code hashes) ever becomes a label. Implementations are thread-safe and never
// block for long: call them from any thread, gRPC's included.
class Metrics {
 public:
  virtual ~Metrics() = default;

  // A call of `method` ("EvaluateCode", "CompileCode", "ListConnectors") arrived. Together with
  // RecordRpc this proves every received call got exactly one answer.
  virtual void RecordRpcReceived(absl::string_view method) = 0;

  // A call of `method` was answered with `code` (a gRPC code has the same number as its absl one:
  // static_cast<absl::StatusCode>(status.error_code())) after `latency` from its arrival.
  virtual void RecordRpc(absl::string_view method, absl::StatusCode code,
                         absl::Duration latency) = 0;

  // An evaluation that reached the sandbox ended. `outcome` is "OK" or an ErrorReason name such as
  // "SCRIPT_TIMEOUT". Also counts one compile-cache lookup (`compile_cache_hit`): do not call
  // RecordCompileCache for the same evaluation.
  virtual void RecordEvaluation(absl::string_view outcome, absl::Duration wall_time,
                                absl::Duration engine_time, uint64_t peak_heap_bytes,
                                bool compile_cache_hit) = 0;

  // An EvaluateCode call answered with `reason` before it reached the sandbox: refused
  // (INVALID_REQUEST, QUOTA_EXCEEDED, SERVER_OVERLOADED, SERVER_SHUTTING_DOWN, CALLER_…).
  virtual void RecordRefusal(absl::string_view reason) = 0;

  // A compile-cache lookup outside an evaluation (CompileCode).
  virtual void RecordCompileCache(bool hit) = 0;

  // Sandbox worker processes: started (first start or replacement), killed by the supervisor (an
  // overrun), or died on their own (a crash).
  virtual void RecordWorkerStart() = 0;
  virtual void RecordWorkerKill() = 0;
  virtual void RecordWorkerCrash() = 0;

  // Evaluations waiting in the evaluator queue, and calls received and not yet answered (queued
  // or running).
  virtual void SetQueueDepth(int depth) = 0;
  virtual void SetInFlight(int in_flight) = 0;

  // One script call through a connector ended. `outcome` is "OK" or a connector error reason name
  // ("CONNECTOR_TIMEOUT", …); `attempts` counts HTTP attempts (0 when answered from the cache);
  // `latency` is from the script's call to its answer.
  virtual void RecordConnectorCall(absl::string_view connector, absl::string_view operation,
                                   absl::string_view outcome, absl::Duration latency,
                                   int attempts, bool from_cache) = 0;

  // The breaker of `connector` is now in `state`.
  virtual void SetBreakerState(absl::string_view connector, BreakerState state) = 0;

  // A call to `connector` was refused by its rate limit, or retried.
  virtual void RecordRateLimited(absl::string_view connector) = 0;
  virtual void RecordRetry(absl::string_view connector) = 0;

  // A decision record was appended (`ok`) or refused, `latency` after it was handed to the log
  // (in durable mode: until it was on disk).
  virtual void RecordDecisionLogWrite(absl::Duration latency, bool ok) = 0;
};

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_METRICS_H_
