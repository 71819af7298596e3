#ifndef EVALUATECODE_SERVICE_EVALUATOR_H_
#define EVALUATECODE_SERVICE_EVALUATOR_H_

#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cancellation.h"
#include "common/time_source.h"
#include "common/wire_struct.h"
#include "evaluate/v1/evaluate.pb.h"
#include "connectors/connector_gateway.h"
#include "sandbox/sandbox.h"
#include "service/gateway_connector_host.h"
#include "service/observability/metrics.h"
#include "service/request_validator.h"
#include "service/serialized_answers.h"

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
  // The request's input as it came (a serialized Struct), when known: a sandbox worker gets these
  // bytes instead of the input serialized again. Not owned; must outlive the call.
  const std::string* serialized_input = nullptr;
  // The input read from those bytes when the request was parsed without it: then the request's
  // own `input` is empty, and this is the input. Null: the request's `input` is. Not owned.
  const WireStruct* wire_input = nullptr;
  // Where the response's vendor answers are serialized once, for the worker and the reply; null
  // when the response is not serialized as a reply by the caller (MoveIntoRecords). Not owned.
  SerializedAnswers* answers = nullptr;
};

// When an evaluation must have ended: the request's timeout from its arrival, clamped by the
// caller's gRPC deadline.
absl::Time EvaluationDeadline(const CallContext& call, const ResolvedLimits& limits);

// Called once with an evaluation's error, or nullopt when the response is filled.
using EvaluationDone = absl::AnyInvocable<void(std::optional<evaluate::v1::EvaluationError>) &&>;

// Runs one request end to end: compile and evaluate in the sandbox, type the decision, build the
// response or the error. Knows no gRPC types. Thread-safe.
class Evaluator {
 public:
  // All references must outlive the evaluator.
  // `metrics` may be null.
  Evaluator(sandbox::Sandbox& sandbox, connectors::ConnectorGateway& gateway,
            const TimeSource& time_source, observability::Metrics* metrics = nullptr)
      : sandbox_(sandbox), gateway_(gateway), time_source_(time_source), metrics_(metrics) {}

  // Starts the evaluation and returns; `done` gets nullopt when `response` is filled, or the
  // error, carrying the logs captured so far, the usage, the decision id and the code hash. It
  // runs on any thread (with the in-process sandbox, on this one before EvaluateAsync returns:
  // call it from an evaluator thread). `request`, `response` and the call's cancellation must
  // outlive the call of `done`.
  void EvaluateAsync(const evaluate::v1::EvaluateCodeRequest& request,
                     const ResolvedLimits& limits, const CallContext& call,
                     evaluate::v1::EvaluateCodeResponse* response, EvaluationDone done) const;

  // EvaluateAsync, waiting for the evaluation to end.
  std::optional<evaluate::v1::EvaluationError> Evaluate(
      const evaluate::v1::EvaluateCodeRequest& request, const ResolvedLimits& limits,
      const CallContext& call, evaluate::v1::EvaluateCodeResponse* response) const;

  // Compiles `request.code` through the cache and reports diagnostics to `done` (as
  // EvaluateAsync does); fails only when our machinery does (INTERNAL_ERROR). `request` and
  // `response` must outlive the call of `done`.
  void CompileAsync(const evaluate::v1::CompileCodeRequest& request,
                    evaluate::v1::CompileCodeResponse* response, EvaluationDone done) const;

  // CompileAsync, waiting for the compile to end.
  std::optional<evaluate::v1::EvaluationError> Compile(
      const evaluate::v1::CompileCodeRequest& request,
      evaluate::v1::CompileCodeResponse* response) const;

 private:
  struct Running;
  // Turns the sandbox's answer into the response or the error, and accounts for the evaluation.
  std::optional<evaluate::v1::EvaluationError> Conclude(
      Running& running, absl::StatusOr<sandbox::SandboxResult> result) const;

  sandbox::Sandbox& sandbox_;
  connectors::ConnectorGateway& gateway_;
  const TimeSource& time_source_;
  observability::Metrics* const metrics_;
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_EVALUATOR_H_
