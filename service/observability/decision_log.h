#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_DECISION_LOG_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_DECISION_LOG_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/time_source.h"
#include "service/observability/batching_decision_log_sink.h"
#include "service/observability/decision_log_sink.h"
#include "service/observability/decision_record.h"
#include "service/observability/file_decision_log_sink.h"
#include "service/observability/input_mask.h"
#include "service/observability/metrics.h"

namespace evaluatecode::service::observability {

// The `decision_log:` config section.
struct DecisionLogOptions {
  enum class Sink {
    kStdout,  // sink: stdout — one JSON line per record among the logs; not durable
    kFile,    // sink: file — see FileSinkOptions
  };
  Sink sink = Sink::kStdout;
  // path, durable, fsync_interval_ms, rotate_bytes, keep_files; used with sink: file only.
  FileSinkOptions file;
  // max_batch, max_pending_bytes: how either sink batches records and bounds its backlog.
  BatchOptions batching;
  // mask: input paths whose values are recorded as "***" (syntax in input_mask.h).
  std::vector<std::string> mask;
};

// The audit trail of evaluations: renders each DecisionRecord as a JSON line (input masked), hands
// it to the sink and reports the write to Metrics. Thread-safe.
class DecisionLog {
 public:
  // `time_source` and `metrics` (may be null) are not owned and must outlive the log.
  DecisionLog(std::unique_ptr<DecisionLogSink> sink, InputMask mask, const TimeSource& time_source,
              Metrics* metrics);

  // Flushes (and, when durable, syncs) the records already handed over and calls their `done`.
  ~DecisionLog() = default;

  // Records one evaluation and calls `done` exactly once with:
  //   OK — recorded (in durable mode: on disk); the reply may be sent;
  //   kUnavailable — the sink refused or failed: answer UNAVAILABLE / DECISION_LOG_UNAVAILABLE and
  //       do not send the decision;
  //   kInternal — the record is malformed (a bug: no request, or not exactly one outcome).
  // `record`'s messages are rendered before Record returns and may be released then. `done` runs
  // on whichever thread writes the record (this one, before Record returns; another Record's; or
  // the sink's own), or before Record returns when the record is malformed or refused; it must not
  // block (calling ServerUnaryReactor::Finish is fine).
  void Record(const DecisionRecord& record, DecisionLogSink::Done done);

  // False once the sink has failed; serve it as readiness.
  bool IsHealthy() const { return sink_->IsHealthy(); }

 private:
  const InputMask mask_;
  const TimeSource& time_source_;
  Metrics* const metrics_;
  // Last: destroyed first, while the members its pending callbacks use are still alive.
  const std::unique_ptr<DecisionLogSink> sink_;
};

// Builds the log `options` describe: compiles the mask, opens the sink.
// @return kInvalidArgument for a bad mask path or file option; kUnavailable when the file cannot be
//     opened (start-up should fail: the server must not decide without a record).
absl::StatusOr<std::unique_ptr<DecisionLog>> NewDecisionLog(const DecisionLogOptions& options,
                                                            const TimeSource& time_source,
                                                            Metrics* metrics);

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_DECISION_LOG_H_
