#include "sandbox/worker_lockdown.h"

#include <seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace evaluatecode::sandbox {
namespace {

// System calls a worker never needs once it serves: a script that found a way out of Duktape
// still cannot reach the network, open a file, run a program or start a process.
constexpr int kDeniedSyscalls[] = {
    SCMP_SYS(socket),        SCMP_SYS(socketpair),    SCMP_SYS(connect),
    SCMP_SYS(bind),          SCMP_SYS(listen),        SCMP_SYS(accept),
    SCMP_SYS(accept4),       SCMP_SYS(open),          SCMP_SYS(openat),
    SCMP_SYS(openat2),       SCMP_SYS(creat),         SCMP_SYS(execve),
    SCMP_SYS(execveat),      SCMP_SYS(fork),          SCMP_SYS(vfork),
    SCMP_SYS(ptrace),        SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
    SCMP_SYS(mount),         SCMP_SYS(umount2),       SCMP_SYS(chroot),
    SCMP_SYS(pivot_root),    SCMP_SYS(unshare),       SCMP_SYS(setns),
    SCMP_SYS(bpf),           SCMP_SYS(perf_event_open), SCMP_SYS(keyctl),
    SCMP_SYS(add_key),       SCMP_SYS(request_key),   SCMP_SYS(io_uring_setup),
    SCMP_SYS(userfaultfd),   SCMP_SYS(personality),   SCMP_SYS(symlink),
    SCMP_SYS(symlinkat),     SCMP_SYS(link),          SCMP_SYS(linkat),
    SCMP_SYS(unlink),        SCMP_SYS(unlinkat),      SCMP_SYS(rename),
    SCMP_SYS(renameat),      SCMP_SYS(renameat2),     SCMP_SYS(mkdir),
    SCMP_SYS(mkdirat),       SCMP_SYS(rmdir),         SCMP_SYS(chmod),
    SCMP_SYS(fchmodat),      SCMP_SYS(chown),         SCMP_SYS(fchownat),
    SCMP_SYS(truncate),      SCMP_SYS(kill),          SCMP_SYS(setuid),
    SCMP_SYS(setgid),        SCMP_SYS(setreuid),      SCMP_SYS(setregid),
};

}  // namespace

absl::Status LockDownWorkerProcess(size_t address_space_bytes, uint64_t cpu_limit_seconds) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the supervisor
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  const rlimit address_space{address_space_bytes, address_space_bytes};
  const rlimit no_core{0, 0};
  const rlimit few_files{32, 32};
  // SIGXCPU at the soft limit ends the worker; SIGKILL 5 s later if it is caught or ignored.
  const rlimit cpu{cpu_limit_seconds, cpu_limit_seconds + 5};
  if (setrlimit(RLIMIT_AS, &address_space) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0 ||
      setrlimit(RLIMIT_NOFILE, &few_files) != 0 ||
      (cpu_limit_seconds > 0 && setrlimit(RLIMIT_CPU, &cpu) != 0)) {
    return absl::InternalError(absl::StrCat("setrlimit: ", std::strerror(errno)));
  }
  scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
  if (filter == nullptr) return absl::InternalError("seccomp_init failed");
  bool ok = true;
  for (int syscall : kDeniedSyscalls) {
    // Unknown on this architecture (negative pseudo numbers) are skipped by libseccomp itself.
    if (seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), syscall, 0) != 0 && syscall >= 0) {
      ok = false;
    }
  }
  // New processes: fork() is clone() without CLONE_THREAD. clone3() hides its flags behind a
  // pointer the filter cannot read, so it answers ENOSYS and glibc falls back to clone() for threads.
  ok = ok &&
       seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)) == 0 &&
       seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) == 0;
  ok = ok && seccomp_load(filter) == 0;
  seccomp_release(filter);
  if (!ok) return absl::InternalError("installing the seccomp filter failed");
  return absl::OkStatus();
}


}  // namespace evaluatecode::sandbox
