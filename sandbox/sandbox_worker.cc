#include "sandbox/sandbox_worker.h"

#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/cancellation.h"
#include "sandbox/answered_connector_host.h"
#include "sandbox/framed_channel.h"
#include "sandbox/worker_lockdown.h"
#include "sandbox/worker_messages.h"

namespace evaluatecode::sandbox {
namespace {

// The evaluation running, and the last two the supervisor cancelled: the two arrive on separate
// channels, so a Cancel may be read before the request it names. Two, because the supervisor may
// cancel the run under way and the request it wrote behind it (taking that one back).
class CancelBoard {
 public:
  // `id` starts running with `cancellation`, raised at once if its Cancel came first (nothing
  // is then compiled or run).
  void Begin(uint64_t id, Cancellation* cancellation) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    running_id_ = id;
    running_cancellation_ = cancellation;
    if (cancelled_ids_[0] == id || cancelled_ids_[1] == id) {
      cancellation->Cancel(CancellationCause::kCallerCancelled);
    }
  }
  // The evaluation Begin named is answered: its cancellation is about to go away.
  void End() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    running_id_ = 0;
    running_cancellation_ = nullptr;
  }
  void Cancel(uint64_t id) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    cancelled_ids_[1] = cancelled_ids_[0];
    cancelled_ids_[0] = id;
    if (running_cancellation_ != nullptr && running_id_ == id) {
      running_cancellation_->Cancel(CancellationCause::kCallerCancelled);
    }
  }

 private:
  absl::Mutex mu_;
  uint64_t running_id_ ABSL_GUARDED_BY(mu_) = 0;
  Cancellation* running_cancellation_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t cancelled_ids_[2] ABSL_GUARDED_BY(mu_) = {0, 0};  // the latest first
};

ipc::FromWorker Serve(Sandbox& sandbox, const ipc::ToWorker& request,
                      const Cancellation& cancellation) {
  if (request.has_compile()) {
    return ToReply(request.id(),
                   sandbox.Compile(request.compile().source(), request.compile().check_types()
                                                                   ? TypeCheck::kRun
                                                                   : TypeCheck::kSkip));
  }
  SandboxRequest evaluate = FromMessage(request.evaluate());
  AnsweredConnectorHost connector_host(request.evaluate());
  evaluate.cancellation = &cancellation;
  evaluate.connector_host = &connector_host;
  const absl::StatusOr<SandboxResult> result = sandbox.Evaluate(evaluate);
  ipc::FromWorker reply = ToReply(request.id(), result);
  if (result.ok() && result->evaluation.suspended && connector_host.pending().has_value()) {
    *reply.mutable_connector_call() = *connector_host.pending();
  }
  return reply;
}

}  // namespace

int RunSandboxWorker(const SandboxWorkerOptions& options) {
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = NewInProcessSandbox(options.sandbox);
  if (!sandbox.ok()) {
    std::fprintf(stderr, "sandbox worker: %s\n", sandbox.status().ToString().c_str());
    return 2;
  }
  if (absl::Status locked = LockDownWorkerProcess(options.address_space_bytes, options.cpu_limit_seconds); !locked.ok()) {
    std::fprintf(stderr, "sandbox worker: %s\n", locked.ToString().c_str());
    return 3;
  }
  ipc::FromWorker ready;
  if (!WriteFrame(options.fd, ready).ok()) return 0;

  CancelBoard board;
  std::thread canceller([&board, fd = options.cancel_fd] {
    ipc::ToWorker cancel;
    while (ReadFrame(fd, &cancel).ok()) board.Cancel(cancel.id());
  });
  for (;;) {
    // A fresh Cancellation per request: a Cancel for an earlier id must not reach a later one.
    Cancellation cancellation;
    ipc::ToWorker request;
    if (!ReadFrame(options.fd, &request).ok()) break;
    board.Begin(request.id(), &cancellation);
    ipc::FromWorker reply = Serve(**sandbox, request, cancellation);
    board.End();
    if (!WriteFrame(options.fd, reply).ok()) break;
  }
  // The supervisor is gone or broke the protocol: stop taking Cancels too.
  shutdown(options.cancel_fd, SHUT_RDWR);
  canceller.join();
  return 0;
}

}  // namespace evaluatecode::sandbox
