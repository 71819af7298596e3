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

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_TIME_SOURCE_H_
