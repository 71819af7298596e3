#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_STDOUT_DECISION_LOG_SINK_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_STDOUT_DECISION_LOG_SINK_H_

#include <cstdio>
#include <memory>

#include "service/observability/decision_log_sink.h"

namespace evaluatecode::service::observability {

// A sink writing each line to `stream` (stdout by default, where the container runtime's log
// collector picks it up next to the JSON logs) and flushing it before `done` is called, on the
// caller's thread. Lines are written under spdlog's console mutex, so they never interleave with
// the lines of an spdlog stdout logger (service/logging.h). Not durable: a write error (a closed
// pipe) makes the sink unhealthy and fails that Append and all later ones.
// `stream` is not owned and must outlive the sink.
std::unique_ptr<DecisionLogSink> NewStdoutDecisionLogSink(FILE* stream = stdout);

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_STDOUT_DECISION_LOG_SINK_H_
