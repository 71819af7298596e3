#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_PROMETHEUS_METRICS_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_PROMETHEUS_METRICS_H_

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "service/observability/metrics.h"

namespace evaluatecode::service::observability {

// Metrics kept in a prometheus-cpp registry and, when enabled, served over HTTP at /metrics.
// Thread-safe.
class PrometheusMetrics : public Metrics {
 public:
  // The port /metrics is served on (the bound one when the options asked for port 0); 0 when
  // metrics are not served.
  virtual int listening_port() const = 0;

  // Every metric in the Prometheus text exposition format, exactly what /metrics serves.
  virtual std::string TextExposition() const = 0;
};

// Connector name → its operation names: the only values the connector labels may take (both come
// from the server's config, never from a script, so they are bounded). Anything else is "other".
using ConnectorLabelSet = std::map<std::string, std::set<std::string>>;

// Creates the registry and every series whose label values are known up front (so that rates and
// alerts see zeros, not missing series), and starts the HTTP endpoint if `options.enabled`.
// @return kUnavailable naming the address when it cannot be bound, kInvalidArgument when it is
//     empty.
absl::StatusOr<std::unique_ptr<PrometheusMetrics>> NewPrometheusMetrics(
    const MetricsOptions& options, const ConnectorLabelSet& connectors = {});

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_PROMETHEUS_METRICS_H_
