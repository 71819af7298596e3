#ifndef EVALUATECODE_TESTS_TESTING_CONNECTORS_FIXED_RANDOM_SOURCE_H_
#define EVALUATECODE_TESTS_TESTING_CONNECTORS_FIXED_RANDOM_SOURCE_H_

#include <atomic>

#include "connectors/random_source.h"

namespace evaluatecode::testing {

// Always returns the value last set (default 0.5). Thread-safe.
class FixedRandomSource final : public connectors::RandomSource {
 public:
  explicit FixedRandomSource(double value = 0.5) : value_(value) {}
  void Set(double value) { value_.store(value); }
  double Uniform() override { return value_.load(); }

 private:
  std::atomic<double> value_;
};

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_CONNECTORS_FIXED_RANDOM_SOURCE_H_
