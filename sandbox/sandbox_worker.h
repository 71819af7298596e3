#ifndef EVALUATECODE_SANDBOX_SANDBOX_WORKER_H_
#define EVALUATECODE_SANDBOX_SANDBOX_WORKER_H_

#include <cstddef>

#include "sandbox/in_process_sandbox.h"

namespace evaluatecode::sandbox {

struct SandboxWorkerOptions {
  // The inherited ends of the supervisor's socket pairs: requests and replies, and cancellations.
  int fd = -1;
  int cancel_fd = -1;
  // RLIMIT_AS of the worker: a backstop for native allocations the heap cap cannot see.
  size_t address_space_bytes = size_t{4} << 30;
  // RLIMIT_CPU of the worker, in seconds; 0 = none (see LockDownWorkerProcess).
  uint64_t cpu_limit_seconds = 0;
  // How the worker compiles and runs; engine.time_source must be set.
  InProcessSandboxOptions sandbox;
};

// The body of a sandbox worker process: locks itself down (no new privileges, resource limits, a
// seccomp filter denying network, file opening, exec and process creation), says "ready", then
// serves Evaluate/Compile requests from the supervisor one at a time, while a second thread takes
// Cancel messages from `cancel_fd`. Returns the process exit code when the supervisor closes the
// channel.
int RunSandboxWorker(const SandboxWorkerOptions& options);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_SANDBOX_WORKER_H_
