#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_BATCHING_DECISION_LOG_SINK_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_BATCHING_DECISION_LOG_SINK_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "service/observability/decision_log_sink.h"

namespace evaluatecode::service::observability {

// How a sink takes lines in batches (keys of the `decision_log:` config section, every sink).
struct BatchOptions {
  // max_batch: the most lines written (and, in a durable file, synced) as one batch; at least 1.
  size_t max_batch = 1024;
  // max_pending_bytes: lines waiting to be written past which Append is refused at once
  // (kUnavailable, the sink stays healthy) instead of queueing without bound behind a slow output.
  size_t max_pending_bytes = size_t{64} << 20;
};

// Where a batching sink puts lines. Used by one writer at a time, but for Name().
class LineOutput {
 public:
  virtual ~LineOutput() = default;

  // Writes `lines` in order, each followed by a newline. An error fails the sink for good.
  virtual absl::Status Write(absl::Span<const std::string> lines) = 0;

  // Makes what was written as lasting as the output promises (a file: synced when durable or due).
  // Called after every batch, after CommitWait() without new lines, and with `closing` last.
  virtual absl::Status Commit(bool closing) = 0;

  // How long the writer may wait for new lines before it must call Commit; InfiniteDuration() when
  // nothing written waits to be committed.
  virtual absl::Duration CommitWait() const = 0;

  // What a backlog waits for, as the refusal names it: "the disk", "stdout".
  virtual absl::string_view Name() const = 0;
};

// Who writes a batching sink's lines.
enum class BatchWriter {
  // A thread of the sink's own: for an output whose commits are slow (a durable file's syncs) or
  // timed (CommitWait), which must not hold the threads that record.
  kOwnThread,
  // The appending thread that finds no write in progress writes what has queued, and goes on while
  // more queues meanwhile; the others only queue. No thread hop per line, for an output that is
  // cheap to write (a pipe); a stuck output holds that one thread. CommitWait is not used.
  kAppendingThread,
};

// A sink that queues each Append and writes whatever has queued meanwhile (up to max_batch lines)
// with one Write and Commit, answering those lines after it: a slow output is shared by every line
// waiting on it, and one that stops draining makes Append refuse past max_pending_bytes instead of
// queueing without bound. A failed Write or Commit turns the sink unhealthy for good: that batch
// and every later Append get kUnavailable. Destruction writes and commits what was appended, then
// answers it.
// @return kInvalidArgument when max_batch is 0.
absl::StatusOr<std::unique_ptr<DecisionLogSink>> NewBatchingDecisionLogSink(
    std::unique_ptr<LineOutput> output, const BatchOptions& options, BatchWriter writer);

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_BATCHING_DECISION_LOG_SINK_H_
