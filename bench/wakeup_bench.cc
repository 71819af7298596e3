// What handing work to another thread or process and back costs on this machine: one byte each
// way over a Unix socket pair, the peer blocked in read between rounds, as a sandbox driver and
// its worker hand over each evaluation. Placement: both on one CPU, on two CPUs, or wherever the
// scheduler puts them. On a 2-vCPU VM that halts idle vCPUs, waking one on the other CPU costs far
// more than the instructions of a call (BENCHMARKS.md, "Why switches dominate"), which is why W1
// (≥ 4 hand-offs per call) and Echo (its calls batched per wake-up) are so far apart.
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>
#include <thread>

#include "benchmark/benchmark.h"
#include "common/cpu_affinity.h"

namespace evaluatecode::bench {
namespace {

enum Placement { kSameCpu = 0, kOtherCpu = 1, kUnpinned = 2 };
enum Peer { kThread = 0, kProcess = 1 };

// Answers every byte read on `fd` until the other end closes.
void Echo(int fd) {
  char byte;
  while (read(fd, &byte, 1) == 1) {
    if (write(fd, &byte, 1) != 1) return;
  }
}

void BM_HandOffAndBack(benchmark::State& state) {
  const auto placement = static_cast<Placement>(state.range(0));
  const auto peer = static_cast<Peer>(state.range(1));
  const absl::StatusOr<std::vector<int>> allowed = AllowedCpus();
  if (!allowed.ok() || allowed->size() < (placement == kOtherCpu ? 2u : 1u)) {
    return state.SkipWithError("this process may not run on two CPUs");
  }
  cpu_set_t original;
  sched_getaffinity(0, sizeof(original), &original);
  const pthread_t self = pthread_self();
  // The peer inherits this thread's affinity when it starts; then this thread takes its own CPU.
  if (placement != kUnpinned && !PinThreadToCpu(self, (*allowed)[placement == kOtherCpu]).ok()) {
    return state.SkipWithError("cannot pin");
  }
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    sched_setaffinity(0, sizeof(original), &original);
    return state.SkipWithError("socketpair");
  }
  std::thread thread;
  pid_t child = -1;
  if (peer == kThread) {
    thread = std::thread(Echo, fds[1]);
  } else if ((child = fork()) == 0) {
    close(fds[0]);
    Echo(fds[1]);
    _exit(0);
  }
  if (peer == kProcess && child < 0) {
    state.SkipWithError("fork");
  } else if (placement != kUnpinned && !PinThreadToCpu(self, (*allowed)[0]).ok()) {
    state.SkipWithError("cannot pin");
  } else {
    char byte = 'x';
    for (auto _ : state) {
      if (write(fds[0], &byte, 1) != 1 || read(fds[0], &byte, 1) != 1) {
        state.SkipWithError("the peer stopped answering");
        break;
      }
    }
  }
  shutdown(fds[0], SHUT_RDWR);
  if (thread.joinable()) thread.join();
  if (child > 0) waitpid(child, nullptr, 0);
  close(fds[0]);
  close(fds[1]);
  sched_setaffinity(0, sizeof(original), &original);
  static constexpr const char* kPlacements[] = {"same CPU", "two CPUs", "unpinned"};
  state.SetLabel(std::string(peer == kThread ? "thread, " : "process, ") + kPlacements[placement]);
}
BENCHMARK(BM_HandOffAndBack)
    ->ArgsProduct({{kSameCpu, kOtherCpu, kUnpinned}, {kThread, kProcess}})
    ->UseRealTime();

}  // namespace
}  // namespace evaluatecode::bench

BENCHMARK_MAIN();
