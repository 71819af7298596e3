#ifndef EVALUATECODE_COMMON_CPU_AFFINITY_H_
#define EVALUATECODE_COMMON_CPU_AFFINITY_H_

#include <pthread.h>
#include <sys/types.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace evaluatecode {

// The CPUs the calling thread may run on (its affinity: the container's cpuset, or a taskset),
// in ascending order.
absl::StatusOr<std::vector<int>> AllowedCpus();

// Keeps a process on `cpu` only: its main thread, and the threads it starts from then on.
absl::Status PinProcessToCpu(pid_t process, int cpu);

// Keeps a thread of this process on `cpu` only.
absl::Status PinThreadToCpu(pthread_t thread, int cpu);

// The CPU the calling thread runs on right now; -1 when the kernel cannot say.
int CurrentCpu();

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_CPU_AFFINITY_H_
