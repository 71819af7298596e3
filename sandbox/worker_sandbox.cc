#include "sandbox/worker_sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <thread>
#include <utility>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/sha256.h"
#include "sandbox/framed_channel.h"
#include "sandbox/worker_messages.h"

extern char** environ;

namespace evaluatecode::sandbox {
namespace {

// How often a caller waiting on its worker looks at its cancellation and deadline.
constexpr absl::Duration kPollSlice = absl::Milliseconds(10);
// How often a caller waiting for a free worker looks at its cancellation (it is woken when handed
// a worker and at its deadline): with a thousand such callers, a short slice would cost a core.
constexpr absl::Duration kCancellationSlice = absl::Milliseconds(100);
// The channel descriptor number a worker finds its end of the socket pair on.
// Budget of a CompileCode round trip (the compile has its own, smaller budget inside the worker).
constexpr absl::Duration kCompileRoundTrip = absl::Seconds(30);

struct Worker {
  // kIdle and kBusy workers run; a kDead one waits for the restarter, which makes it kStarting
  // while a replacement boots (about half a second, most of it loading TypeScript's compiler).
  enum class State { kIdle, kBusy, kDead, kStarting };
  State state = State::kDead;
  pid_t pid = -1;
  int fd = -1;
  uint64_t next_id = 1;
};

// True when the peer closed `fd` and everything it sent has been read.
bool AtEndOfStream(int fd) {
  char byte;
  return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

// A caller waiting in Acquire for a free worker, until BecameFree hands it one.
struct Waiter {
  Worker* granted = nullptr;
  absl::CondVar granted_cv;
};

// When a request went to a worker, and the worker's CPU time then.
struct WorkUnderway {
  absl::Time wall;
  std::optional<absl::Duration> cpu;
};

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) {
    return absl::StrCat("signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
  }
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  return "an unknown status";
}

class WorkerSandboxImpl final : public WorkerSandbox {
 public:
  explicit WorkerSandboxImpl(const WorkerSandboxOptions& options)
      : options_(options), time_source_(*options.time_source), workers_(options.workers) {}

  ~WorkerSandboxImpl() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (restarter_.joinable()) restarter_.join();
    for (Worker& worker : workers_) Stop(worker);
  }

  // Starts every worker (in parallel: each boots on its own), then the restarter.
  absl::Status StartAll() {
    for (Worker& worker : workers_) {
      absl::Status spawned = Spawn(worker);
      if (!spawned.ok()) return spawned;
    }
    for (Worker& worker : workers_) {
      absl::Status ready = AwaitReady(worker);
      if (!ready.ok()) return ready;
      absl::MutexLock lock(&mu_);
      worker.state = Worker::State::kIdle;
    }
    restarter_ = std::thread([this] { RestartDeadWorkers(); });
    return absl::OkStatus();
  }

  // Sandbox
  absl::StatusOr<SandboxResult> Evaluate(const SandboxRequest& request) override {
    SandboxResult result;
    result.compile.code_sha256 = Sha256Hex(request.source);
    if (IsQuarantined(result.compile.code_sha256)) {
      result.evaluation.error = ScriptError{
          ScriptError::Kind::kQuarantined,
          absl::StrCat("this code crashed or overran sandbox workers ", options_.quarantine_after,
                       " times and is refused for ",
                       absl::FormatDuration(options_.quarantine_duration))};
      return result;
    }
    ipc::ToWorker message;
    *message.mutable_evaluate() = ToMessage(request);
    // Each run goes to whichever worker is free and ends at the script's result or at a connector
    // call no earlier run answered. This thread makes that call, the worker being free meanwhile
    // for other evaluations, and runs the script again with one more answer.
    absl::Duration engine_time;
    std::optional<CompileOutcome> first_compile;  // later runs find the code compiled already
    for (;;) {
      Outcome outcome = RoundTrip(message, request.deadline, request.cancellation,
                                  result.compile.code_sha256);
      if (auto* status = std::get_if<absl::Status>(&outcome)) return *status;
      if (auto* error = std::get_if<ScriptError>(&outcome)) {
        result.evaluation.error = std::move(*error);
        return result;
      }
      ipc::FromWorker& reply = std::get<ipc::FromWorker>(outcome);
      engine_time += absl::Nanoseconds(reply.evaluation().engine_time_nanos());
      if (!first_compile.has_value()) first_compile = FromMessage(reply.compile());
      if (!reply.evaluation().suspended()) {
        result.compile = *std::move(first_compile);
        result.evaluation = FromMessage(reply.evaluation());
        result.evaluation.engine_time = engine_time;
        return result;
      }
      ipc::ConnectorExchange* answered = AnswerFor(message.mutable_evaluate(), reply.connector_call());
      *answered->mutable_reply() =
          AnswerConnectorCall(answered->call(), request.connector_host);
    }
  }

