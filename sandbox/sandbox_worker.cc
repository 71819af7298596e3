#include "sandbox/sandbox_worker.h"

#include <cstdio>
#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/cancellation.h"
#include "common/inline_arena.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/struct.pb.h"
#include "sandbox/answered_connector_host.h"
#include "sandbox/framed_channel.h"
#include "sandbox/worker_lockdown.h"
#include "sandbox/worker_messages.h"

namespace evaluatecode::sandbox {
namespace {

// Requests waiting for the evaluation thread, and the cancellation of the one running.
class Inbox {
 public:
  void Push(ipc::ToWorker request) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (request.has_cancel()) {
      if (running_cancellation_ != nullptr && request.id() == running_id_) {
        running_cancellation_->Cancel(CancellationCause::kCallerCancelled);
      }
      return;
    }
    queue_.push_back(std::move(request));
  }
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  // The next request, or false once closed and empty. `cancellation` is raised by a later Cancel
  // for that request's id.
  bool Next(ipc::ToWorker* request, Cancellation* cancellation) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](Inbox* inbox) ABSL_EXCLUSIVE_LOCKS_REQUIRED(inbox->mu_) {
          return inbox->closed_ || !inbox->queue_.empty();
        },
        this));
    if (queue_.empty()) return false;
    *request = std::move(queue_.front());
    queue_.pop_front();
    running_id_ = request->id();
    running_cancellation_ = cancellation;
    return true;
  }
  // The request Next() returned is answered: its cancellation is about to go away.
  void Done() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    running_id_ = 0;
    running_cancellation_ = nullptr;
  }

 private:
  absl::Mutex mu_;
  std::deque<ipc::ToWorker> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t running_id_ ABSL_GUARDED_BY(mu_) = 0;
  Cancellation* running_cancellation_ ABSL_GUARDED_BY(mu_) = nullptr;
};

ipc::FromWorker Serve(Sandbox& sandbox, const ipc::ToWorker& request,
                      const Cancellation& cancellation) {
  if (request.has_compile()) {
    return ToReply(request.id(),
                   sandbox.Compile(request.compile().source(), request.compile().check_types()
                                                                   ? TypeCheck::kRun
                                                                   : TypeCheck::kSkip));
  }
  InlineArena<> arena;
  auto* input = google::protobuf::Arena::CreateMessage<google::protobuf::Struct>(arena.get());
  absl::StatusOr<SandboxRequest> evaluate = FromMessage(request.evaluate(), input);
  if (!evaluate.ok()) {
    return ToReply(request.id(), absl::StatusOr<SandboxResult>(evaluate.status()));
  }
  AnsweredConnectorHost connector_host(request.evaluate());
  evaluate->cancellation = &cancellation;
  evaluate->connector_host = &connector_host;
  const absl::StatusOr<SandboxResult> result = sandbox.Evaluate(*evaluate);
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

  Inbox inbox;
  std::thread reader([&inbox, fd = options.fd] {
    for (;;) {
      ipc::ToWorker request;
      if (!ReadFrame(fd, &request).ok()) break;
      inbox.Push(std::move(request));
    }
    inbox.Close();
  });
  for (;;) {
    // A fresh Cancellation per request: a Cancel for an earlier id must not reach a later one.
    Cancellation cancellation;
    ipc::ToWorker request;
    if (!inbox.Next(&request, &cancellation)) break;
    ipc::FromWorker reply = Serve(**sandbox, request, cancellation);
    inbox.Done();
    if (!WriteFrame(options.fd, reply).ok()) break;
  }
  reader.join();
  return 0;
}

}  // namespace evaluatecode::sandbox
