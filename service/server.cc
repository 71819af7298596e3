#include "service/server.h"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "common/usable_cpus.h"
#include "connectors/builtin_connector_types.h"
#include "connectors/curl_http_client.h"
#include "connectors/http_connector_gateway.h"
#include "service/raw_messages.h"
#include "service/sandbox_factory.h"
#include "service/script_api.h"
#include "service/server_credentials.h"
#include "service/logging.h"
#include "service/worker_mode.h"

namespace evaluatecode::service {
namespace {

// `evaluator.threads` is the evaluations in flight. In-process scripts run on evaluator threads,
// so they need one each; with sandbox workers nothing blocks an evaluator thread (an evaluation
// usually starts on the gRPC thread that received it), and a few serve any number in flight.
int EvaluatorThreads(const ServerConfig& config) {
  if (config.isolation == "in_process") return config.evaluator_threads;
  return std::min(config.evaluator_threads, std::max(4, 2 * UsableCpuCount()));
}

constexpr char kServiceName[] = "evaluate.v1.EvaluateService";
// After the drain, how long stopped calls get to send their answer before the transport closes.
constexpr absl::Duration kCloseGrace = absl::Seconds(5);

// Worker lifecycle events into the metrics.
class MetricsWorkerObserver final : public sandbox::WorkerObserver {
 public:
  explicit MetricsWorkerObserver(observability::Metrics& metrics) : metrics_(metrics) {}
  // sandbox::WorkerObserver
  void OnWorkerStarted() override { metrics_.RecordWorkerStart(); }
  void OnWorkerKilled() override { metrics_.RecordWorkerKill(); }
  void OnWorkerCrashed() override { metrics_.RecordWorkerCrash(); }

 private:
  observability::Metrics& metrics_;
};

// Connector resilience events into the metrics. connectors/ knows nothing of service/, so its
// breaker states are translated here. Thread-safe, as Metrics is.
class MetricsConnectorObserver final : public connectors::ConnectorObserver {
 public:
  explicit MetricsConnectorObserver(observability::Metrics& metrics) : metrics_(metrics) {}
  // connectors::ConnectorObserver
  void OnBreakerStateChanged(absl::string_view connector,
                             connectors::CircuitBreaker::State state) override {
    metrics_.SetBreakerState(connector, ToBreakerState(state));
  }
  void OnRateLimited(absl::string_view connector) override {
    metrics_.RecordRateLimited(connector);
  }
  void OnRetry(absl::string_view connector) override { metrics_.RecordRetry(connector); }

 private:
  static observability::BreakerState ToBreakerState(connectors::CircuitBreaker::State state) {
    switch (state) {
      case connectors::CircuitBreaker::State::kClosed:
        return observability::BreakerState::kClosed;
      case connectors::CircuitBreaker::State::kOpen:
        return observability::BreakerState::kOpen;
      case connectors::CircuitBreaker::State::kHalfOpen:
        return observability::BreakerState::kHalfOpen;
    }
    return observability::BreakerState::kClosed;
  }

  observability::Metrics& metrics_;
};

// The values the connector labels may take: every configured connector and its operations.
observability::ConnectorLabelSet ConnectorLabelsOf(
    const std::vector<connectors::ConnectorConfig>& connectors) {
  observability::ConnectorLabelSet labels;
  for (const connectors::ConnectorConfig& connector : connectors) {
    std::set<std::string>& operations = labels[connector.name];
    for (const connectors::OperationSpec& operation : connector.operations) {
      operations.insert(operation.name);
    }
  }
  return labels;
}

// Drops the builder plugins registered process-wide (reflection): the health port offers health
// and nothing else, not the API's schema to whoever reaches it without a certificate.
class WithoutPlugins final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* /*arguments*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->clear();
  }
};

// The health port's answer to everything but health. It also gives the port's server the
// callback method gRPC requires of a server without the (plugin-added) reflection service.
class UnimplementedGenericService final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* /*context*/) override {
    class Refusal final : public grpc::ServerGenericBidiReactor {
     public:
      Refusal() {
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "the health port serves health only"));
      }
      void OnDone() override { delete this; }
    };
    return new Refusal;
  }
};

int ToMillis(absl::Duration duration) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(duration), INT32_MAX));
}

}  // namespace

