#ifndef EVALUATECODE_SANDBOX_WORKER_SANDBOX_H_
#define EVALUATECODE_SANDBOX_WORKER_SANDBOX_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/time_source.h"
#include "sandbox/sandbox.h"

namespace evaluatecode::sandbox {

// Told about worker lifecycle events (for metrics). Called from the supervisor's threads; must not
// block. Implementations are thread-safe.
class WorkerObserver {
 public:
  virtual ~WorkerObserver() = default;
  virtual void OnWorkerStarted() = 0;
  virtual void OnWorkerKilled() = 0;
  virtual void OnWorkerCrashed() = 0;
};

// The descriptors a worker starts with: its channel to the supervisor, what
// WorkerSandboxOptions::inherited_fd names, and the channel that carries only cancellations (so
// that the thread running evaluations reads its requests itself, with no hand-off per run).
constexpr int kWorkerChannelFd = 3;
constexpr int kWorkerInheritedFd = 4;
constexpr int kWorkerCancelFd = 5;

struct WorkerSandboxOptions {
  // The executable to run as a worker, with `worker_args` (it must end up in RunSandboxWorker with
  // its channels on kWorkerChannelFd and kWorkerCancelFd).
  std::string worker_binary;
  std::vector<std::string> worker_args;
  // When not -1, a descriptor every worker inherits as kWorkerInheritedFd (a SharedBytecode).
  int inherited_fd = -1;
  // Worker processes (each with its driver thread); each runs one evaluation (one run of it) at a
  // time.
  int workers = 2;
  // How long past its deadline (or its cancellation) an evaluation may take before its worker is
  // killed: Duktape's native built-ins (a catastrophic regex, a huge join) never check the clock.
  absl::Duration kill_grace = absl::Milliseconds(100);
  // A worker that has used this much CPU is replaced between two evaluations, so that its
  // RLIMIT_CPU (given in `worker_args`) ends only a worker that runs away, never a healthy one
  // mid-evaluation.
  absl::Duration retire_after_cpu = absl::InfiniteDuration();
  // Under load a driver writes the next waiting evaluation to its worker behind the run it has
  // just sent, so that the worker goes on to it without waiting for the driver (a thread switch
  // and, on a VM, a wake-up of another CPU per run saved). If the run lasts longer than this, the
  // job is taken back and queued again for any worker, so a short job waits at most this long
  // behind a long one. Zero: never written ahead.
  absl::Duration write_ahead_patience = absl::Milliseconds(1);
  // How long a new worker may take to say it is ready.
  absl::Duration start_timeout = absl::Seconds(10);
  // Code whose evaluations killed or crashed workers `quarantine_after` times within
  // `quarantine_window` is refused for `quarantine_duration`.
  int quarantine_after = 3;
  absl::Duration quarantine_window = absl::Minutes(10);
  absl::Duration quarantine_duration = absl::Minutes(5);
  // When not empty, worker i and its driver thread run on CPU cpus[i % size] only, and a run goes
  // to an idle worker on its caller's CPU before any other: handing work to a thread on another
  // CPU that is idle wakes that CPU, which on a VM costs tens of microseconds (BENCHMARKS.md). For
  // a process that owns its CPUs; empty: the kernel places workers and drivers.
  std::vector<int> cpus;
  // Not owned; must outlive the sandbox.
  const TimeSource* time_source = nullptr;
  // May be null. Not owned; must outlive the sandbox.
  WorkerObserver* observer = nullptr;
};

// Counters of the worker pool, for metrics and tests.
struct WorkerStats {
  int starts = 0;    // workers started, including replacements
  int kills = 0;     // workers killed for overrunning a deadline or cancellation
  int crashes = 0;   // workers that died on their own or broke their channel, busy or idle
  int retirements = 0;  // workers replaced between evaluations for their CPU time
  int withdrawals = 0;  // jobs written behind a run that outlasted write_ahead_patience, requeued
};

// A Sandbox whose scripts run in supervised worker processes. Each worker has one driver thread
// that sends it the oldest waiting run and waits for the answer (under load, with the next waiting
// run written behind it: see write_ahead_patience); callers wait for no worker and no
// vendor on a thread of their own (EvaluateAsync). A worker never waits for a vendor either: a
// script's connector call suspends the evaluation and frees the worker, the connector host makes
// the call (ConnectorHost::CallAsync), and the script runs again (on any worker) with the answer,
// until it finishes. So `workers` is sized for CPU alone, and an evaluation in flight costs its
// messages, not a thread (docs/architecture.md has the numbers behind this choice). A run that
// waits for a worker past its deadline is answered kNoWorker, a cancelled one kCancelled. A worker
// that overruns is killed and its evaluation answered SCRIPT_TIMEOUT (or cancelled). One that dies
// or breaks its channel (closes it; sends a malformed or cut-short frame, a reply for another
// request, or one without a result) is stopped, and the evaluation it holds is answered
// SANDBOX_CRASHED naming the failure. Either way the worker is replaced and evaluations on other
// workers are unaffected; a request that never reached a lost worker goes to another. Every
// evaluation must have ended before the sandbox is destroyed. Thread-safe.
class WorkerSandbox : public Sandbox {
 public:
  virtual WorkerStats stats() const = 0;
};

// Starts `options.workers` workers and waits until each is ready.
absl::StatusOr<std::unique_ptr<WorkerSandbox>> NewWorkerSandbox(const WorkerSandboxOptions& options);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_WORKER_SANDBOX_H_
