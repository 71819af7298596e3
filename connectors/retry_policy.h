#ifndef EVALUATECODE_CONNECTORS_RETRY_POLICY_H_
#define EVALUATECODE_CONNECTORS_RETRY_POLICY_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/random_source.h"

namespace evaluatecode::connectors {

// How a connector retries: on 429, 502, 503, 504, a broken connection or a connection never made,
// and only while the caller's deadline leaves room. Only idempotent methods (GET, HEAD, PUT,
// DELETE) are sent again after the vendor may have seen them; any method is after a failed
// connect, when nothing was sent.
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

// True for the methods that may be sent twice (GET, HEAD, PUT, DELETE). POST and PATCH may not.
bool IsIdempotentMethod(absl::string_view method);

// True when a failed attempt with `method` may be sent again: an idempotent method always, any
// method when the request never left this process (`nothing_sent`: the connect failed).
bool MayResend(absl::string_view method, bool nothing_sent);

// True for the HTTP statuses that say "try again": 429, 502, 503, 504.
bool IsRetryableStatus(int http_status);

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_RETRY_POLICY_H_
