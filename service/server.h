#ifndef EVALUATECODE_SERVICE_SERVER_H_
#define EVALUATECODE_SERVICE_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/time_source.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server.h"
#include "connectors/connector_gateway.h"
#include "connectors/connector_observer.h"
#include "connectors/connector_type.h"
#include "connectors/http_client.h"
#include "connectors/random_source.h"
#include "connectors/secret_store.h"
#include "sandbox/shared_bytecode.h"
#include "sandbox/sandbox.h"
#include "sandbox/worker_sandbox.h"
#include "service/observability/decision_log.h"
#include "service/observability/prometheus_metrics.h"
#include "service/caller_authorizer.h"
#include "service/config.h"
#include "service/evaluate_service.h"
#include "service/evaluator.h"
#include "service/evaluator_pool.h"
#include "service/id_generator.h"
#include "service/request_validator.h"
#include "spdlog/logger.h"

namespace evaluatecode::service {

// A running EvaluateCode server: everything wired from one config, listening, with health and
// reflection. Used by main and, in-process on port 0, by the tests. Thread-compatible.
class Server {
 public:
  // Builds and starts the server. kInvalidArgument / kUnavailable when the config is unusable or the
  // address cannot be bound (the message names the key or the address).
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerConfig& config,
                                                       std::shared_ptr<spdlog::logger> logger);
  // Shuts down (see Shutdown) if that has not happened yet.
  ~Server();

  // The port the server listens on (the one chosen when the config said port 0).
  int port() const { return port_; }
  // The plaintext health-only port (0 when server.health_listen is not set).
  int health_port() const { return health_port_; }
  // The port /metrics is served on (0 when metrics are disabled).
  int metrics_port() const { return metrics_->listening_port(); }

  // Graceful stop: health turns NOT_SERVING (and stays answerable), new calls are refused with
  // UNAVAILABLE / SERVER_SHUTTING_DOWN, calls in flight may finish within `drain_grace`, then the
  // rest are stopped (SERVER_SHUTTING_DOWN) and the server closes. Blocks until every call has
  // been answered. Idempotent.
  void Shutdown();

 private:
  explicit Server(const ServerConfig& config, std::shared_ptr<spdlog::logger> logger);
  absl::Status StartConnectors();
  // Starts the health-only server of server.health_listen, if configured.
  absl::Status StartHealthServer();
  // Sets health on the main and the health port: `ready` for evaluate.v1.EvaluateService (the
  // readiness probe), `alive` for "" (liveness and startup).
  void SetHealth(bool ready, bool alive);

  const ServerConfig config_;
  std::shared_ptr<spdlog::logger> logger_;
  RealTimeSource time_source_;
  // Before everything that reports to them, so that they go last.
  std::unique_ptr<observability::PrometheusMetrics> metrics_;
  std::unique_ptr<connectors::ConnectorObserver> connector_observer_;
  // The connector layer; the HTTP client is declared last so that it goes first, answering the calls
  // still in flight before the gateway goes.
  std::unique_ptr<connectors::ConnectorTypeRegistry> connector_types_;
  std::unique_ptr<connectors::SecretStore> secrets_;
  std::unique_ptr<connectors::RandomSource> random_;
  std::unique_ptr<connectors::ConnectorGateway> gateway_;
  std::unique_ptr<connectors::HttpClient> http_client_;
  std::unique_ptr<sandbox::WorkerObserver> worker_observer_;
  // Inherited by workers as they start or are replaced: it outlives the sandbox.
  std::unique_ptr<sandbox::SharedBytecode> typescript_bytecode_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<EvaluatorPool> pool_;
  std::unique_ptr<IdGenerator> ids_;
  std::unique_ptr<RequestValidator> validator_;
  std::unique_ptr<Evaluator> evaluator_;
  // After the metrics (it reports to them) and before the service (whose calls wait on it).
  std::unique_ptr<observability::DecisionLog> decision_log_;
  std::unique_ptr<TenantQuotas> quotas_;
  std::unique_ptr<CallerAuthorizer> authorizer_;
  std::unique_ptr<TenantQuotas> caller_quotas_;
  std::unique_ptr<EvaluateServiceImpl> service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<grpc::CallbackGenericService> health_port_refusals_;
  std::unique_ptr<grpc::Server> health_server_;
  int port_ = 0;
  int health_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_SERVER_H_
