#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_FILE_DECISION_LOG_SINK_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_FILE_DECISION_LOG_SINK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/time_source.h"
#include "service/observability/batching_decision_log_sink.h"
#include "service/observability/decision_log_sink.h"

namespace evaluatecode::service::observability {

// The file sink's settings (keys of the `decision_log:` config section).
struct FileSinkOptions {
  // path: the file appended to. Its directory must exist.
  std::string path;
  // durable: `done` is called only once the line is on disk (written and fdatasync'ed). Lines that
  // arrive while a sync runs are written and synced together with the next one (group commit), so a
  // sync's cost is shared by every caller waiting on it.
  // When false, `done` is called once the line is written to the file (it then survives the
  // process being killed, not a machine crash) and the file is synced every `fsync_interval`.
  bool durable = false;
  // fsync_interval_ms: without `durable`, the longest a written line waits to be synced; zero syncs
  // after every batch. Unused with `durable`.
  absl::Duration fsync_interval = absl::Seconds(1);
  // rotate_bytes: when the file would grow past this, it is renamed `path.1` (and `path.1` to
  // `path.2` … up to `path.<keep_files>`, the oldest being dropped) and a new file started. A line
  // is never split across files. 0 = never rotate.
  uint64_t rotate_bytes = uint64_t{256} << 20;
  // keep_files: rotated files kept; at least 1 when rotating.
  int keep_files = 10;
};

// An append-only file of JSON lines, written in batches by a thread of its own (batching and the
// backlog's bound: `batching`, see batching_decision_log_sink.h). At start-up the file is opened
// (created 0640 if absent) for appending; if it ends in a partial line (a crash while writing), a
// newline is added so that the next record starts on a line of its own.
// When a write, sync, open or rotation fails, the sink turns unhealthy for good: the lines of that
// batch and every later Append get kUnavailable; bytes of a failed batch may be in the file, so a
// line may be recorded without its Append having succeeded, never the reverse.
// `time_source` is not owned and must outlive the sink.
// @return kInvalidArgument for bad options (of either struct); kUnavailable naming the path when it
//     cannot be opened.
absl::StatusOr<std::unique_ptr<DecisionLogSink>> NewFileDecisionLogSink(
    const FileSinkOptions& options, const BatchOptions& batching, const TimeSource& time_source);

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_FILE_DECISION_LOG_SINK_H_
