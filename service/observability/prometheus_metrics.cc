#include "service/observability/prometheus_metrics.h"

#include <array>
#include <exception>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "evaluate/v1/evaluate.pb.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace evaluatecode::service::observability {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// 50 µs … 30 s: a warm-heap evaluation takes tens of µs, a vendor call hundreds of ms, the longest
// allowed script 30 s.
const Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const kBuckets = new Histogram::BucketBoundaries{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
  return *kBuckets;
}

// 64 KiB … 1 GiB by factors of 4 (limits.max.memory_bytes defaults to 256 MiB).
const Histogram::BucketBoundaries& HeapBuckets() {
  static const auto* const kBuckets = new Histogram::BucketBoundaries{
      65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824};
  return *kBuckets;
}

constexpr std::array<const char*, 3> kMethods = {"EvaluateCode", "CompileCode", "ListConnectors"};
constexpr int kOtherMethod = kMethods.size();
constexpr int kStatusCodes = 17;  // OK … UNAUTHENTICATED, the canonical codes gRPC shares.

// Reasons that may be added to evaluate.v1.ErrorReason after this file was written; the enum's own
// values are read from its descriptor so new ones are known without editing this list.
constexpr const char* kExtraReasons[] = {"DECISION_LOG_UNAVAILABLE", "QUOTA_EXCEEDED",
                                         "UNAUTHENTICATED", "PERMISSION_DENIED"};

// ConnectorErrorReasonName values (connectors/connector_gateway.h), without depending on connectors/.
constexpr const char* kConnectorOutcomes[] = {
    "OK",           "CONNECTOR_NOT_ALLOWED", "INVALID_PARAMS", "EGRESS_DENIED",
    "CONNECTOR_TIMEOUT", "CONNECTOR_UNAVAILABLE", "VENDOR_ERROR", "RESPONSE_TOO_LARGE"};

constexpr const char* kOther = "other";
constexpr const char* kOtherReason = "OTHER";

// One series of `family` per ErrorInfo reason (the enum's own values and kExtraReasons), labelled
// `label`, into `series`; returns the series for any other value.
Counter* AddReasonSeries(prometheus::Family<Counter>& family, const std::string& label,
                         absl::flat_hash_map<std::string, Counter*>* series) {
  const google::protobuf::EnumDescriptor* reasons = evaluate::v1::ErrorReason_descriptor();
  for (int i = 0; i < reasons->value_count(); ++i) {
    if (reasons->value(i)->number() == 0) continue;
    const std::string& name = reasons->value(i)->name();
    (*series)[name] = &family.Add({{label, name}});
  }
  for (const char* name : kExtraReasons) {
    if (!series->contains(name)) (*series)[name] = &family.Add({{label, name}});
  }
  return &family.Add({{label, kOtherReason}});
}

const char* BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

