#ifndef EVALUATECODE_COMMON_USABLE_CPUS_H_
#define EVALUATECODE_COMMON_USABLE_CPUS_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace evaluatecode {

// How many CPUs this process can keep busy: the fewer of the CPUs it may run on (its affinity:
// a container's cpuset) and its cgroup's CPU quota (a Kubernetes CPU limit), rounded up; at least
// 1. std::thread::hardware_concurrency counts every CPU of the node instead. `cgroup_root` is
// where the process's cgroup is mounted: /sys/fs/cgroup in a container with its own cgroup
// namespace (cgroup v2) or its own mounts (v1).
int UsableCpuCount(const std::string& cgroup_root = "/sys/fs/cgroup");

// The CPUs a quota allows, rounded up; nullopt for no quota or text that is not one.
// cgroup v2's cpu.max: "max 100000" (none) or "200000 100000" (quota, period in µs).
std::optional<int> CpusInCpuMax(absl::string_view cpu_max);
// cgroup v1's cpu.cfs_quota_us ("-1": none) and cpu.cfs_period_us.
std::optional<int> CpusInCfsQuota(absl::string_view quota_us, absl::string_view period_us);

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_USABLE_CPUS_H_