  absl::StatusOr<CompileOutcome> Compile(const std::string& source,
                                         TypeCheck type_check) override {
    ipc::ToWorker message;
    message.mutable_compile()->set_source(source);
    message.mutable_compile()->set_check_types(type_check == TypeCheck::kRun);
    const std::string sha = Sha256Hex(source);
    Outcome outcome = RoundTrip(message, time_source_.Now() + kCompileRoundTrip, nullptr, sha);
    if (auto* status = std::get_if<absl::Status>(&outcome)) return *status;
    if (auto* error = std::get_if<ScriptError>(&outcome)) {
      return absl::UnavailableError(absl::StrCat("compiling in a sandbox worker failed: ",
                                                 error->message));
    }
    return FromMessage(std::get<ipc::FromWorker>(outcome).compile());
  }

  WorkerStats stats() const override {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

 private:
  // A reply, a failure the script caused (timeout, cancellation, crash), or our own failure.
  using Outcome = std::variant<ipc::FromWorker, ScriptError, absl::Status>;

  // Sends `request` (given a new id each time it is sent) to a free worker and waits for the answer.
  Outcome RoundTrip(ipc::ToWorker& request, absl::Time deadline, const Cancellation* cancellation,
                    const std::string& sha) {
    for (;;) {
      std::variant<Worker*, ScriptError> acquired = Acquire(deadline, cancellation);
      if (auto* error = std::get_if<ScriptError>(&acquired)) return *error;
      Worker& worker = *std::get<Worker*>(acquired);
      const absl::Status sent = Send(worker, request);
      if (sent.ok()) {
        Outcome outcome = Exchange(worker, request, deadline, cancellation, sha);
        Release(worker);
        return outcome;
      }
      if (!absl::IsUnavailable(sent)) {
        Release(worker);
        return sent;
      }
      // A worker lost while idle (killed from outside, or broken after its last reply) never got
      // this request, so the request must not fail, nor count against its code: replace the
      // worker and take another.
      Stop(worker);
      CountFailure(/*killed=*/false);
      Release(worker);
    }
  }

  // Gives `request` the worker's next id and writes it. kUnavailable when the worker is lost (the
  // request did not reach it); any other error is ours, and the worker is untouched.
  static absl::Status Send(Worker& worker, ipc::ToWorker& request) {
    // An idle worker's channel has nothing to read, unless the worker is gone (end of stream) or
    // broke the protocol (a reply nobody asked for).
    pollfd poll_fd{worker.fd, POLLIN, 0};
    if (poll(&poll_fd, 1, 0) != 0) {
      return absl::UnavailableError("the idle worker's channel is readable");
    }
    request.set_id(worker.next_id++);
    // A write that fails leaves an incomplete frame at most: the worker cannot have started it.
    return WriteFrame(worker.fd, request);
  }

  // Waits for the answer to `request` (sent on `worker`, acquired by the caller) and replaces the
  // worker if it had to die.
  Outcome Exchange(Worker& worker, const ipc::ToWorker& request, absl::Time deadline,
                   const Cancellation* cancellation, const std::string& sha) {
    const uint64_t id = request.id();
    absl::Time kill_at = deadline + options_.kill_grace;
    bool cancel_sent = false;
    const WorkUnderway since{time_source_.Now(), CpuTimeOf(worker)};
    for (;;) {
      const absl::Time now = time_source_.Now();
      if (!cancel_sent && cancellation != nullptr && cancellation->IsCancelled()) {
        ipc::ToWorker cancel;
        cancel.set_id(id);
        cancel.mutable_cancel();
        cancel_sent = true;
        kill_at = std::min(kill_at, now + options_.kill_grace);
        if (absl::Status written = WriteFrame(worker.fd, cancel); !written.ok()) {
          return Broken(worker, sha, written);
        }
      }
      if (now >= kill_at) return Killed(worker, sha, cancel_sent, since);

      pollfd poll_fd{worker.fd, POLLIN, 0};
      const absl::Duration wait = std::min(kPollSlice, kill_at - now);
      const int ready = poll(&poll_fd, 1, static_cast<int>(absl::ToInt64Milliseconds(
                                               absl::Ceil(wait, absl::Milliseconds(1)))));
      if (ready <= 0) continue;
      ipc::FromWorker reply;
      // A reply that has started arrives in full at once; the kill deadline still bounds it.
      if (absl::Status read = ReadFrame(worker.fd, &reply, kill_at); !read.ok()) {
        return Broken(worker, sha, read);
      }
      // One request at a time per worker, and every request given up on ends its worker: another
      // id is not a late answer but a worker that lost track of the conversation.
      if (reply.id() != id) {
        return Broken(worker, sha,
                      absl::DataLossError(absl::StrCat("a reply for request ", reply.id(),
                                                       " while request ", id, " is in flight")));
      }
      if (reply.failure_code() != 0) {
        return absl::Status(static_cast<absl::StatusCode>(reply.failure_code()),
                            absl::StrCat("sandbox worker: ", reply.failure_message()));
      }
      if (!reply.has_compile() || (request.has_evaluate() && !reply.has_evaluation())) {
        return Broken(worker, sha, absl::DataLossError("a final reply without a result"));
      }
      if (reply.evaluation().suspended() != reply.has_connector_call() ||
          reply.connector_call().index() >
              static_cast<uint32_t>(request.evaluate().answered_size())) {
        return Broken(worker, sha,
                      absl::DataLossError("a suspended evaluation without its connector call"));
      }
      return reply;
    }
  }

  // The place for the answer to `call` in the next run: after the answers the run used (a script
  // that took another path drops the rest).
  static ipc::ConnectorExchange* AnswerFor(ipc::EvaluateRequest* evaluate,
                                           const ipc::ConnectorCall& call) {
    auto* answered = evaluate->mutable_answered();
    answered->DeleteSubrange(static_cast<int>(call.index()),
                             answered->size() - static_cast<int>(call.index()));
    ipc::ConnectorExchange* exchange = answered->Add();
    *exchange->mutable_call() = call;
    return exchange;
  }

  // Makes the call on this thread, bounded by the evaluation's deadline inside the connector layer.
  static ipc::ConnectorReply AnswerConnectorCall(const ipc::ConnectorCall& call,
                                                 ConnectorHost* connector_host) {
    if (connector_host == nullptr) {
      return ToMessage(
          ConnectorCallOutcome{"CONNECTOR_NOT_ALLOWED", "this evaluation may not call connectors"});
    }
    return ToMessage(connector_host->Call(call.connector(), call.operation(), call.params()));
  }

  // The worker's CPU time so far; nullopt when the kernel cannot say (the process is gone).
  static std::optional<absl::Duration> CpuTimeOf(const Worker& worker) {
    clockid_t clock;
    timespec used;
    if (clock_getcpuclockid(worker.pid, &clock) != 0 || clock_gettime(clock, &used) != 0) {
      return std::nullopt;
    }
    return absl::DurationFromTimespec(used);
  }

  // Whether the code itself overran: its worker used a core for at least a fifth of the time
  // since the request (a spinning built-in gets that share even on a machine loaded five times
  // over). A worker starved of CPU also misses its deadline and must be replaced, but that is no
  // reason to refuse the code it was running.
  bool OverranOnItsOwn(const Worker& worker, const WorkUnderway& since) const {
    const std::optional<absl::Duration> now_used = CpuTimeOf(worker);
    if (!now_used.has_value() || !since.cpu.has_value()) return true;
    return *now_used - *since.cpu >= (time_source_.Now() - since.wall) / 5;
  }

  Outcome Killed(Worker& worker, const std::string& sha, bool cancelled,
                 const WorkUnderway& since) {
    const bool charge = OverranOnItsOwn(worker, since);
    Stop(worker);
    CountFailure(/*killed=*/true);
    if (charge) ChargeCode(sha);
    if (cancelled) return ScriptError{ScriptError::Kind::kCancelled, "the evaluation was cancelled"};
    return ScriptError{ScriptError::Kind::kTimeout,
                       "the script ran past its time limit inside a native built-in and its "
                       "sandbox worker was stopped"};
  }

  // The channel to a worker running `sha` failed (`channel` says how): the worker died, or is
  // alive but can no longer be trusted to answer.
  Outcome Broken(Worker& worker, const std::string& sha, const absl::Status& channel) {
    const std::string how = Stop(worker);
    CountFailure(/*killed=*/false);
    ChargeCode(sha);
    return ScriptError{ScriptError::Kind::kCrashed,
                       absl::StrCat("the sandbox worker running the script failed (channel: ",
                                    channel.message(), "; process: ", how,
                                    "); it has been replaced")};
  }

  // A free worker, marked kBusy for the caller; callers get workers in the order they asked.
  std::variant<Worker*, ScriptError> Acquire(absl::Time deadline,
                                             const Cancellation* cancellation) {
    absl::MutexLock lock(&mu_);
    if (waiters_.empty()) {
      for (Worker& worker : workers_) {
        if (worker.state == Worker::State::kIdle) {
          worker.state = Worker::State::kBusy;
          return &worker;
        }
      }
    }
    Waiter self;
    waiters_.push_back(&self);
    for (;;) {
      if (self.granted != nullptr) return self.granted;
      std::optional<ScriptError> error;
      const absl::Time now = time_source_.Now();
      if (cancellation != nullptr && cancellation->IsCancelled()) {
        error = ScriptError{ScriptError::Kind::kCancelled, "the evaluation was cancelled"};
      } else if (now >= deadline) {
        error = ScriptError{ScriptError::Kind::kNoWorker,
                            "the deadline passed while every sandbox worker was busy"};
      }
      if (error.has_value()) {
        waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &self));
        return *std::move(error);
      }
      // Woken when handed a worker; the slice bounds how late a cancellation is seen.
      self.granted_cv.WaitWithTimeout(&mu_, std::min(kCancellationSlice, deadline - now));
    }
  }

