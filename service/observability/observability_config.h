#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_OBSERVABILITY_CONFIG_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_OBSERVABILITY_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "service/observability/decision_log.h"
#include "service/observability/metrics.h"
#include "yaml-cpp/yaml.h"

namespace evaluatecode::service::observability {

// Readers of the `metrics:` and `decision_log:` sections of the server's YAML config, for
// service/config.cc to call on the section's node (an undefined or null node gives the defaults).
// `path` is the section's key path, used in messages. As in service/config.cc, an unknown key, a
// value of the wrong type or an inconsistent setting is kInvalidArgument naming the key and its
// line, e.g. "config: decision_log.keep_files (line 4): expected an integer …". Neither throws.

// metrics: {enabled: true, listen: "127.0.0.1:9464"}
absl::StatusOr<MetricsOptions> ParseMetricsOptions(const YAML::Node& node,
                                                   const std::string& path = "metrics");

// decision_log: {sink: stdout|file, path, durable, fsync_interval_ms, max_batch, rotate_bytes,
//                keep_files, max_pending_bytes, mask: [input paths]}
// Also checks: sink: file needs a path; durable needs sink: file; max_batch >= 1; keep_files >= 1
// when rotate_bytes > 0; every mask path is valid (input_mask.h).
absl::StatusOr<DecisionLogOptions> ParseDecisionLogOptions(
    const YAML::Node& node, const std::string& path = "decision_log");

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_OBSERVABILITY_CONFIG_H_
