#include "connectors/retry_policy.h"

#include <algorithm>

namespace evaluatecode::connectors {

absl::Duration FullJitterBackoff(const RetryPolicy& policy, int retry, RandomSource& random) {
  absl::Duration ceiling = policy.base_backoff;
  for (int i = 1; i < retry && ceiling < policy.max_backoff; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.max_backoff);
  const double fraction = std::clamp(random.Uniform(), 0.0, 1.0);
  return ceiling * fraction;
}

bool IsIdempotentMethod(absl::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE";
}

bool MayResend(absl::string_view method, bool nothing_sent) {
  return nothing_sent || IsIdempotentMethod(method);
}

bool IsRetryableStatus(int http_status) {
  return http_status == 429 || http_status == 502 || http_status == 503 || http_status == 504;
}

}  // namespace evaluatecode::connectors
