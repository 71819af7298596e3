#include "service/evaluate_service.h"

#include <chrono>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/inline_arena.h"
#include "common/wire_struct.h"
#include "service/backtest_reactor.h"
#include "service/error_status.h"
#include "service/logging.h"
#include "service/observability/traceparent.h"
#include "service/raw_messages.h"
#include "service/serialized_answers.h"

namespace evaluatecode::service {

using evaluate::v1::EvaluationError;

// One unary call. Lives from the handler until gRPC calls OnDone (after Finish), so the request,
// the response and the cancellation stay valid for the evaluator thread that calls Finish. The
// call's messages live on its arena (see CallReactorWith); the request comes, and the response
// goes, as bytes (service/raw_messages.h).
class CallReactor : public grpc::ServerUnaryReactor {
 public:
  CallReactor(EvaluateServiceImpl& service, const grpc::ByteBuffer& request, grpc::ByteBuffer* reply)
      : service_(service), request_bytes_(request), reply_(reply) {
    service_.Register(this);
  }

  // grpc::ServerUnaryReactor
  void OnCancel() override { cancellation_.Cancel(CancellationCause::kCallerCancelled); }
  void OnDone() override {
    service_.Unregister(this);
    delete this;
  }
  // Not gRPC's API (its own trivial reactors use it), but the only way to spare every call a hop
  // to gRPC's executor thread for OnDone: a wake-up and a thread switch per call (perf,
  // sched_wakeup under W3: nexting_thread -> default-executor from ScheduleOnDone). Both
  // reactions are trivial — raise a flag; unregister and free the call — so they may run on
  // whichever gRPC thread completes the call.
  bool InternalInlineable() override { return true; }

  // Makes the call's request and response; the request parsed from the bytes received, or empty
  // with the error that says why it does not parse.
  template <typename Request, typename Response>
  absl::Status ParseMessages(Request*& request, Response*& response) {
    request = google::protobuf::Arena::CreateMessage<Request>(arena());
    response = google::protobuf::Arena::CreateMessage<Response>(arena());
    response_ = response;
    return ParseRequest(*request);
  }

  // EvaluateCode's input as received (a serialized Struct), when it could be cut out of the
  // request; null otherwise.
  const std::string* input_bytes() const { return input_bytes_ ? &*input_bytes_ : nullptr; }
  // That input read from its bytes, when the request was parsed without it (its `input` left
  // empty); null when the request's `input` holds it.
  const WireStruct* wire_input() const { return wire_input_ ? &*wire_input_ : nullptr; }

  // Finishes the call with `status`, and with the response when it is OK.
  void Reply(grpc::Status status) {
    if (status.ok()) answers_.MoveIntoRecords();
    Finish(status.ok() ? SerializeMessage(*response_, reply_) : std::move(status));
  }

  Cancellation& cancellation() { return cancellation_; }
  // The vendor answers of the response, serialized once (for the worker, then for the reply).
  SerializedAnswers& answers() { return answers_; }

  // Holds one unit of `quotas` for `key` until ReleaseQuotas (when the call is answered).
  void HoldQuota(TenantQuotas& quotas, std::string key) {
    held_quotas_.emplace_back(&quotas, std::move(key));
  }
  void ReleaseQuotas() {
    for (auto& [quotas, key] : held_quotas_) quotas->Release(key);
    held_quotas_.clear();
  }

 private:
  virtual google::protobuf::Arena* arena() = 0;

  absl::Status ParseRequest(google::protobuf::MessageLite& request) {
    return ParseMessage(request_bytes_.view(), request);
  }
  // A workflow input is most of an EvaluateCode request, and the service itself only writes it
  // into the decision record (a sandbox worker gets its bytes): it is read as a WireStruct, and the
  // request parsed without it, unless the input needs protobuf's parse (common/wire_struct.h).
  absl::Status ParseRequest(evaluate::v1::EvaluateCodeRequest& request) {
    absl::StatusOr<SplitMessage> split =
        SplitField(request_bytes_.view(), evaluate::v1::EvaluateCodeRequest::kInputFieldNumber);
    if (!split.ok()) return ParseMessage(request_bytes_.view(), request);
    input_bytes_ = std::move(split->field);
    wire_input_ = WireStruct::Read(*input_bytes_);
    if (wire_input_.has_value() && ParseMessage(split->rest, request).ok()) {
      return absl::OkStatus();
    }
    wire_input_.reset();
    return ParseMessage(request_bytes_.view(), request);
  }

