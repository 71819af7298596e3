#ifndef EVALUATECODE_COMMON_TIME_SOURCE_H_
#define EVALUATECODE_COMMON_TIME_SOURCE_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace evaluatecode {

// The one place that reads the clock, so that deadlines, log times and durations can be driven by a
// simulated clock in tests. Implementations are thread-safe.
class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual absl::Time Now() const = 0;
};

// The system clock. Thread-safe.
class RealTimeSource final : public TimeSource {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A clock stopped at one instant: what a script sees of time during an evaluation. Thread-safe.
class FixedTimeSource final : public TimeSource {
 public:
  explicit FixedTimeSource(absl::Time now) : now_(now) {}
  absl::Time Now() const override { return now_; }

 private:
  const absl::Time now_;
};

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_TIME_SOURCE_H_
