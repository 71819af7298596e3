#include "service/tenant_quotas.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace evaluatecode::service {
namespace {

// Tenants are caller-supplied labels: past this many distinct ones, the rest share one state, so a
// caller inventing tenants cannot grow the table without bound.
constexpr size_t kMaxTrackedTenants = 10000;
constexpr char kOverflowTenant[] = "\x01overflow";

}  // namespace

TenantQuotas::TenantQuotas(QuotaConfig config, const TimeSource& time_source)
    : config_(std::move(config)), time_source_(time_source) {}

TenantQuotas::TenantState& TenantQuotas::StateLocked(const std::string& tenant) {
  auto found = states_.find(tenant);
  if (found != states_.end()) return found->second;
  const std::string& key = states_.size() < kMaxTrackedTenants ? tenant : kOverflowTenant;
  auto [it, inserted] = states_.try_emplace(key);
  if (inserted) {
    const auto configured = config_.tenants.find(tenant);
    it->second.limits =
        configured != config_.tenants.end() ? configured->second : config_.defaults;
    const QuotaLimits& limits = it->second.limits;
    if (limits.requests_per_second > 0) {
      it->second.rate = std::make_unique<connectors::TokenBucket>(
          limits.burst > 0 ? limits.burst : std::max(1.0, limits.requests_per_second),
          limits.requests_per_second, time_source_);
    }
  }
  return it->second;
}

std::optional<std::string> TenantQuotas::TryAdmit(const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  TenantState& state = StateLocked(tenant);
  if (state.limits.max_concurrent > 0 && state.in_flight >= state.limits.max_concurrent) {
    return absl::StrCat("tenant '", tenant, "' has ", state.in_flight,
                        " evaluations in flight, its quota is ", state.limits.max_concurrent);
  }
  if (state.rate != nullptr && !state.rate->TryConsume()) {
    return absl::StrCat("tenant '", tenant, "' is above its quota of ",
                        state.limits.requests_per_second, " evaluations per second");
  }
  ++state.in_flight;
  return std::nullopt;
}

void TenantQuotas::Release(const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  auto found = states_.find(tenant);
  if (found == states_.end()) found = states_.find(kOverflowTenant);
  if (found != states_.end() && found->second.in_flight > 0) --found->second.in_flight;
}

}  // namespace evaluatecode::service
