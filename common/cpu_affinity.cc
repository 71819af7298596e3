#include "common/cpu_affinity.h"

#include <sched.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace evaluatecode {

absl::StatusOr<std::vector<int>> AllowedCpus() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    return absl::UnavailableError(absl::StrCat("sched_getaffinity: ", std::strerror(errno)));
  }
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  return cpus;
}

namespace {

absl::Status Pinned(int error, int cpu) {
  if (error == 0) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("pinning to CPU ", cpu, ": ", std::strerror(error)));
}

// The set of `cpu` alone; false when there is no such CPU.
bool OnlyCpu(int cpu, cpu_set_t* set) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
  CPU_ZERO(set);
  CPU_SET(cpu, set);
  return true;
}

}  // namespace

absl::Status PinProcessToCpu(pid_t process, int cpu) {
  cpu_set_t one;
  if (!OnlyCpu(cpu, &one)) return Pinned(EINVAL, cpu);
  return Pinned(sched_setaffinity(process, sizeof(one), &one) == 0 ? 0 : errno, cpu);
}

absl::Status PinThreadToCpu(pthread_t thread, int cpu) {
  cpu_set_t one;
  if (!OnlyCpu(cpu, &one)) return Pinned(EINVAL, cpu);
  return Pinned(pthread_setaffinity_np(thread, sizeof(one), &one), cpu);
}

int CurrentCpu() { return sched_getcpu(); }

}  // namespace evaluatecode