// Thread-safe: prometheus-cpp metrics are atomic and Family::Add locks; the maps below are
// written only by the constructor.
class PrometheusMetricsImpl final : public PrometheusMetrics {
 public:
  explicit PrometheusMetricsImpl(ConnectorLabelSet connectors)
      : registry_(std::make_shared<prometheus::Registry>()), connectors_(std::move(connectors)) {
    auto& received = prometheus::BuildCounter()
                         .Name("evaluatecode_rpcs_received_total")
                         .Help("RPCs received, by method.")
                         .Register(*registry_);
    auto& handled = prometheus::BuildCounter()
                        .Name("evaluatecode_rpcs_handled_total")
                        .Help("RPCs answered, by method and gRPC status code.")
                        .Register(*registry_);
    auto& rpc_seconds = prometheus::BuildHistogram()
                            .Name("evaluatecode_rpc_duration_seconds")
                            .Help("Time from an RPC's arrival to its answer, by method.")
                            .Register(*registry_);
    for (int m = 0; m <= kOtherMethod; ++m) {
      const std::string method = m < kOtherMethod ? kMethods[m] : kOther;
      rpcs_received_[m] = &received.Add({{"method", method}});
      rpc_seconds_[m] = &rpc_seconds.Add({{"method", method}}, LatencyBuckets());
      for (int code = 0; code < kStatusCodes; ++code) {
        rpcs_handled_[m][code] = &handled.Add(
            {{"method", method},
             {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))}});
      }
    }

    auto& evaluations = prometheus::BuildCounter()
                            .Name("evaluatecode_evaluations_total")
                            .Help("Evaluations that reached the sandbox, by outcome (OK or the "
                                  "ErrorInfo reason).")
                            .Register(*registry_);
    evaluations_["OK"] = &evaluations.Add({{"outcome", "OK"}});
    other_evaluation_ = AddReasonSeries(evaluations, "outcome", &evaluations_);
    auto& refusals = prometheus::BuildCounter()
                         .Name("evaluatecode_refusals_total")
                         .Help("EvaluateCode calls answered before they reached the sandbox, by "
                               "ErrorInfo reason (overload, quotas, drain, callers, requests).")
                         .Register(*registry_);
    other_refusal_ = AddReasonSeries(refusals, "reason", &refusals_);

    evaluation_seconds_ = &prometheus::BuildHistogram()
                               .Name("evaluatecode_evaluation_duration_seconds")
                               .Help("Wall time of an evaluation, from arrival to result.")
                               .Register(*registry_)
                               .Add({}, LatencyBuckets());
    engine_seconds_ = &prometheus::BuildHistogram()
                           .Name("evaluatecode_engine_duration_seconds")
                           .Help("Time an evaluation spent inside the script engine.")
                           .Register(*registry_)
                           .Add({}, LatencyBuckets());
    peak_heap_bytes_ = &prometheus::BuildHistogram()
                            .Name("evaluatecode_evaluation_peak_heap_bytes")
                            .Help("Highest number of bytes an evaluation's script heap held.")
                            .Register(*registry_)
                            .Add({}, HeapBuckets());
    auto& cache = prometheus::BuildCounter()
                      .Name("evaluatecode_compile_cache_lookups_total")
                      .Help("Compile-cache lookups, by result (hit or miss).")
                      .Register(*registry_);
    compile_cache_hits_ = &cache.Add({{"result", "hit"}});
    compile_cache_misses_ = &cache.Add({{"result", "miss"}});

    worker_starts_ = &prometheus::BuildCounter()
                          .Name("evaluatecode_sandbox_worker_starts_total")
                          .Help("Sandbox worker processes started (first starts and replacements).")
                          .Register(*registry_)
                          .Add({});
    worker_kills_ = &prometheus::BuildCounter()
                         .Name("evaluatecode_sandbox_worker_kills_total")
                         .Help("Sandbox workers killed by the supervisor after an overrun.")
                         .Register(*registry_)
                         .Add({});
    worker_crashes_ = &prometheus::BuildCounter()
                           .Name("evaluatecode_sandbox_worker_crashes_total")
                           .Help("Sandbox workers that died on their own.")
                           .Register(*registry_)
                           .Add({});
    queue_depth_ = &prometheus::BuildGauge()
                        .Name("evaluatecode_evaluator_queue_depth")
                        .Help("Evaluations waiting for an evaluator thread.")
                        .Register(*registry_)
                        .Add({});
    in_flight_ = &prometheus::BuildGauge()
                      .Name("evaluatecode_evaluations_in_flight")
                      .Help("Calls received and not yet answered, queued or running.")
                      .Register(*registry_)
                      .Add({});

    connector_calls_ = &prometheus::BuildCounter()
                            .Name("evaluatecode_connector_calls_total")
                            .Help("Script calls through connectors, by connector, operation and "
                                  "outcome (OK or the connector error reason).")
                            .Register(*registry_);
    connector_seconds_ = &prometheus::BuildHistogram()
                              .Name("evaluatecode_connector_call_duration_seconds")
                              .Help("Time from a script's connector call to its answer.")
                              .Register(*registry_);
    connector_attempts_ = &prometheus::BuildCounter()
                               .Name("evaluatecode_connector_http_attempts_total")
                               .Help("HTTP requests sent to vendors, retries included.")
                               .Register(*registry_);
    connector_cache_hits_ = &prometheus::BuildCounter()
                                 .Name("evaluatecode_connector_cache_hits_total")
                                 .Help("Connector calls answered from the response cache or by an "
                                       "identical call in flight.")
                                 .Register(*registry_);
    breaker_state_ = &prometheus::BuildGauge()
                          .Name("evaluatecode_connector_breaker_state")
                          .Help("1 for the state each connector's circuit breaker is in, else 0.")
                          .Register(*registry_);
    rate_limited_ = &prometheus::BuildCounter()
                         .Name("evaluatecode_connector_rate_limited_total")
                         .Help("Connector calls refused by the connector's rate limit.")
                         .Register(*registry_);
    retries_ = &prometheus::BuildCounter()
                    .Name("evaluatecode_connector_retries_total")
                    .Help("Connector HTTP attempts that were retries.")
                    .Register(*registry_);
    for (const auto& [connector, operations] : connectors_) {
      for (const std::string& operation : operations) {
        connector_seconds_->Add({{"connector", connector}, {"operation", operation}},
                                LatencyBuckets());
        connector_calls_->Add(
            {{"connector", connector}, {"operation", operation}, {"outcome", "OK"}});
      }
      connector_attempts_->Add({{"connector", connector}});
      rate_limited_->Add({{"connector", connector}});
      retries_->Add({{"connector", connector}});
      SetBreakerState(connector, BreakerState::kClosed);
    }

    auto& log_writes = prometheus::BuildCounter()
                           .Name("evaluatecode_decision_log_writes_total")
                           .Help("Decision records appended (ok) or refused (error).")
                           .Register(*registry_);
    decision_log_ok_ = &log_writes.Add({{"result", "ok"}});
    decision_log_errors_ = &log_writes.Add({{"result", "error"}});
    decision_log_seconds_ = &prometheus::BuildHistogram()
                                 .Name("evaluatecode_decision_log_write_duration_seconds")
                                 .Help("Time from handing a decision record to the log until it was "
                                       "written (durable mode: on disk).")
                                 .Register(*registry_)
                                 .Add({}, LatencyBuckets());
  }

  // Starts serving; called once, before the object is shared.
  absl::Status Serve(const std::string& address) {
    // prometheus-cpp (civetweb) reports a failed bind by exception: the one place we catch it.
    try {
      exposer_ = std::make_unique<prometheus::Exposer>(address);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("metrics: cannot listen on ", address, ": ", e.what()));
    }
    exposer_->RegisterCollectable(registry_);
    const std::vector<int> ports = exposer_->GetListeningPorts();
    port_ = ports.empty() ? 0 : ports.front();
    return absl::OkStatus();
  }

  // PrometheusMetrics
  int listening_port() const override { return port_; }
  std::string TextExposition() const override {
    return prometheus::TextSerializer().Serialize(registry_->Collect());
  }

  // Metrics
  void RecordRpcReceived(absl::string_view method) override {
    rpcs_received_[MethodIndex(method)]->Increment();
  }
  void RecordRpc(absl::string_view method, absl::StatusCode code,
                 absl::Duration latency) override {
    const int m = MethodIndex(method);
    int c = static_cast<int>(code);
    if (c < 0 || c >= kStatusCodes) c = static_cast<int>(absl::StatusCode::kUnknown);
    rpcs_handled_[m][c]->Increment();
    rpc_seconds_[m]->Observe(absl::ToDoubleSeconds(latency));
  }
  void RecordEvaluation(absl::string_view outcome, absl::Duration wall_time,
                        absl::Duration engine_time, uint64_t peak_heap_bytes,
                        bool compile_cache_hit) override {
    auto it = evaluations_.find(outcome);
    (it == evaluations_.end() ? other_evaluation_ : it->second)->Increment();
    evaluation_seconds_->Observe(absl::ToDoubleSeconds(wall_time));
    engine_seconds_->Observe(absl::ToDoubleSeconds(engine_time));
    peak_heap_bytes_->Observe(static_cast<double>(peak_heap_bytes));
    RecordCompileCache(compile_cache_hit);
  }
  void RecordRefusal(absl::string_view reason) override {
    auto it = refusals_.find(reason);
    (it == refusals_.end() ? other_refusal_ : it->second)->Increment();
  }
  void RecordCompileCache(bool hit) override {
    (hit ? compile_cache_hits_ : compile_cache_misses_)->Increment();
  }
  void RecordWorkerStart() override { worker_starts_->Increment(); }
  void RecordWorkerKill() override { worker_kills_->Increment(); }
  void RecordWorkerCrash() override { worker_crashes_->Increment(); }
  void SetQueueDepth(int depth) override { queue_depth_->Set(depth); }
  void SetInFlight(int in_flight) override { in_flight_->Set(in_flight); }

  void RecordConnectorCall(absl::string_view connector, absl::string_view operation,
                           absl::string_view outcome, absl::Duration latency, int attempts,
                           bool from_cache) override {
    const std::string connector_label = ConnectorLabel(connector);
    const std::string operation_label = OperationLabel(connector, operation);
    std::string outcome_label = kOtherReason;
    for (const char* known : kConnectorOutcomes) {
      if (outcome == known) outcome_label = known;
    }
    connector_calls_
        ->Add({{"connector", connector_label},
               {"operation", operation_label},
               {"outcome", outcome_label}})
        .Increment();
    connector_seconds_
        ->Add({{"connector", connector_label}, {"operation", operation_label}}, LatencyBuckets())
        .Observe(absl::ToDoubleSeconds(latency));
    if (attempts > 0) connector_attempts_->Add({{"connector", connector_label}}).Increment(attempts);
    if (from_cache) {
      connector_cache_hits_->Add({{"connector", connector_label}, {"operation", operation_label}})
          .Increment();
    }
  }

  void SetBreakerState(absl::string_view connector, BreakerState state) override {
    const std::string label = ConnectorLabel(connector);
    // Serialized so that concurrent transitions leave exactly one state at 1.
    absl::MutexLock lock(&breaker_mu_);
    for (BreakerState each : {BreakerState::kClosed, BreakerState::kOpen, BreakerState::kHalfOpen}) {
      breaker_state_->Add({{"connector", label}, {"state", BreakerStateName(each)}})
          .Set(each == state ? 1 : 0);
    }
  }
  void RecordRateLimited(absl::string_view connector) override {
    rate_limited_->Add({{"connector", ConnectorLabel(connector)}}).Increment();
  }
  void RecordRetry(absl::string_view connector) override {
    retries_->Add({{"connector", ConnectorLabel(connector)}}).Increment();
  }

  void RecordDecisionLogWrite(absl::Duration latency, bool ok) override {
    (ok ? decision_log_ok_ : decision_log_errors_)->Increment();
    decision_log_seconds_->Observe(absl::ToDoubleSeconds(latency));
  }

 private:
  static int MethodIndex(absl::string_view method) {
    for (int m = 0; m < kOtherMethod; ++m) {
      if (method == kMethods[m]) return m;
    }
    return kOtherMethod;
  }
  std::string ConnectorLabel(absl::string_view connector) const {
    return connectors_.count(std::string(connector)) ? std::string(connector) : kOther;
  }
  std::string OperationLabel(absl::string_view connector, absl::string_view operation) const {
    auto it = connectors_.find(std::string(connector));
    if (it == connectors_.end() || !it->second.count(std::string(operation))) return kOther;
    return std::string(operation);
  }

  const std::shared_ptr<prometheus::Registry> registry_;
  const ConnectorLabelSet connectors_;

  // Series with label values known up front are resolved once (prometheus-cpp's metric objects
  // are atomic); Family::Add, which locks and looks up, is only used for connector series.
  std::array<Counter*, kOtherMethod + 1> rpcs_received_{};
  std::array<std::array<Counter*, kStatusCodes>, kOtherMethod + 1> rpcs_handled_{};
  std::array<Histogram*, kOtherMethod + 1> rpc_seconds_{};
  // Written only by the constructor, so lock-free reads are safe.
  absl::flat_hash_map<std::string, Counter*> evaluations_;
  Counter* other_evaluation_ = nullptr;
  absl::flat_hash_map<std::string, Counter*> refusals_;
  Counter* other_refusal_ = nullptr;
  Histogram* evaluation_seconds_ = nullptr;
  Histogram* engine_seconds_ = nullptr;
  Histogram* peak_heap_bytes_ = nullptr;
  Counter* compile_cache_hits_ = nullptr;
  Counter* compile_cache_misses_ = nullptr;
  Counter* worker_starts_ = nullptr;
  Counter* worker_kills_ = nullptr;
  Counter* worker_crashes_ = nullptr;
  Gauge* queue_depth_ = nullptr;
  Gauge* in_flight_ = nullptr;
  Family<Counter>* connector_calls_ = nullptr;
  Family<Histogram>* connector_seconds_ = nullptr;
  Family<Counter>* connector_attempts_ = nullptr;
  Family<Counter>* connector_cache_hits_ = nullptr;
  Family<Gauge>* breaker_state_ = nullptr;
  Family<Counter>* rate_limited_ = nullptr;
  Family<Counter>* retries_ = nullptr;
  absl::Mutex breaker_mu_;
  Counter* decision_log_ok_ = nullptr;
  Counter* decision_log_errors_ = nullptr;
  Histogram* decision_log_seconds_ = nullptr;

  // Declared last so that it stops serving before the registry's metrics go away.
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PrometheusMetrics>> NewPrometheusMetrics(
    const MetricsOptions& options, const ConnectorLabelSet& connectors) {
  auto metrics = std::make_unique<PrometheusMetricsImpl>(connectors);
  if (options.enabled) {
    if (options.listen_address.empty()) {
      return absl::InvalidArgumentError("config: metrics.listen: must be HOST:PORT");
    }
    absl::Status status = metrics->Serve(options.listen_address);
    if (!status.ok()) return status;
  }
  return metrics;
}

}  // namespace evaluatecode::service::observability