Server::Server(const ServerConfig& config, std::shared_ptr<spdlog::logger> logger)
    : config_(config), logger_(std::move(logger)) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerConfig& config,
                                                      std::shared_ptr<spdlog::logger> logger) {
  absl::Status valid = ValidateConfig(config);
  if (!valid.ok()) return valid;
  std::unique_ptr<Server> server(new Server(config, std::move(logger)));

  // Metrics first: the connector gateway reports to them from its first call.
  absl::StatusOr<std::unique_ptr<observability::PrometheusMetrics>> metrics =
      observability::NewPrometheusMetrics(config.metrics, ConnectorLabelsOf(config.connectors));
  if (!metrics.ok()) return metrics.status();
  server->metrics_ = *std::move(metrics);
  server->worker_observer_ = std::make_unique<MetricsWorkerObserver>(*server->metrics_);
  server->connector_observer_ = std::make_unique<MetricsConnectorObserver>(*server->metrics_);
  absl::Status connectors_started = server->StartConnectors();
  if (!connectors_started.ok()) return connectors_started;
  absl::StatusOr<std::unique_ptr<observability::DecisionLog>> decision_log =
      observability::NewDecisionLog(config.decision_log, server->time_source_,
                                    server->metrics_.get());
  if (!decision_log.ok()) return decision_log.status();
  server->decision_log_ = *std::move(decision_log);
  absl::StatusOr<std::unique_ptr<sandbox::SharedBytecode>> typescript_bytecode =
      CompileRuntimeForWorkers(config);
  if (!typescript_bytecode.ok()) return typescript_bytecode.status();
  server->typescript_bytecode_ = *std::move(typescript_bytecode);
  absl::StatusOr<std::unique_ptr<sandbox::Sandbox>> sandbox =
      NewSandbox(config, ScriptApiOf(*server->gateway_), server->time_source_,
                 server->worker_observer_.get(), server->typescript_bytecode_.get());
  if (!sandbox.ok()) return sandbox.status();
  server->sandbox_ = *std::move(sandbox);
  absl::StatusOr<std::unique_ptr<EvaluatorPool>> pool =
      EvaluatorPool::Create({EvaluatorThreads(config), config.queue_capacity,
                             config.evaluator_stack_bytes, config.evaluator_threads,
                             /*start_on_submitting_thread=*/config.isolation != "in_process"});
  if (!pool.ok()) return pool.status();
  server->pool_ = *std::move(pool);
  server->ids_ = NewRandomIdGenerator();
  server->validator_ = std::make_unique<RequestValidator>(server->config_);
  server->evaluator_ = std::make_unique<Evaluator>(*server->sandbox_, *server->gateway_,
                                                   server->time_source_, server->metrics_.get());
  ServiceDependencies dependencies;
  dependencies.validator = server->validator_.get();
  dependencies.evaluator = server->evaluator_.get();
  dependencies.gateway = server->gateway_.get();
  dependencies.pool = server->pool_.get();
  dependencies.backtest_parallelism = config.evaluator_threads;
  dependencies.time_source = &server->time_source_;
  dependencies.ids = server->ids_.get();
  dependencies.logger = server->logger_.get();
  dependencies.metrics = server->metrics_.get();
  dependencies.decision_log = server->decision_log_.get();
  server->quotas_ = std::make_unique<TenantQuotas>(config.quotas, server->time_source_);
  dependencies.quotas = server->quotas_.get();
  server->authorizer_ = std::make_unique<CallerAuthorizer>(server->config_.auth);
  dependencies.authorizer = server->authorizer_.get();
  server->caller_quotas_ =
      std::make_unique<TenantQuotas>(CallerQuotaConfig(config.auth), server->time_source_);
  dependencies.caller_quotas = server->caller_quotas_.get();
  Server* self = server.get();
  dependencies.on_decision_log_failure = [self] {
    // Readiness goes: without a decision log this replica must not be sent decisions.
    // Readiness only: the process is healthy, restarting it would not bring the disk back.
    self->SetHealth(/*ready=*/false, /*alive=*/true);
  };
  server->service_ = std::make_unique<EvaluateServiceImpl>(dependencies);

  InstallParseDiagnostics();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      NewServerCredentials(config.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address, *credentials, &server->port_);
  builder.RegisterService(server->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config.max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ToMillis(config.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ToMillis(config.keepalive_timeout));
  if (config.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               ToMillis(config.max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               ToMillis(config.max_connection_age_grace));
  }
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    server->shut_down_ = true;
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen_address,
                     " (server.listen / --listen): address in use or not valid"));
  }
  absl::Status health_started = server->StartHealthServer();
  if (!health_started.ok()) return health_started;
  server->SetHealth(/*ready=*/true, /*alive=*/true);
  return server;
}

