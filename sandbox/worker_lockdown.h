#ifndef EVALUATECODE_SANDBOX_WORKER_LOCKDOWN_H_
#define EVALUATECODE_SANDBOX_WORKER_LOCKDOWN_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace evaluatecode::sandbox {

// Locks the calling process down for running untrusted scripts, irreversibly: it dies with its
// parent, gains no privileges, gets RLIMIT_AS = `address_space_bytes`, RLIMIT_CPU =
// `cpu_limit_seconds` (0 = none; past it the kernel ends the process), no core dumps, at most 32
// open files, and a seccomp filter (applied to this thread and any it starts later) under which
// socket, connect, bind, open/openat, execve, fork/vfork, ptrace, kill and the file-system-changing
// calls fail with EPERM. Call it before starting other threads.
absl::Status LockDownWorkerProcess(size_t address_space_bytes, uint64_t cpu_limit_seconds = 0);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_WORKER_LOCKDOWN_H_