  std::vector<std::pair<TenantQuotas*, std::string>> held_quotas_;
  EvaluateServiceImpl& service_;
  Cancellation cancellation_;
  const ReceivedBytes request_bytes_;
  std::optional<std::string> input_bytes_;
  std::optional<WireStruct> wire_input_;  // views into *input_bytes_
  grpc::ByteBuffer* const reply_;
  const google::protobuf::MessageLite* response_ = nullptr;
  SerializedAnswers answers_;
};

// A CallReactor whose arena starts in a block of `kFirstBlockBytes` inside it
// (common/inline_arena.h): up to that, parsing a request allocates nothing, and the call's end
// frees a few blocks at once. A script, its response and, when its input must be parsed, a
// protobuf map per object level need kilobytes; Echo's and ListConnectors' messages need a few
// bytes, and a 16 KiB block made each of their calls one of jemalloc's page-sized allocations:
// Echo served ≈ 25 % fewer calls.
template <size_t kFirstBlockBytes>
class CallReactorWith final : public CallReactor {
 public:
  using CallReactor::CallReactor;

 private:
  google::protobuf::Arena* arena() override { return arena_.get(); }

  InlineArena<kFirstBlockBytes> arena_;
};

// Where a call's messages start: a script and its input, or a few bytes.
using ScriptCallReactor = CallReactorWith<16 * 1024>;
using SmallCallReactor = CallReactorWith<512>;

namespace {

// The caller's W3C `traceparent`, when it sent a well-formed one.
std::string TraceparentOf(const grpc::CallbackServerContext& context) {
  const auto found = context.client_metadata().find("traceparent");
  if (found == context.client_metadata().end()) return "";
  const std::string value(found->second.data(), found->second.size());
  return observability::ParseTraceparent(value).has_value() ? value : "";
}

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

// A Backtest refused before it started: finishes at once with `status`.
class RefusedBacktestReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RefusedBacktestReactor(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// The error for work that was stopped before it started.
EvaluationError StoppedError(const Cancellation& cancellation) {
  if (cancellation.cause() == CancellationCause::kServerShutdown) return ShuttingDownError();
  return NewError(evaluate::v1::EVALUATION_CANCELLED, "the caller cancelled the evaluation");
}

}  // namespace

EvaluateServiceImpl::EvaluateServiceImpl(const ServiceDependencies& dependencies)
    : validator_(*dependencies.validator),
      evaluator_(*dependencies.evaluator),
      gateway_(*dependencies.gateway),
      pool_(*dependencies.pool),
      time_source_(*dependencies.time_source),
      ids_(*dependencies.ids),
      logger_(*dependencies.logger),
      metrics_(*dependencies.metrics),
      decision_log_(*dependencies.decision_log),
      quotas_(*dependencies.quotas),
      authorizer_(*dependencies.authorizer),
      caller_quotas_(*dependencies.caller_quotas),
      on_decision_log_failure_(dependencies.on_decision_log_failure),
      backtest_parallelism_(dependencies.backtest_parallelism) {}

void EvaluateServiceImpl::Answer(CallReactor* reactor, const char* method, absl::Time received,
                                 grpc::Status status) {
  metrics_.RecordRpc(method, static_cast<absl::StatusCode>(status.error_code()),
                     time_source_.Now() - received);
  reactor->Reply(std::move(status));
}

void EvaluateServiceImpl::FinishEvaluation(CallReactor* reactor, const CallContext& call,
                                           const evaluate::v1::EvaluateCodeRequest* request,
                                           const evaluate::v1::EvaluateCodeResponse* response,
                                           std::optional<EvaluationError> error) {
  if (error.has_value()) error->set_decision_id(call.decision_id);
  // Without a response the call never reached the sandbox.
  if (error.has_value() && response == nullptr) metrics_.RecordRefusal(error->reason());
  reactor->ReleaseQuotas();
  observability::DecisionRecord record;
  record.decision_id = call.decision_id;
  record.time = call.received;
  record.caller = call.caller;
  record.traceparent = call.traceparent;
  record.request = request;
  record.wire_input = call.wire_input;
  if (error.has_value()) {
    record.error = &*error;
  } else {
    record.response = response;
  }
  grpc::Status reply = error.has_value() ? ToGrpcStatus(*error) : grpc::Status::OK;
  // The reply goes out only once the record is kept (on disk, in durable mode): without a record,
  // no decision.
  decision_log_.Record(record, [this, reactor, received = call.received,
                                decision_id = call.decision_id,
                                reply = std::move(reply)](absl::Status recorded) mutable {
    if (!recorded.ok()) {
      EvaluationError unrecorded = NewError(
          evaluate::v1::DECISION_LOG_UNAVAILABLE,
          absl::StrCat("the decision could not be recorded (", recorded.message(),
                       "), so none is returned; retry on another replica"));
      unrecorded.set_decision_id(decision_id);
      reply = ToGrpcStatus(unrecorded);
      if (on_decision_log_failure_) on_decision_log_failure_();
    }
    Answer(reactor, "EvaluateCode", received, std::move(reply));
  });
}

std::variant<Caller, EvaluationError> EvaluateServiceImpl::Admit(
    const grpc::CallbackServerContext& context) const {
  if (draining()) return ShuttingDownError();
  return authorizer_.Authorize(context);
}

std::optional<EvaluationError> EvaluateServiceImpl::AdmitQuotas(
    CallReactor* reactor, const Caller& caller, const evaluate::v1::EvaluateCodeRequest& request) {
  if (std::optional<std::string> refusal = caller_quotas_.TryAdmit(caller.identity)) {
    return NewError(evaluate::v1::QUOTA_EXCEEDED, absl::StrCat("caller: ", *refusal));
  }
  reactor->HoldQuota(caller_quotas_, caller.identity);
  const auto tenant_label = request.labels().find("tenant");
  const std::string tenant = tenant_label != request.labels().end() ? tenant_label->second : "";
  if (std::optional<std::string> refusal = quotas_.TryAdmit(tenant)) {
    return NewError(evaluate::v1::QUOTA_EXCEEDED, *std::move(refusal));
  }
  reactor->HoldQuota(quotas_, tenant);
  return std::nullopt;
}

template <typename Request, typename Response>
std::variant<Caller, EvaluationError> EvaluateServiceImpl::AdmitAndParse(
    const grpc::CallbackServerContext& context, CallReactor& reactor, Request*& request,
    Response*& response) const {
  const absl::Status parsed = reactor.ParseMessages(request, response);
  std::variant<Caller, EvaluationError> admitted = Admit(context);
  if (std::holds_alternative<Caller>(admitted) && !parsed.ok()) {
    return NewError(evaluate::v1::INVALID_REQUEST, std::string(parsed.message()));
  }
  return admitted;
}

template <typename Reactor, typename Request, typename Response>
EvaluateServiceImpl::UnaryCall<Request, Response> EvaluateServiceImpl::BeginUnaryCall(
    const char* method, const grpc::CallbackServerContext& context,
    const grpc::ByteBuffer& request_bytes, grpc::ByteBuffer* reply) {
  metrics_.RecordRpcReceived(method);
  UnaryCall<Request, Response> call;
  call.reactor = new Reactor(*this, request_bytes, reply);
  call.received = time_source_.Now();
  std::variant<Caller, EvaluationError> admitted =
      AdmitAndParse(context, *call.reactor, call.request, call.response);
  if (auto* error = std::get_if<EvaluationError>(&admitted)) {
    Answer(call.reactor, method, call.received, ToGrpcStatus(*error));
  } else {
    call.caller = std::get<Caller>(std::move(admitted));
  }
  return call;
}

grpc::ServerUnaryReactor* EvaluateServiceImpl::EvaluateCode(grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer* request_bytes,
                                                            grpc::ByteBuffer* reply) {
  metrics_.RecordRpcReceived("EvaluateCode");
  auto* reactor = new ScriptCallReactor(*this, *request_bytes, reply);
  evaluate::v1::EvaluateCodeRequest* request = nullptr;
  evaluate::v1::EvaluateCodeResponse* response = nullptr;
  CallContext call{ids_.NewId(), time_source_.Now(), DeadlineOf(*context),
                   &reactor->cancellation()};
  call.traceparent = TraceparentOf(*context);
  call.random_seed = ids_.NewSeed();
  call.answers = &reactor->answers();
  auto fail = [&](EvaluationError error) {
    FinishEvaluation(reactor, call, request, nullptr, std::move(error));
    return reactor;
  };
  std::variant<Caller, EvaluationError> admitted =
      AdmitAndParse(*context, *reactor, request, response);
  call.serialized_input = reactor->input_bytes();
  call.wire_input = reactor->wire_input();
  if (auto* error = std::get_if<EvaluationError>(&admitted)) return fail(std::move(*error));
  const Caller& caller = std::get<Caller>(admitted);
  call.caller = caller.identity;

  std::variant<ResolvedLimits, EvaluationError> validated = validator_.Validate(*request);
  if (auto* error = std::get_if<EvaluationError>(&validated)) return fail(std::move(*error));
  const ResolvedLimits limits = std::get<ResolvedLimits>(validated);
  if (std::optional<EvaluationError> refused =
          authorizer_.CheckConnectors(caller, request->connectors())) {
    return fail(*std::move(refused));
  }
  if (std::optional<EvaluationError> refused = AdmitQuotas(reactor, caller, *request)) {
    return fail(*std::move(refused));
  }

  const bool queued = pool_.TryStartAsync(
      [this, reactor, request, limits, call, response](EvaluatorPool::Slot slot) {
        RunEvaluation(reactor, request, limits, call, response, std::move(slot));
      },
      EvaluationDeadline(call, limits),
      [this, reactor, request, call] {
        FinishEvaluation(
            reactor, call, request, nullptr,
            NewError(evaluate::v1::SERVER_OVERLOADED,
                     absl::StrCat("the evaluation waited ",
                                  absl::ToInt64Milliseconds(time_source_.Now() - call.received),
                                  " ms for an evaluator, past its deadline, and did not run; "
                                  "retry with backoff")));
      });
  metrics_.SetQueueDepth(pool_.queue_depth());
  if (!queued) return fail(OverloadedError());
  return reactor;
}

void EvaluateServiceImpl::RunEvaluation(CallReactor* reactor,
                                        const evaluate::v1::EvaluateCodeRequest* request,
                                        const ResolvedLimits& limits, const CallContext& call,
                                        evaluate::v1::EvaluateCodeResponse* response,
                                        EvaluatorPool::Slot slot) {
  metrics_.SetQueueDepth(pool_.queue_depth());
  if (reactor->cancellation().IsCancelled()) {
    FinishEvaluation(reactor, call, request, response, StoppedError(reactor->cancellation()));
    return;
  }
  evaluator_.EvaluateAsync(
      *request, limits, call, response,
      [this, reactor, request, call, response,
       slot = std::move(slot)](std::optional<EvaluationError> error) mutable {
        if (logger_.should_log(spdlog::level::debug)) {
          nlohmann::json labels = nlohmann::json::object();
          for (const auto& [key, value] : request->labels()) labels[key] = value;
          LogEvent(logger_, spdlog::level::debug,
                   {{"type", "evaluation"},
                    {"decision_id", call.decision_id},
                    {"code_sha256", error ? error->code_sha256() : response->code_sha256()},
                    {"outcome", error ? error->reason() : "OK"},
                    {"labels", labels},
                    {"traceparent", call.traceparent},
                    {"wall_us", absl::ToInt64Microseconds(time_source_.Now() - call.received)}});
        }
        FinishEvaluation(reactor, call, request, response, std::move(error));
      });
}

grpc::ServerUnaryReactor* EvaluateServiceImpl::CompileCode(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request_bytes,
                                                           grpc::ByteBuffer* reply) {
  const auto call =
      BeginUnaryCall<ScriptCallReactor, evaluate::v1::CompileCodeRequest,
                     evaluate::v1::CompileCodeResponse>(
          "CompileCode", *context, *request_bytes, reply);
  if (!call.caller.has_value()) return call.reactor;
  auto validated = validator_.ValidateCode(call.request->code());
  if (auto* error = std::get_if<EvaluationError>(&validated)) {
    Answer(call.reactor, "CompileCode", call.received, ToGrpcStatus(*error));
    return call.reactor;
  }
  // Compiling is bounded but not free: it counts as an evaluation in flight.
  const bool queued = pool_.TryStartAsync([this, reactor = call.reactor, request = call.request,
                                           response = call.response,
                                           received = call.received](EvaluatorPool::Slot slot) {
    auto answer = [this, reactor, received,
                   slot = std::move(slot)](std::optional<EvaluationError> error) {
      Answer(reactor, "CompileCode", received, error ? ToGrpcStatus(*error) : grpc::Status::OK);
    };
    if (reactor->cancellation().IsCancelled()) return answer(StoppedError(reactor->cancellation()));
    evaluator_.CompileAsync(*request, response, std::move(answer));
  });
  if (!queued) {
    Answer(call.reactor, "CompileCode", call.received, ToGrpcStatus(OverloadedError()));
  }
  return call.reactor;
}

grpc::ServerUnaryReactor* EvaluateServiceImpl::ListConnectors(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* reply) {
  const auto call =
      BeginUnaryCall<SmallCallReactor, evaluate::v1::ListConnectorsRequest,
                     evaluate::v1::ListConnectorsResponse>(
          "ListConnectors", *context, *request_bytes, reply);
  if (!call.caller.has_value()) return call.reactor;
  // A caller sees the connectors it may use.
  for (const connectors::ConnectorDescription& connector : gateway_.ListConnectors()) {
    if (!call.caller->MayUse(connector.name)) continue;
    evaluate::v1::Connector* out = call.response->add_connectors();
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
  Answer(call.reactor, "ListConnectors", call.received, grpc::Status::OK);
  return call.reactor;
}

grpc::ServerUnaryReactor* EvaluateServiceImpl::Echo(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request_bytes,
                                                    grpc::ByteBuffer* reply) {
  const auto call =
      BeginUnaryCall<SmallCallReactor, evaluate::v1::EchoRequest, evaluate::v1::EchoResponse>(
          "Echo", *context, *request_bytes, reply);
  if (!call.caller.has_value()) return call.reactor;
  // The floor of EvaluateCode: the same dispatch (started here when a slot is free), no script.
  const bool queued = pool_.TryStartAsync([this, reactor = call.reactor, request = call.request,
                                           response = call.response,
                                           received = call.received](EvaluatorPool::Slot) {
    response->set_payload(request->payload());
    Answer(reactor, "Echo", received, grpc::Status::OK);
  });
  if (!queued) Answer(call.reactor, "Echo", call.received, ToGrpcStatus(OverloadedError()));
  return call.reactor;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* EvaluateServiceImpl::Backtest(
    grpc::CallbackServerContext* context) {
  metrics_.RecordRpcReceived("Backtest");
  std::variant<Caller, EvaluationError> admitted = Admit(*context);
  if (auto* error = std::get_if<EvaluationError>(&admitted)) {
    return new RefusedBacktestReactor(ToGrpcStatus(*error));
  }
  BacktestDependencies dependencies;
  dependencies.validator = &validator_;
  dependencies.evaluator = &evaluator_;
  dependencies.pool = &pool_;
  dependencies.time_source = &time_source_;
  dependencies.default_parallelism = backtest_parallelism_;
  return NewBacktestReactor(dependencies);
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
  metrics_.SetInFlight(static_cast<int>(in_flight_.size()));
}

void EvaluateServiceImpl::Unregister(CallReactor* reactor) {
  absl::MutexLock lock(&mu_);
  in_flight_.erase(reactor);
  metrics_.SetInFlight(static_cast<int>(in_flight_.size()));
}

}  // namespace evaluatecode::service
