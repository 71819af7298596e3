#ifndef EVALUATECODE_TESTS_TESTING_SIMULATED_TIME_SOURCE_H_
#define EVALUATECODE_TESTS_TESTING_SIMULATED_TIME_SOURCE_H_

#include "absl/synchronization/mutex.h"
#include "common/time_source.h"

namespace evaluatecode::testing {

// A clock that moves only when told to. Thread-safe.
class SimulatedTimeSource final : public TimeSource {
 public:
  explicit SimulatedTimeSource(absl::Time start = absl::FromUnixSeconds(1'790'000'000))
      : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_SIMULATED_TIME_SOURCE_H_
