#ifndef EVALUATECODE_CONNECTORS_RETRY_POLICY_H_
#define EVALUATECODE_CONNECTORS_RETRY_POLICY_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/random_source.h"

namespace evaluatecode::connectors {

// How a connector retries. Only idempotent methods (GET, HEAD, PUT, DELETE) are retried, only on
// 429, 502, 503, 504 or a broken connection, and only while the caller's deadline leaves room.
struct RetryPolicy {
  // Attempts in all, counting the first: 1 = never retry. At most 3.
  int max_attempts = 3;
  // Full-jitter backoff (Envoy's defaults): retry n waits a uniform random time in
  // [0, min(max_backoff, base_backoff * 2^(n-1))).
  absl::Duration base_backoff = absl::Milliseconds(25);
  absl::Duration max_backoff = absl::Milliseconds(250);
};

// The wait before retry number `retry` (1 = the first retry), drawn from `random`.
absl::Duration FullJitterBackoff(const RetryPolicy& policy, int retry, RandomSource& random);

// True for the methods that may be retried (GET, HEAD, PUT, DELETE). POST and PATCH never are.
bool IsIdempotentMethod(absl::string_view method);

// True for the HTTP statuses that say "try again": 429, 502, 503, 504.
bool IsRetryableStatus(int http_status);

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_RETRY_POLICY_H_
