#include "service/evaluate_service.h"

#include <chrono>
#include <string>
#include <utility>
#include <variant>

#include "service/error_status.h"
#include "service/logging.h"

namespace evaluatecode::service {

using evaluate::v1::EvaluationError;

// One unary call. Lives from the handler until gRPC calls OnDone (after Finish), so the request,
// the response and the cancellation stay valid for the evaluator thread that calls Finish.
class CallReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit CallReactor(EvaluateServiceImpl& service) : service_(service) {
    service_.Register(this);
  }

  // grpc::ServerUnaryReactor
  void OnCancel() override { cancellation_.Cancel(CancellationCause::kCallerCancelled); }
  void OnDone() override {
    service_.Unregister(this);
    delete this;
  }

  Cancellation& cancellation() { return cancellation_; }

 private:
  EvaluateServiceImpl& service_;
  Cancellation cancellation_;
};

namespace {

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

EvaluationError ShuttingDownError() {
  return NewError(evaluate::v1::SERVER_SHUTTING_DOWN,
                  "the server is shutting down and takes no new calls; retry on another replica");
}

EvaluationError OverloadedError() {
  return NewError(evaluate::v1::SERVER_OVERLOADED,
                  "every evaluator is busy and the queue is full; retry with backoff");
}

// The error for work that was stopped before it started.
EvaluationError StoppedError(const Cancellation& cancellation) {
  if (cancellation.cause() == CancellationCause::kServerShutdown) return ShuttingDownError();
  return NewError(evaluate::v1::EVALUATION_CANCELLED, "the caller cancelled the evaluation");
}

}  // namespace

EvaluateServiceImpl::EvaluateServiceImpl(const RequestValidator& validator,
                                         const Evaluator& evaluator,
                                         const connectors::ConnectorGateway& gateway,
                                         EvaluatorPool& pool, const TimeSource& time_source,
                                         IdGenerator& ids, spdlog::logger& logger)
    : validator_(validator),
      evaluator_(evaluator),
      gateway_(gateway),
      pool_(pool),
      time_source_(time_source),
      ids_(ids),
      logger_(logger) {}

grpc::ServerUnaryReactor* EvaluateServiceImpl::EvaluateCode(
    grpc::CallbackServerContext* context, const evaluate::v1::EvaluateCodeRequest* request,
    evaluate::v1::EvaluateCodeResponse* response) {
  auto* reactor = new CallReactor(*this);
  CallContext call{ids_.NewId(), time_source_.Now(), DeadlineOf(*context),
                   &reactor->cancellation()};
  auto fail = [&](EvaluationError error) {
    error.set_decision_id(call.decision_id);
    reactor->Finish(ToGrpcStatus(error));
    return reactor;
  };
  if (draining()) return fail(ShuttingDownError());

  std::variant<ResolvedLimits, EvaluationError> validated = validator_.Validate(*request);
  if (auto* error = std::get_if<EvaluationError>(&validated)) return fail(std::move(*error));
  const ResolvedLimits limits = std::get<ResolvedLimits>(validated);

  const bool queued = pool_.TrySubmit([this, reactor, request, limits, call, response] {
    RunEvaluation(reactor, request, limits, call, response);
  });
  if (!queued) return fail(OverloadedError());
  return reactor;
}

void EvaluateServiceImpl::RunEvaluation(CallReactor* reactor,
                                        const evaluate::v1::EvaluateCodeRequest* request,
                                        const ResolvedLimits& limits, const CallContext& call,
                                        evaluate::v1::EvaluateCodeResponse* response) {
  std::optional<EvaluationError> error;
  if (reactor->cancellation().IsCancelled()) {
    error = StoppedError(reactor->cancellation());
    error->set_decision_id(call.decision_id);
  } else {
    error = evaluator_.Evaluate(*request, limits, call, response);
  }
  if (logger_.should_log(spdlog::level::debug)) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [key, value] : request->labels()) labels[key] = value;
    LogEvent(logger_, spdlog::level::debug,
             {{"type", "evaluation"},
              {"decision_id", call.decision_id},
              {"code_sha256", error ? error->code_sha256() : response->code_sha256()},
              {"outcome", error ? error->reason() : "OK"},
              {"labels", labels},
              {"wall_us", absl::ToInt64Microseconds(time_source_.Now() - call.received)}});
  }
  reactor->Finish(error ? ToGrpcStatus(*error) : grpc::Status::OK);
}

grpc::ServerUnaryReactor* EvaluateServiceImpl::CompileCode(
    grpc::CallbackServerContext* /*context*/, const evaluate::v1::CompileCodeRequest* request,
    evaluate::v1::CompileCodeResponse* response) {
  auto* reactor = new CallReactor(*this);
  if (draining()) {
    reactor->Finish(ToGrpcStatus(ShuttingDownError()));
    return reactor;
  }
  auto validated = validator_.ValidateCode(request->code());
  if (auto* error = std::get_if<EvaluationError>(&validated)) {
    reactor->Finish(ToGrpcStatus(*error));
    return reactor;
  }
  // Compiling is bounded but not free: it runs on an evaluator thread too.
  const bool queued = pool_.TrySubmit([this, reactor, request, response] {
    std::optional<EvaluationError> error =
        reactor->cancellation().IsCancelled() ? StoppedError(reactor->cancellation())
                                              : evaluator_.Compile(*request, response);
    reactor->Finish(error ? ToGrpcStatus(*error) : grpc::Status::OK);
  });
  if (!queued) reactor->Finish(ToGrpcStatus(OverloadedError()));
  return reactor;
}

grpc::ServerUnaryReactor* EvaluateServiceImpl::ListConnectors(
    grpc::CallbackServerContext* context, const evaluate::v1::ListConnectorsRequest* /*request*/,
    evaluate::v1::ListConnectorsResponse* response) {
  for (const connectors::ConnectorDescription& connector : gateway_.ListConnectors()) {
    evaluate::v1::Connector* out = response->add_connectors();
    out->set_name(connector.name);
    out->set_description(connector.description);
    for (const connectors::OperationDescription& operation : connector.operations) {
      evaluate::v1::ConnectorOperation* op = out->add_operations();
      op->set_name(operation.name);
      op->set_method(operation.method);
      op->set_description(operation.description);
      for (const connectors::ParameterDescription& parameter : operation.parameters) {
        evaluate::v1::ConnectorParameter* param = op->add_parameters();
        param->set_name(parameter.name);
        param->set_type(parameter.type);
        param->set_required(parameter.required);
        param->set_description(parameter.description);
      }
    }
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

void EvaluateServiceImpl::BeginDrain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool EvaluateServiceImpl::draining() const {
  absl::MutexLock lock(&mu_);
  return draining_;
}

bool EvaluateServiceImpl::WaitUntilDrained(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(
      absl::Condition(
          +[](absl::flat_hash_set<CallReactor*>* in_flight) { return in_flight->empty(); },
          &in_flight_),
      deadline);
}

void EvaluateServiceImpl::AbortInFlight() {
  absl::MutexLock lock(&mu_);
  for (CallReactor* reactor : in_flight_) {
    reactor->cancellation().Cancel(CancellationCause::kServerShutdown);
  }
}

void EvaluateServiceImpl::Register(CallReactor* reactor) {
  absl::MutexLock lock(&mu_);
  in_flight_.insert(reactor);
}

void EvaluateServiceImpl::Unregister(CallReactor* reactor) {
  absl::MutexLock lock(&mu_);
  in_flight_.erase(reactor);
}

}  // namespace evaluatecode::service
