#ifndef EVALUATECODE_CONNECTORS_TOKEN_BUCKET_H_
#define EVALUATECODE_CONNECTORS_TOKEN_BUCKET_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time_source.h"

namespace evaluatecode::connectors {

// A token bucket: holds at most `capacity` tokens, starts full, and gains `refill_per_second`
// tokens per second of TimeSource time. Thread-safe.
class TokenBucket {
 public:
  // `time_source` is not owned and must outlive the bucket. capacity >= 1, refill_per_second > 0.
  TokenBucket(double capacity, double refill_per_second, const TimeSource& time_source);

  // Takes one token if there is one. Never blocks.
  // @return true if a token was taken.
  bool TryConsume() ABSL_LOCKS_EXCLUDED(mu_);

  // How long until a token will be available (zero if one is now).
  absl::Duration TimeUntilNextToken() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void RefillLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double capacity_;
  const double refill_per_second_;
  const TimeSource& time_source_;
  absl::Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);
  absl::Time last_refill_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_TOKEN_BUCKET_H_