absl::Status Server::StartHealthServer() {
  if (config_.health_listen_address.empty()) return absl::OkStatus();
  // A server of its own, so that the plaintext port offers health and nothing else.
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<WithoutPlugins>());
  health_port_refusals_ = std::make_unique<UnimplementedGenericService>();
  builder.RegisterCallbackGenericService(health_port_refusals_.get());
  builder.AddListeningPort(config_.health_listen_address, grpc::InsecureServerCredentials(),
                           &health_port_);
  health_server_ = builder.BuildAndStart();
  if (health_server_ == nullptr || health_port_ == 0) {
    health_server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config_.health_listen_address,
                     " (server.health_listen): address in use or not valid"));
  }
  return absl::OkStatus();
}

void Server::SetHealth(bool ready, bool alive) {
  for (grpc::Server* server : {grpc_server_.get(), health_server_.get()}) {
    if (server == nullptr) continue;
    server->GetHealthCheckService()->SetServingStatus(kServiceName, ready);
    server->GetHealthCheckService()->SetServingStatus("", alive);
  }
}

absl::Status Server::StartConnectors() {
  absl::StatusOr<std::unique_ptr<connectors::HttpClient>> http_client =
      connectors::NewCurlHttpClient({&time_source_, config_.http_max_host_connections,
                                     config_.http_max_total_connections});
  if (!http_client.ok()) return http_client.status();
  http_client_ = *std::move(http_client);
  connector_types_ = connectors::NewBuiltinConnectorTypes();
  secrets_ = connectors::NewFileSecretStore();
  random_ = connectors::NewRandomSource();
  connectors::GatewayOptions options;
  options.connectors = config_.connectors;
  options.types = connector_types_.get();
  options.http_client = http_client_.get();
  options.secrets = secrets_.get();
  options.time_source = &time_source_;
  options.random = random_.get();
  options.observer = connector_observer_.get();
  absl::StatusOr<std::unique_ptr<connectors::ConnectorGateway>> gateway =
      connectors::NewConnectorGateway(std::move(options));
  if (!gateway.ok()) return gateway.status();
  gateway_ = *std::move(gateway);
  return absl::OkStatus();
}

Server::~Server() { Shutdown(); }

void Server::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // A Start that failed half-way has nothing listening to drain; members clean up on their own.
  if (grpc_server_ == nullptr || service_ == nullptr) return;
  const absl::Time grace_deadline = time_source_.Now() + config_.drain_grace;
  LogEvent(*logger_, spdlog::level::info,
           {{"type", "draining"}, {"grace_ms", absl::ToInt64Milliseconds(config_.drain_grace)}});

  // Refuse new work and turn NOT_SERVING while still answering health checks, so that load
  // balancers and probes see the drain; calls in flight may finish within the grace period.
  service_->BeginDrain();
  SetHealth(/*ready=*/false, /*alive=*/false);
  if (!service_->WaitUntilDrained(grace_deadline)) {
    LogEvent(*logger_, spdlog::level::warn, {{"type", "drain_grace_expired"}});
    // Each call still running or queued gets SERVER_SHUTTING_DOWN rather than a reset stream.
    service_->AbortInFlight();
  }
  grpc_server_->GetHealthCheckService()->Shutdown();
  grpc_server_->Shutdown(absl::ToChronoTime(time_source_.Now() + kCloseGrace));
  if (health_server_ != nullptr) health_server_->Shutdown();
  pool_.reset();
  http_client_.reset();  // answers any connector call still in flight
  LogEvent(*logger_, spdlog::level::info, {{"type", "stopped"}});
}

}  // namespace evaluatecode::service
