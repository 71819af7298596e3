#ifndef EVALUATECODE_SERVICE_EVALUATE_SERVICE_H_
#define EVALUATECODE_SERVICE_EVALUATE_SERVICE_H_

#include <functional>
#include <memory>
#include <optional>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/cancellation.h"
#include "common/time_source.h"
#include "connectors/connector_gateway.h"
#include "evaluate/v1/evaluate.grpc.pb.h"
#include "service/caller_authorizer.h"
#include "service/evaluator.h"
#include "service/evaluator_pool.h"
#include "service/id_generator.h"
#include "service/observability/decision_log.h"
#include "service/observability/metrics.h"
#include "service/request_validator.h"
#include "service/tenant_quotas.h"
#include "spdlog/logger.h"

namespace evaluatecode::service {

class CallReactor;

// What the service is built from. Every pointer is required and must outlive the service.
struct ServiceDependencies {
  const RequestValidator* validator = nullptr;
  const Evaluator* evaluator = nullptr;
  const connectors::ConnectorGateway* gateway = nullptr;
  EvaluatorPool* pool = nullptr;
  // Replays a Backtest runs at once when its client does not say.
  int backtest_parallelism = 2;
  const TimeSource* time_source = nullptr;
  IdGenerator* ids = nullptr;
  spdlog::logger* logger = nullptr;
  observability::Metrics* metrics = nullptr;
  observability::DecisionLog* decision_log = nullptr;
  TenantQuotas* quotas = nullptr;
  // Who may call, and the per-caller quotas of the authorization table.
  const CallerAuthorizer* authorizer = nullptr;
  TenantQuotas* caller_quotas = nullptr;
  // Called when the decision log refuses a record (the server turns NOT_SERVING); may be empty.
  std::function<void()> on_decision_log_failure;
};

// Every method of EvaluateService taking and answering bytes (gRPC's raw callback methods): the
// service parses requests itself, see service/raw_messages.h.
using RawEvaluateService = evaluate::v1::EvaluateService::WithRawCallbackMethod_EvaluateCode<
    evaluate::v1::EvaluateService::WithRawCallbackMethod_CompileCode<
        evaluate::v1::EvaluateService::WithRawCallbackMethod_ListConnectors<
            evaluate::v1::EvaluateService::WithRawCallbackMethod_Echo<
                evaluate::v1::EvaluateService::WithRawCallbackMethod_Backtest<
                    evaluate::v1::EvaluateService::Service>>>>>;

// The gRPC face of the service (callback API). Handlers validate on gRPC's thread, hand the work
// to the EvaluatorPool and return at once; an evaluation is answered by whichever thread ends it
// (a sandbox worker's driver, the connector I/O thread, or the pool's own thread). A request that
// does not parse is INVALID_ARGUMENT / INVALID_REQUEST. Thread-safe.
class EvaluateServiceImpl final : public RawEvaluateService {
 public:
  explicit EvaluateServiceImpl(const ServiceDependencies& dependencies);

  // RawEvaluateService
  grpc::ServerUnaryReactor* EvaluateCode(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request_bytes,
                                         grpc::ByteBuffer* reply) override;
  grpc::ServerUnaryReactor* CompileCode(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request_bytes,
                                        grpc::ByteBuffer* reply) override;
  grpc::ServerUnaryReactor* ListConnectors(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request_bytes,
                                           grpc::ByteBuffer* reply) override;
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request_bytes,
                                 grpc::ByteBuffer* reply) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Backtest(
      grpc::CallbackServerContext* context) override;

  // From now on new calls are answered UNAVAILABLE / SERVER_SHUTTING_DOWN.
  void BeginDrain() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until no call is in flight or `deadline` passes; true when drained.
  bool WaitUntilDrained(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // Stops every call still in flight: running and queued evaluations end SERVER_SHUTTING_DOWN.
  void AbortInFlight() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class CallReactor;
  void Register(CallReactor* reactor) ABSL_LOCKS_EXCLUDED(mu_);
  void Unregister(CallReactor* reactor) ABSL_LOCKS_EXCLUDED(mu_);
  bool draining() const ABSL_LOCKS_EXCLUDED(mu_);

  // Records the evaluation in the decision log, then answers (the error, if any, or the response).
  void FinishEvaluation(CallReactor* reactor, const CallContext& call,
                        const evaluate::v1::EvaluateCodeRequest* request,
                        const evaluate::v1::EvaluateCodeResponse* response,
                        std::optional<evaluate::v1::EvaluationError> error);
  // The caller of a call, or why it is refused (CALLER_UNAUTHENTICATED / CALLER_NOT_AUTHORIZED, or
  // SERVER_SHUTTING_DOWN while draining): checked before any work is done for it.
  std::variant<Caller, evaluate::v1::EvaluationError> Admit(
      const grpc::CallbackServerContext& context) const;
  // Admit, then the call's messages made on `reactor` and its request parsed (INVALID_REQUEST
  // when it does not parse).
  template <typename Request, typename Response>
  std::variant<Caller, evaluate::v1::EvaluationError> AdmitAndParse(
      const grpc::CallbackServerContext& context, CallReactor& reactor, Request*& request,
      Response*& response) const;

  // A unary call begun by BeginUnaryCall: `caller` is empty when the call was refused, and so
  // already answered.
  template <typename Request, typename Response>
  struct UnaryCall {
    CallReactor* reactor = nullptr;
    absl::Time received;
    Request* request = nullptr;
    Response* response = nullptr;
    std::optional<Caller> caller;
  };
  // Counts a call of `method`, makes its reactor (a `Reactor`) and messages, and admits and parses
  // it, answering the refusal if it is not.
  template <typename Reactor, typename Request, typename Response>
  UnaryCall<Request, Response> BeginUnaryCall(const char* method,
                                              const grpc::CallbackServerContext& context,
                                              const grpc::ByteBuffer& request_bytes,
                                              grpc::ByteBuffer* reply);
  // Admits one evaluation of `caller` against the caller's and the tenant's quotas, holding both
  // on `reactor` until it is answered; QUOTA_EXCEEDED when either is spent.
  std::optional<evaluate::v1::EvaluationError> AdmitQuotas(
      CallReactor* reactor, const Caller& caller,
      const evaluate::v1::EvaluateCodeRequest& request);
  // Finishes a call of `method` with `status`, counting it.
  void Answer(CallReactor* reactor, const char* method, absl::Time received, grpc::Status status);

  // Starts the evaluation on an evaluator thread; it holds `slot` until it is answered.
  void RunEvaluation(CallReactor* reactor, const evaluate::v1::EvaluateCodeRequest* request,
                     const ResolvedLimits& limits, const CallContext& call,
                     evaluate::v1::EvaluateCodeResponse* response, EvaluatorPool::Slot slot);

  const RequestValidator& validator_;
  const Evaluator& evaluator_;
  const connectors::ConnectorGateway& gateway_;
  EvaluatorPool& pool_;
  const TimeSource& time_source_;
  IdGenerator& ids_;
  spdlog::logger& logger_;
  observability::Metrics& metrics_;
  observability::DecisionLog& decision_log_;
  TenantQuotas& quotas_;
  const CallerAuthorizer& authorizer_;
  TenantQuotas& caller_quotas_;
  const std::function<void()> on_decision_log_failure_;
  const int backtest_parallelism_;

  mutable absl::Mutex mu_;
  absl::flat_hash_set<CallReactor*> in_flight_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_EVALUATE_SERVICE_H_
