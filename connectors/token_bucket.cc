#include "connectors/token_bucket.h"

#include <algorithm>

namespace evaluatecode::connectors {

TokenBucket::TokenBucket(double capacity, double refill_per_second, const TimeSource& time_source)
    : capacity_(std::max(1.0, capacity)),
      refill_per_second_(refill_per_second),
      time_source_(time_source),
      tokens_(capacity_),
      last_refill_(time_source.Now()) {}

void TokenBucket::RefillLocked() {
  const absl::Time now = time_source_.Now();
  // A clock that steps backwards adds nothing rather than removing tokens.
  if (now > last_refill_) {
    tokens_ = std::min(capacity_,
                       tokens_ + absl::ToDoubleSeconds(now - last_refill_) * refill_per_second_);
    last_refill_ = now;
  }
}

bool TokenBucket::TryConsume() {
  absl::MutexLock lock(&mu_);
  RefillLocked();
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

absl::Duration TokenBucket::TimeUntilNextToken() {
  absl::MutexLock lock(&mu_);
  RefillLocked();
  if (tokens_ >= 1.0) return absl::ZeroDuration();
  return absl::Seconds((1.0 - tokens_) / refill_per_second_);
}

}  // namespace evaluatecode::connectors
