#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_STDOUT_DECISION_LOG_SINK_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_STDOUT_DECISION_LOG_SINK_H_

#include <cstdio>
#include <memory>

#include "absl/status/statusor.h"
#include "service/observability/batching_decision_log_sink.h"
#include "service/observability/decision_log_sink.h"

namespace evaluatecode::service::observability {

// A sink writing lines to `stream` (stdout by default, where the container runtime's log collector
// picks them up next to the JSON logs), batched by the appending threads (BatchWriter::
// kAppendingThread): a line is written and flushed on the thread that records it, unless another
// thread is writing, which then writes it with whatever else queued meanwhile in one write and
// flush. `done` is called after that flush. Batches are written under spdlog's console mutex, so
// they never interleave with the lines of an spdlog stdout logger (service/logging.h). Not durable:
// a write error (a closed pipe) makes the sink unhealthy and fails that batch and every later
// Append. `stream` is not owned and must outlive the sink.
// @return kInvalidArgument for bad `batching` options.
absl::StatusOr<std::unique_ptr<DecisionLogSink>> NewStdoutDecisionLogSink(
    const BatchOptions& batching, FILE* stream = stdout);

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_STDOUT_DECISION_LOG_SINK_H_
