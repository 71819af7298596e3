#ifndef EVALUATECODE_SERVICE_EVALUATOR_H_
#define EVALUATECODE_SERVICE_EVALUATOR_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/cancellation.h"
#include "common/time_source.h"
#include "evaluate/v1/evaluate.pb.h"
#include "connectors/connector_gateway.h"
#include "sandbox/sandbox.h"
#include "service/gateway_connector_host.h"
#include "service/observability/metrics.h"
#include "service/request_validator.h"

namespace evaluatecode::service {

// What the transport knows about one call.
struct CallContext {
  std::string decision_id;
  // When the request arrived: wall time is measured from here.
  absl::Time received;
  // The caller's deadline (InfiniteFuture when it set none).
  absl::Time deadline = absl::InfiniteFuture();
  // Raised when the caller goes away or the server stops waiting; may be null. Must outlive calls.
  const Cancellation* cancellation = nullptr;
  // W3C trace context the caller sent (empty if none or malformed), for logs and the record.
  std::string traceparent;
  // Who called, as authenticated (empty while the server has no caller authentication).
  std::string caller;
  // Math.random()'s seed when the request sets none (the service draws one per call).
  uint64_t random_seed = 1;
};

// When an evaluation must have ended: the request's timeout from its arrival, clamped by the
// caller's gRPC deadline.
absl::Time EvaluationDeadline(const CallContext& call, const ResolvedLimits& limits);

// Runs one request end to end: compile and evaluate in the sandbox, type the decision, build the
// response or the error. Knows no gRPC types. Blocks for the length of the evaluation: call it from
// an evaluator thread. Thread-safe.
class Evaluator {
 public:
  // All references must outlive the evaluator.
  // `metrics` may be null.
  Evaluator(sandbox::Sandbox& sandbox, connectors::ConnectorGateway& gateway,
            const TimeSource& time_source, observability::Metrics* metrics = nullptr)
      : sandbox_(sandbox), gateway_(gateway), time_source_(time_source), metrics_(metrics) {}

  // Fills `response` and returns nullopt on success. On failure returns the error, carrying the logs
  // captured so far, the usage, the decision id and the code hash.
  std::optional<evaluate::v1::EvaluationError> Evaluate(
      const evaluate::v1::EvaluateCodeRequest& request, const ResolvedLimits& limits,
      const CallContext& call, evaluate::v1::EvaluateCodeResponse* response) const;

  // Compiles `request.code` through the cache and reports diagnostics; fails only when our machinery
  // does (INTERNAL_ERROR).
  std::optional<evaluate::v1::EvaluationError> Compile(
      const evaluate::v1::CompileCodeRequest& request,
      evaluate::v1::CompileCodeResponse* response) const;

 private:
  // Everything but the bookkeeping shared by success and failure.
  std::optional<evaluate::v1::EvaluationError> CompileAndRun(
      const evaluate::v1::EvaluateCodeRequest& request, const ResolvedLimits& limits,
      const CallContext& call, absl::Time clock, uint64_t random_seed,
      GatewayConnectorHost& connector_host, evaluate::v1::EvaluateCodeResponse* response,
      evaluate::v1::Usage* usage) const;

  sandbox::Sandbox& sandbox_;
  connectors::ConnectorGateway& gateway_;
  const TimeSource& time_source_;
  observability::Metrics* const metrics_;
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_EVALUATOR_H_