  // `worker` is free: it goes to the longest-waiting caller, or becomes kIdle. Handing it over
  // directly (not waking callers to race for it) keeps the order fair under overload, and wakes one
  // thread, not a thousand.
  void BecameFree(Worker& worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (waiters_.empty()) {
      worker.state = Worker::State::kIdle;
      return;
    }
    Waiter* first = waiters_.front();
    waiters_.pop_front();
    worker.state = Worker::State::kBusy;
    first->granted = &worker;
    first->granted_cv.Signal();
  }

  // Returns a worker after use; one that had to die is left to the restarter.
  void Release(Worker& worker) {
    bool retired = false;
    if (worker.pid >= 0) {
      const std::optional<absl::Duration> used = CpuTimeOf(worker);
      if (used.has_value() && *used >= options_.retire_after_cpu) {
        Stop(worker);
        retired = true;
      }
    }
    absl::MutexLock lock(&mu_);
    if (retired) ++stats_.retirements;
    if (worker.pid < 0) {
      worker.state = Worker::State::kDead;
    } else {
      BecameFree(worker);
    }
  }

  // The restarter thread: replaces dead workers off the request path, so the evaluation that
  // killed one is answered at once and others keep using the live workers meanwhile.
  void RestartDeadWorkers() {
    for (;;) {
      Worker* dead = nullptr;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](WorkerSandboxImpl* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
              if (self->stopping_) return true;
              for (const Worker& w : self->workers_) {
                if (w.state == Worker::State::kDead) return true;
              }
              return false;
            },
            this));
        if (stopping_) return;
        for (Worker& w : workers_) {
          if (w.state == Worker::State::kDead) {
            w.state = Worker::State::kStarting;
            dead = &w;
            break;
          }
        }
      }
      absl::Status started = Spawn(*dead);
      if (started.ok()) started = AwaitReady(*dead);
      absl::MutexLock lock(&mu_);
      // A worker that cannot start is retried; the failure shows in the starts count not moving.
      if (started.ok()) {
        BecameFree(*dead);
      } else {
        dead->state = Worker::State::kDead;
      }
      if (!started.ok()) mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(1));
    }
  }

  absl::Status Spawn(Worker& worker) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return absl::UnavailableError(absl::StrCat("socketpair: ", std::strerror(errno)));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], kWorkerChannelFd);
    if (options_.inherited_fd >= 0) {
      posix_spawn_file_actions_adddup2(&actions, options_.inherited_fd, kWorkerInheritedFd);
    }
    std::vector<char*> argv = {const_cast<char*>(options_.worker_binary.c_str())};
    for (const std::string& arg : options_.worker_args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int error = posix_spawn(&pid, options_.worker_binary.c_str(), &actions, nullptr,
                                  argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (error != 0) {
      close(fds[0]);
      return absl::UnavailableError(absl::StrCat("cannot start sandbox worker ",
                                                 options_.worker_binary, ": ",
                                                 std::strerror(error)));
    }
    worker.pid = pid;
    worker.fd = fds[0];
    return absl::OkStatus();
  }

  // Waits for a spawned worker's "ready" (it has loaded and locked itself down).
  absl::Status AwaitReady(Worker& worker) {
    ipc::FromWorker ready;
    absl::Status status = ReadFrame(worker.fd, &ready, time_source_.Now() + options_.start_timeout);
    if (!status.ok()) {
      const std::string how = Stop(worker);
      return absl::UnavailableError(absl::StrCat("sandbox worker ", options_.worker_binary,
                                                 " did not become ready (", how, ")"));
    }
    {
      absl::MutexLock lock(&mu_);
      ++stats_.starts;
    }
    if (options_.observer != nullptr) options_.observer->OnWorkerStarted();
    return absl::OkStatus();
  }

  // Ends `worker` (if running) and says how it ended. A worker whose channel closed is normally
  // exiting already: give it a moment to be reaped before killing it.
  std::string Stop(Worker& worker) {
    if (worker.pid < 0) return "not running";
    int status = 0;
    pid_t reaped = 0;
    for (int i = 0; i < 20 && (reaped = waitpid(worker.pid, &status, WNOHANG)) == 0; ++i) {
      // Still open (or holding bytes nobody asked for): it is alive, not exiting.
      if (!AtEndOfStream(worker.fd)) break;
      absl::SleepFor(absl::Milliseconds(5));
    }
    if (reaped == 0) {
      kill(worker.pid, SIGKILL);
      waitpid(worker.pid, &status, 0);
    }
    close(worker.fd);
    worker.pid = -1;
    worker.fd = -1;
    return reaped == 0 ? "stopped" : DescribeExit(status);
  }

  void CountFailure(bool killed) {
    if (options_.observer != nullptr) {
      killed ? options_.observer->OnWorkerKilled() : options_.observer->OnWorkerCrashed();
    }
    absl::MutexLock lock(&mu_);
    ++(killed ? stats_.kills : stats_.crashes);
  }

  // `sha` was running when a worker had to die: often enough, and the code is quarantined.
  void ChargeCode(const std::string& sha) {
    const absl::Time now = time_source_.Now();
    absl::MutexLock lock(&mu_);
    std::deque<absl::Time>& failures = failures_[sha];
    failures.push_back(now);
    while (!failures.empty() && failures.front() < now - options_.quarantine_window) {
      failures.pop_front();
    }
    if (static_cast<int>(failures.size()) >= options_.quarantine_after) {
      quarantined_until_[sha] = now + options_.quarantine_duration;
      failures_.erase(sha);
    }
  }

  bool IsQuarantined(const std::string& sha) {
    const absl::Time now = time_source_.Now();
    absl::MutexLock lock(&mu_);
    auto found = quarantined_until_.find(sha);
    if (found == quarantined_until_.end()) return false;
    if (found->second > now) return true;
    quarantined_until_.erase(found);
    return false;
  }

  const WorkerSandboxOptions options_;
  const TimeSource& time_source_;
  mutable absl::Mutex mu_;
  // The vector never changes size. A Worker's state is guarded by mu_; its pid, fd and next_id
  // belong to whoever moved it out of kIdle or kDead (a caller, or the restarter).
  std::vector<Worker> workers_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
  std::thread restarter_;
  WorkerStats stats_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::deque<absl::Time>> failures_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> quarantined_until_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<WorkerSandbox>> NewWorkerSandbox(
    const WorkerSandboxOptions& options) {
  if (options.time_source == nullptr || options.worker_binary.empty() || options.workers < 1) {
    return absl::InvalidArgumentError(
        "WorkerSandboxOptions needs a time_source, a worker_binary and at least one worker");
  }
  auto sandbox = std::make_unique<WorkerSandboxImpl>(options);
  absl::Status started = sandbox->StartAll();
  if (!started.ok()) return started;
  return sandbox;
}

}  // namespace evaluatecode::sandbox
