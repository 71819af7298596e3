#ifndef EVALUATECODE_CONNECTORS_RANDOM_SOURCE_H_
#define EVALUATECODE_CONNECTORS_RANDOM_SOURCE_H_

#include <memory>

namespace evaluatecode::connectors {

// Randomness for backoff jitter, injected so tests can fix it. Implementations are thread-safe.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // A uniformly distributed value in [0, 1).
  virtual double Uniform() = 0;
};

// absl::BitGen behind a mutex. Thread-safe.
std::unique_ptr<RandomSource> NewRandomSource();

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_RANDOM_SOURCE_H_
