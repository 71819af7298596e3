#ifndef EVALUATECODE_SERVICE_TENANT_QUOTAS_H_
#define EVALUATECODE_SERVICE_TENANT_QUOTAS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/time_source.h"
#include "connectors/token_bucket.h"

namespace evaluatecode::service {

// One tenant's allowance. 0 means unlimited.
struct QuotaLimits {
  // Evaluations of the tenant running or queued at once.
  int max_concurrent = 0;
  // Sustained evaluations per second, and the burst above it (token bucket; burst 0 = 1 second's
  // worth).
  double requests_per_second = 0;
  double burst = 0;
};

// quotas: the limits of tenants named in the config, and of every other tenant.
struct QuotaConfig {
  QuotaLimits defaults;
  absl::flat_hash_map<std::string, QuotaLimits> tenants;
};

// Per-tenant admission: a tenant over its concurrency or rate quota is refused at once, so that it
// cannot take evaluator threads or queue slots from the others. The tenant is the request's
// `tenant` label ("" for none). Thread-safe.
class TenantQuotas {
 public:
  // `time_source` must outlive the quotas.
  TenantQuotas(QuotaConfig config, const TimeSource& time_source);

  // Admits one evaluation of `tenant`, which the caller must Release() once answered; or says why
  // not (for the QUOTA_EXCEEDED message).
  std::optional<std::string> TryAdmit(const std::string& tenant) ABSL_LOCKS_EXCLUDED(mu_);
  void Release(const std::string& tenant) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct TenantState {
    QuotaLimits limits;
    int in_flight = 0;
    std::unique_ptr<connectors::TokenBucket> rate;  // null when unlimited
  };
  TenantState& StateLocked(const std::string& tenant) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const QuotaConfig config_;
  const TimeSource& time_source_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, TenantState> states_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_TENANT_QUOTAS_H_
