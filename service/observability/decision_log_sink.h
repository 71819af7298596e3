#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_DECISION_LOG_SINK_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_DECISION_LOG_SINK_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace evaluatecode::service::observability {

// Where decision records go: an append-only sequence of JSON lines. Implementations are thread-safe.
class DecisionLogSink {
 public:
  // Called exactly once per Append: OK when the line is written (to disk, in a durable sink), else
  // kUnavailable saying why. Runs on whichever thread wrote the line or refused it: the caller's,
  // another caller's (inside its Append), or the sink's own; it must not block.
  using Done = absl::AnyInvocable<void(absl::Status) &&>;

  // Destruction writes (and, in a durable sink, syncs) what was appended and then calls every
  // pending `done`: destroy the sink only after the callers stop appending.
  virtual ~DecisionLogSink() = default;

  // Appends `line` (one JSON object, no newline) and calls `done`. A sink that has failed answers
  // kUnavailable promptly, without blocking; no line is dropped without a non-OK `done`.
  virtual void Append(std::string line, Done done) = 0;

  // False once a write, sync, open or rotation has failed: every later Append is refused. Serve it
  // as readiness, so that a replica that cannot record stops receiving calls.
  virtual bool IsHealthy() const = 0;
};

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_DECISION_LOG_SINK_H_
