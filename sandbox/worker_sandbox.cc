#include "sandbox/worker_sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
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
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/await_callback.h"
#include "common/cpu_affinity.h"
#include "common/expiry_timer.h"
#include "common/sha256.h"
#include "common/thread_name.h"
#include "sandbox/framed_channel.h"
#include "sandbox/worker_messages.h"

extern char** environ;

namespace evaluatecode::sandbox {
namespace {

// How often a driver waiting on its worker looks at the run's cancellation and deadline, and an
// idle driver at whether a caller sent its worker a job.
constexpr absl::Duration kPollSlice = absl::Milliseconds(10);
// How long an idle driver keeps looking every slice before it parks: a parked driver waits without
// a time limit, so a caller that sends its worker a job also rings its doorbell.
constexpr absl::Duration kParkAfter = absl::Milliseconds(100);
// How often runs waiting for a worker are looked at for a cancellation (they are also looked at by
// their deadlines): often enough to answer a cancelled call promptly, rarely enough to cost nothing.
constexpr absl::Duration kCancellationSlice = absl::Milliseconds(100);
// Budget of a CompileCode round trip (the compile has its own, smaller budget inside the worker).
constexpr absl::Duration kCompileRoundTrip = absl::Seconds(30);
// The largest request written to a worker by a thread that must not wait for the worker to read
// it (a submitter, or a driver with a reply to finish): well within a Unix socket's default send
// buffer (net.core.wmem_default, 208 KiB), which is empty when the worker waits for a job.
constexpr size_t kLargestFrameWrittenWithoutWaiting = 64 << 10;
// How long a driver waits before trying again to start a worker that would not start.
constexpr absl::Duration kRestartBackoff = absl::Seconds(1);

// When a request went to a worker, and the worker's CPU time then.
struct WorkUnderway {
  absl::Time wall;
  std::optional<absl::Duration> cpu;
};

// A job for a driver, and — when the caller that submitted it found the driver idle and wrote it
// to the worker itself — how that write went.
struct Handoff {
  std::unique_ptr<class Job> job;
  std::optional<absl::StatusOr<WorkUnderway>> sent;
};

// A job written to a worker behind the run it is busy with, so that the worker goes on to it as
// it answers instead of sleeping until its driver has read the answer and written the next job.
// Taken back (withdrawn) when the run outlasts options.write_ahead_patience: the job is queued
// again, and the worker's reply for it (it skips a job withdrawn before it began) is dropped.
struct WrittenAhead {
  std::unique_ptr<class Job> job;
  absl::Time withdraw_at;
  uint64_t withdrawn_id = 0;  // 0: nothing withdrawn awaits its reply
  bool write_failed = false;  // the channel may hold half a frame: the worker must go
  // Whether the worker's last run was an evaluation shorter than the patience: one behind a long
  // run would only be withdrawn, and would lose its place to jobs queued after it meanwhile.
  bool after_short_run = false;
};

// A worker process and its driver thread. The process (pid, fds, next_id) belongs to the driver,
// except while a caller that claimed the idle driver (`sending`) writes it a job.
struct Worker {
  pid_t pid = -1;  // -1: not running (the driver starts it before taking the next run)
  // The process's CPU-time clock, looked up once: clock_getcpuclockid makes a system call.
  std::optional<clockid_t> cpu_clock;
  int fd = -1;
  int cancel_fd = -1;  // Cancel messages only
  uint64_t next_id = 1;
  // An eventfd that wakes the driver when it is parked, or when the sandbox stops.
  int doorbell = -1;
  int cpu = -1;  // the CPU the worker and its driver are kept on; -1: not pinned
  // Guarded by the sandbox's mutex: whether the driver waits for a job, whether a caller is
  // writing one to its worker, whether it waits without a time limit, the job handed to it, and
  // how it is woken while a caller writes.
  bool idle = false;
  bool sending = false;
  bool parked = false;
  Handoff handed;
  absl::CondVar wake;
};

// A channel between the supervisor and a worker.
absl::Status OpenSocketPair(int (&fds)[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::UnavailableError(absl::StrCat("socketpair: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// True when the peer closed `fd` and everything it sent has been read.
bool AtEndOfStream(int fd) {
  char byte;
  return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) {
    return absl::StrCat("signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
  }
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  return "an unknown status";
}

// A reply, a failure the script caused (timeout, cancellation, crash), or our own failure.
using Outcome = std::variant<ipc::FromWorker, ScriptError, absl::Status>;

// A request for a worker, sent once per run: an evaluation is sent again after each connector call.
class Job {
 public:
  virtual ~Job() = default;
  // Gets the worker's next id each time it is sent.
  ipc::ToWorker message;
  absl::Time deadline = absl::InfiniteFuture();
  const Cancellation* cancellation = nullptr;  // may be null
  // The code's SHA-256, charged when a run of it has to end its worker.
  std::string sha;
  // The outcome of the run; `self` is this job, to be submitted again or let go.
  virtual void Finished(std::unique_ptr<Job> self, Outcome outcome) = 0;
};

// A job that is run once and reports its outcome.
class OneRunJob final : public Job {
 public:
  explicit OneRunJob(absl::AnyInvocable<void(Outcome) &&> done) : done_(std::move(done)) {}
  void Finished(std::unique_ptr<Job>, Outcome outcome) override {
    std::move(done_)(std::move(outcome));
  }

 private:
  absl::AnyInvocable<void(Outcome) &&> done_;
};

// Queues jobs for the workers (WorkerSandboxImpl).
class JobQueue {
 public:
  virtual ~JobQueue() = default;
  virtual void Submit(std::unique_ptr<Job> job) = 0;
};

// An evaluation across its runs. Each run ends at the script's result or at a connector call no
// earlier run answered; then the connector host makes the call (no thread waits for it, and no
// worker) and the evaluation is queued again with one more answer.
class EvaluationJob final : public Job {
 public:
  EvaluationJob(JobQueue& queue, std::string code_sha256, ConnectorHost* connector_host,
                SandboxDone done)
      : queue_(queue), connector_host_(connector_host), done_(std::move(done)) {
    result_.compile.code_sha256 = code_sha256;
    sha = std::move(code_sha256);
  }

  void Finished(std::unique_ptr<Job> self, Outcome outcome) override {
    if (auto* status = std::get_if<absl::Status>(&outcome)) return std::move(done_)(*status);
    if (auto* error = std::get_if<ScriptError>(&outcome)) {
      result_.evaluation.error = std::move(*error);
      return std::move(done_)(std::move(result_));
    }
    ipc::FromWorker& reply = std::get<ipc::FromWorker>(outcome);
    engine_time_ += absl::Nanoseconds(reply.evaluation().engine_time_nanos());
    // Later runs find the code compiled already: the first run's outcome is the one to report.
    if (!first_compile_.has_value()) first_compile_ = FromMessage(reply.compile());
    if (!reply.evaluation().suspended()) {
      result_.compile = *std::move(first_compile_);
      // The hash the caller and the decision record see is ours, not what the worker reports.
      result_.compile.code_sha256 = sha;
      result_.evaluation = FromMessage(reply.evaluation());
      result_.evaluation.engine_time = engine_time_;
      return std::move(done_)(std::move(result_));
    }
    ipc::ConnectorExchange* answered =
        AnswerFor(message.mutable_evaluate(), reply.connector_call());
    if (connector_host_ == nullptr) {
      *answered->mutable_reply() = ToMessage(
          ConnectorCallOutcome{"CONNECTOR_NOT_ALLOWED", "this evaluation may not call connectors"});
      return queue_.Submit(std::move(self));
    }
    const ipc::ConnectorCall& call = answered->call();
    connector_host_->CallAsync(
        call.connector(), call.operation(), call.params(),
        [self = std::move(self), answered](ConnectorCallOutcome outcome) mutable {
          *answered->mutable_reply() = ToMessage(std::move(outcome));
          JobQueue& queue = static_cast<EvaluationJob&>(*self).queue_;
          queue.Submit(std::move(self));
        });
  }

 private:
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

  JobQueue& queue_;
  ConnectorHost* const connector_host_;
  SandboxDone done_;
  SandboxResult result_;
  absl::Duration engine_time_;
  std::optional<CompileOutcome> first_compile_;
};

class WorkerSandboxImpl final : public WorkerSandbox, public JobQueue {
 public:
  explicit WorkerSandboxImpl(const WorkerSandboxOptions& options)
      : options_(options),
        time_source_(*options.time_source),
        workers_(options.workers),
        watcher_(mu_, time_source_,
                 [this](absl::Time now, ExpiryTimer::Due& due) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                   return TakeExpiredJobs(now, due);
                 }) {}

  ~WorkerSandboxImpl() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      for (Worker& worker : workers_) {
        worker.wake.Signal();
        Ring(worker);
      }
    }
    for (std::thread& driver : drivers_) driver.join();
    watcher_.Stop();
    // Nothing is queued once the service has drained; whatever is, is answered.
    std::deque<std::unique_ptr<Job>> left;
    {
      absl::MutexLock lock(&mu_);
      left.swap(queue_);
      for (Worker& worker : workers_) {
        if (worker.handed.job != nullptr) left.push_back(std::move(worker.handed.job));
      }
    }
    for (std::unique_ptr<Job>& job : left) Finish(std::move(job), StoppingError());
    for (Worker& worker : workers_) {
      Stop(worker);
      if (worker.doorbell >= 0) close(worker.doorbell);
    }
  }

  // Starts every worker (in parallel: each boots on its own), then their drivers.
  absl::Status StartAll() {
    for (size_t i = 0; i < workers_.size() && !options_.cpus.empty(); ++i) {
      workers_[i].cpu = options_.cpus[i % options_.cpus.size()];
    }
    for (Worker& worker : workers_) {
      worker.doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (worker.doorbell < 0) {
        return absl::UnavailableError(absl::StrCat("eventfd: ", std::strerror(errno)));
      }
      absl::Status spawned = Spawn(worker);
      if (!spawned.ok()) return spawned;
    }
    for (Worker& worker : workers_) {
      absl::Status ready = AwaitReady(worker);
      if (!ready.ok()) return ready;
    }
    for (Worker& worker : workers_) {
      drivers_.emplace_back([this, &worker] {
        NameThisThread("sandbox-driver");
        Drive(worker);
      });
      if (worker.cpu >= 0) {
        if (absl::Status pinned = PinThreadToCpu(drivers_.back().native_handle(), worker.cpu);
            !pinned.ok()) {
          return pinned;
        }
      }
    }
    watcher_.Start();
    // Ready once every driver waits for a job, so that the first runs are placed as later ones
    // are; a worker lost meanwhile and slow to come back holds up the start for a while only.
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
        +[](std::vector<Worker>* workers) {
          return std::all_of(workers->begin(), workers->end(),
                             [](const Worker& worker) { return worker.idle; });
        },
        &workers_),
        options_.start_timeout);
    return absl::OkStatus();
  }

  // Sandbox
  absl::StatusOr<SandboxResult> Evaluate(const SandboxRequest& request) override {
    return AwaitCallback<absl::StatusOr<SandboxResult>>(
        [&](SandboxDone done) { EvaluateAsync(request, std::move(done)); });
  }

  void EvaluateAsync(const SandboxRequest& request, SandboxDone done) override {
    std::string sha = Sha256Hex(request.source);
    if (IsQuarantined(sha)) {
      SandboxResult refused;
      refused.compile.code_sha256 = std::move(sha);
      refused.evaluation.error = ScriptError{
          ScriptError::Kind::kQuarantined,
          absl::StrCat("this code crashed or overran sandbox workers ", options_.quarantine_after,
                       " times and is refused for ",
                       absl::FormatDuration(options_.quarantine_duration))};
      return std::move(done)(std::move(refused));
    }
    auto job = std::make_unique<EvaluationJob>(*this, std::move(sha), request.connector_host,
                                               std::move(done));
    *job->message.mutable_evaluate() = ToMessage(request);
    // Our hash, for every run's cache lookup in the worker.
    job->message.mutable_evaluate()->set_code_sha256(job->sha);
    job->deadline = request.deadline;
    job->cancellation = request.cancellation;
    Submit(std::move(job));
  }

  absl::StatusOr<CompileOutcome> Compile(const std::string& source,
                                         TypeCheck type_check) override {
    return AwaitCallback<absl::StatusOr<CompileOutcome>>(
        [&](CompileDone done) { CompileAsync(source, type_check, std::move(done)); });
  }

  void CompileAsync(const std::string& source, TypeCheck type_check, CompileDone done) override {
    auto job = std::make_unique<OneRunJob>([done = std::move(done)](Outcome outcome) mutable {
      if (auto* status = std::get_if<absl::Status>(&outcome)) return std::move(done)(*status);
      if (auto* error = std::get_if<ScriptError>(&outcome)) {
        return std::move(done)(absl::UnavailableError(
            absl::StrCat("compiling in a sandbox worker failed: ", error->message)));
      }
      std::move(done)(FromMessage(std::get<ipc::FromWorker>(outcome).compile()));
    });
    job->message.mutable_compile()->set_source(source);
    job->message.mutable_compile()->set_check_types(type_check == TypeCheck::kRun);
    job->sha = Sha256Hex(source);
    job->deadline = time_source_.Now() + kCompileRoundTrip;
    Submit(std::move(job));
  }

  WorkerStats stats() const override {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

 private:
  static absl::Status StoppingError() {
    return absl::UnavailableError("the sandbox is stopping");
  }

  static bool IsCancelled(const Job& job) {
    return job.cancellation != nullptr && job.cancellation->IsCancelled();
  }

  static bool WritableWithoutWaiting(const Job& job) {
    return job.message.ByteSizeLong() <= kLargestFrameWrittenWithoutWaiting;
  }

  static void Finish(std::unique_ptr<Job> job, Outcome outcome) {
    Job* finishing = job.get();
    finishing->Finished(std::move(job), std::move(outcome));
  }

  // When the watcher must look at a waiting job: at its deadline, and every slice for a
  // cancellation.
  absl::Time LookAtBy(const Job& job, absl::Time now) const {
    return job.cancellation == nullptr ? job.deadline
                                       : std::min(job.deadline, now + kCancellationSlice);
  }

  // JobQueue: the job goes to the first idle driver (the lowest-numbered, so that light traffic
  // keeps to one warm worker and its compile cache), or waits behind those queued before it.
  void Submit(std::unique_ptr<Job> job) override { Enqueue(std::move(job), /*first=*/false); }

  // Sends `job` to the worker of an idle driver, or queues it (at the front when `first`: it was
  // taken from the queue and could not be run). The caller writes to the idle worker itself and
  // hands the driver the job sent: the driver, waiting on its worker's channel, wakes once, at the
  // reply, where waking it to write the job cost a thread switch more per run. A job too large to
  // write without waiting is handed to the driver unsent, and its doorbell rung.
  void Enqueue(std::unique_ptr<Job> job, bool first) {
    // A submitter is a gRPC or HTTP thread and must never wait for a worker to read; a job that
    // could make it wait its driver writes.
    const bool fits = WritableWithoutWaiting(*job);
    Worker* claimed = nullptr;
    bool ring = false;
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        claimed = IdleWorker();
        if (claimed == nullptr) {
          watcher_.LookBy(LookAtBy(*job, time_source_.Now()));
          first ? queue_.push_front(std::move(job)) : queue_.push_back(std::move(job));
          return;
        }
        if (!fits) {
          claimed->handed.job = std::move(job);
          Ring(*claimed);
          return;
        }
        claimed->sending = true;
        ring = std::exchange(claimed->parked, false);
      }
    }
    if (claimed == nullptr) return Finish(std::move(job), StoppingError());
    absl::StatusOr<WorkUnderway> sent = Send(*claimed, *job);
    {
      absl::MutexLock lock(&mu_);
      claimed->handed = Handoff{std::move(job), std::move(sent)};
      claimed->sending = false;
      claimed->wake.Signal();
      // Under the lock: once the job is handed, the sandbox may be answered and destroyed.
      if (ring) Ring(*claimed);
    }
  }

  // A driver that waits for a job and has none coming: one on the caller's CPU when workers are
  // pinned, else the lowest-numbered; null when all are busy.
  Worker* IdleWorker() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const int here = options_.cpus.empty() ? -1 : CurrentCpu();
    Worker* lowest = nullptr;
    for (Worker& worker : workers_) {
      if (!worker.idle || worker.sending || worker.handed.job != nullptr) continue;
      if (worker.cpu == here) return &worker;
      if (lowest == nullptr) lowest = &worker;
    }
    return lowest;
  }

  static void Ring(Worker& worker) {
    const uint64_t one = 1;
    if (worker.doorbell >= 0) (void)!write(worker.doorbell, &one, sizeof(one));
  }

  // A driver: the one thread that talks to `worker`. It takes the oldest waiting job, sends it
  // (and, after a short run, the next waiting one behind it), waits for the answer (killing the
  // worker if the run overruns) and finishes the job; a worker that had to die is started again
  // before the next job is taken, while the other drivers go on.
  void Drive(Worker& worker) {
    WrittenAhead ahead;
    for (;;) {
      if (worker.pid < 0 && !Restart(worker)) return;
      std::optional<Handoff> next =
          ahead.job != nullptr ? TakeWrittenAhead(worker, ahead) : Take(worker);
      if (!next.has_value()) return;
      // A worker lost while idle (killed from outside, or broken after its last reply: its
      // channel became readable) is replaced before it runs anything. A job it was sent never
      // reached it, so the job must not fail, nor count against its code: it goes back to the
      // front of the queue.
      std::unique_ptr<Job> job = std::move(next->job);
      const absl::StatusOr<WorkUnderway> sent =
          next->sent.has_value() ? *std::move(next->sent) : Send(worker, *job);
      if (absl::IsUnavailable(sent.status())) {
        Stop(worker);
        CountFailure(/*killed=*/false);
        if (job != nullptr) Enqueue(std::move(job), /*first=*/true);
        continue;
      }
      if (sent.ok()) WriteAhead(worker, *job, *sent, ahead);
      Outcome outcome =
          sent.ok() ? Exchange(worker, *job, *sent, ahead) : Unsent(worker, sent.status());
      SettleWrittenAhead(worker, ahead);
      ahead.after_short_run = WasShortRun(outcome);
      if (ahead.job == nullptr) {
        RetireIfSpent(worker);
        if (worker.pid >= 0) BecomeReady(worker);
      }
      Finish(std::move(job), std::move(outcome));
    }
  }

  // Writes the oldest waiting evaluation to the worker behind `running` (sent at `since`), when
  // the worker's last run was a short one, both fit in the channel's buffer together (so the write
  // never waits for the worker to read) and the worker is not due to retire after this run.
  void WriteAhead(Worker& worker, const Job& running, const WorkUnderway& since,
                  WrittenAhead& ahead) {
    if (!ahead.after_short_run) return;
    if (since.cpu.has_value() && *since.cpu >= options_.retire_after_cpu) return;
    const size_t running_bytes = running.message.ByteSizeLong();
    std::unique_ptr<Job> job;
    {
      absl::MutexLock lock(&mu_);
      if (queue_.empty() || !queue_.front()->message.has_evaluate()) return;
      if (running_bytes + queue_.front()->message.ByteSizeLong() >
          kLargestFrameWrittenWithoutWaiting) {
        return;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    if (absl::Status written = WriteRequest(worker, *job); !written.ok()) {
      ahead.write_failed = true;
      return Enqueue(std::move(job), /*first=*/true);
    }
    ahead.job = std::move(job);
    ahead.withdraw_at = since.wall + options_.write_ahead_patience;
  }

  // Whether `outcome` is an evaluation's that ran for less than the patience.
  bool WasShortRun(const Outcome& outcome) const {
    const auto* reply = std::get_if<ipc::FromWorker>(&outcome);
    return reply != nullptr && reply->has_evaluation() &&
           absl::Nanoseconds(reply->evaluation().engine_time_nanos()) <
               options_.write_ahead_patience;
  }

  // The job written behind the last run: the worker went on to it as it answered that run.
  Handoff TakeWrittenAhead(const Worker& worker, WrittenAhead& ahead) const {
    return Handoff{std::move(ahead.job), WorkUnderway{time_source_.Now(), CpuTimeOf(worker)}};
  }

  // Takes the job written ahead back from the worker (its run has gone on too long, or the job's
  // caller cancelled it) and queues it again, for whichever worker comes free first. The worker
  // is told with a Cancel for its id: it skips the job, or stops it should it have begun.
  absl::Status Withdraw(Worker& worker, WrittenAhead& ahead) {
    const uint64_t id = ahead.job->message.id();
    const absl::Status written = WriteCancel(worker, id, time_source_.Now() + options_.kill_grace);
    {
      absl::MutexLock lock(&mu_);
      ++stats_.withdrawals;
    }
    Enqueue(std::move(ahead.job), /*first=*/true);
    if (!written.ok()) return written;
    ahead.withdrawn_id = id;
    return absl::OkStatus();
  }

  // After a run: a job written behind it never began if the worker is gone, and is queued again;
  // the reply for a withdrawn one is read and dropped, so that the worker's next reply is for the
  // next job. A worker that cannot be trusted with its channel any more is replaced, without
  // charging anyone's code: no run of it failed.
  void SettleWrittenAhead(Worker& worker, WrittenAhead& ahead) {
    const bool channel_suspect = std::exchange(ahead.write_failed, false);
    const uint64_t withdrawn_id = std::exchange(ahead.withdrawn_id, 0);
    if (worker.pid < 0) {
      if (ahead.job != nullptr) Enqueue(std::move(ahead.job), /*first=*/true);
      return;
    }
    if (channel_suspect) {  // its job was queued again when the write failed
      Stop(worker);
      return CountFailure(/*killed=*/false);
    }
    if (withdrawn_id == 0) return;
    ipc::FromWorker dropped;
    const absl::Status read =
        ReadFrame(worker.fd, &dropped, time_source_.Now() + options_.kill_grace);
    if (read.ok() && dropped.id() == withdrawn_id) return;
    // Every request must be answered, a withdrawn one at once: this worker broke the protocol.
    Stop(worker);
    CountFailure(/*killed=*/false);
  }

  // The worker is free again before its last job is finished (answered, or sent to a vendor), as
  // its caller may come back at once: the next job goes to it, not to another worker with a cold
  // cache. It takes the oldest waiting job now, or is handed the next one submitted. The job taken
  // is written at once, so that the worker runs it while the driver finishes the last one, unless
  // the write could wait for the worker to read: that would hold up the last job's reply.
  void BecomeReady(Worker& worker) {
    Job* waiting = nullptr;
    {
      absl::MutexLock lock(&mu_);
      ClaimNextJob(worker);
      if (worker.handed.job == nullptr || worker.handed.sent.has_value()) return;
      waiting = worker.handed.job.get();
    }
    // A job handed to the driver is never claimed by a caller: the driver sizes and writes it
    // unlocked.
    if (!WritableWithoutWaiting(*waiting)) return;
    absl::StatusOr<WorkUnderway> sent = Send(worker, *waiting);
    absl::MutexLock lock(&mu_);
    worker.handed.sent = std::move(sent);
  }

  // Marks the driver idle and, unless a job was handed to it already or a caller is sending one,
  // hands it the oldest waiting one (else Enqueue sends it the next one submitted).
  void ClaimNextJob(Worker& worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    worker.idle = true;
    if (worker.handed.job != nullptr || worker.sending || queue_.empty()) return;
    worker.handed.job = std::move(queue_.front());
    queue_.pop_front();
  }

  // The job handed to this driver (sent to its worker already when a caller found it idle), else
  // the oldest waiting one, else the next one submitted. Meanwhile the driver waits on its
  // worker's channel, where the reply to a job a caller sent wakes it: every slice for a while,
  // so that it learns of such a job's deadline and cancellation in time even if no reply comes,
  // then parked, without a time limit, until its doorbell rings. When the idle worker's channel
  // becomes readable, a Handoff without a job that failed to send. Nullopt when the sandbox is
  // stopping.
  std::optional<Handoff> Take(Worker& worker) {
    const absl::Time idle_since = absl::Now();
    absl::MutexLock lock(&mu_);
    ClaimNextJob(worker);
    for (;;) {
      if (worker.sending) {
        worker.wake.Wait(&mu_);
        continue;
      }
      if (worker.handed.job != nullptr) {
        worker.idle = false;
        return std::exchange(worker.handed, Handoff{});
      }
      if (stopping_) return std::nullopt;
      worker.parked = absl::Now() - idle_since >= kParkAfter;
      const bool parked = worker.parked;
      mu_.Unlock();
      const bool readable = AwaitChannelOrDoorbell(worker, parked);
      mu_.Lock();
      worker.parked = false;
      if (readable && !worker.sending && worker.handed.job == nullptr) {
        worker.idle = false;
        return Handoff{nullptr, IdleChannelReadable()};
      }
    }
  }

  // An idle worker's channel has nothing to read, unless the worker is gone (end of stream) or
  // broke the protocol (a reply nobody asked for): it is lost.
  static absl::Status IdleChannelReadable() {
    return absl::UnavailableError("the idle worker's channel is readable");
  }

  // Waits for the idle worker's channel to become readable (true), its doorbell, or, unless
  // parked, the end of a slice.
  static bool AwaitChannelOrDoorbell(Worker& worker, bool parked) {
    pollfd fds[2] = {{worker.fd, POLLIN, 0}, {worker.doorbell, POLLIN, 0}};
    const int timeout_ms =
        parked ? -1 : static_cast<int>(absl::ToInt64Milliseconds(kPollSlice));
    if (poll(fds, 2, timeout_ms) <= 0) return false;
    if (fds[1].revents != 0) {
      uint64_t count;
      (void)!read(worker.doorbell, &count, sizeof(count));
    }
    return fds[0].revents != 0;
  }

  // The watcher's scan: answers a job that waits for a worker past its deadline (the workers are
  // all busy) or that was cancelled while waiting, so that its caller hears in time however long
  // the queue is.
  absl::Time TakeExpiredJobs(absl::Time now, ExpiryTimer::Due& due)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::Time next = absl::InfiniteFuture();
    for (auto it = queue_.begin(); it != queue_.end();) {
      const Job& job = **it;
      ScriptError error;
      if (IsCancelled(job)) {
        error = ScriptError::Cancelled();
      } else if (now >= job.deadline) {
        error = {ScriptError::Kind::kNoWorker,
                 "the deadline passed while every sandbox worker was busy"};
      } else {
        next = std::min(next, LookAtBy(job, now));
        ++it;
        continue;
      }
      due.push_back([job = std::move(*it), error = std::move(error)]() mutable {
        Finish(std::move(job), std::move(error));
      });
      it = queue_.erase(it);
    }
    return next;
  }

  // Gives `job`'s request the worker's next id and writes it; says when, and the worker's CPU
  // time then. kUnavailable when the worker is lost (the request did not reach it);
  // kDeadlineExceeded when the worker did not read it all by the job's kill deadline (see
  // Unsent); any other error is ours, and the worker is untouched.
  absl::StatusOr<WorkUnderway> Send(Worker& worker, Job& job) const {
    pollfd poll_fd{worker.fd, POLLIN, 0};
    if (poll(&poll_fd, 1, 0) != 0) return IdleChannelReadable();
    const WorkUnderway since{time_source_.Now(), CpuTimeOf(worker)};
    // A write that fails leaves an incomplete frame at most: the worker cannot have started it.
    if (absl::Status written = WriteRequest(worker, job); !written.ok()) return written;
    return since;
  }

  // Gives `job`'s request the worker's next id and writes it, waiting for room until the job's
  // kill deadline.
  absl::Status WriteRequest(Worker& worker, Job& job) const {
    job.message.set_id(worker.next_id++);
    return WriteFrame(worker.fd, job.message, job.deadline + options_.kill_grace);
  }

  // Tells the worker to stop (or skip) request `id`, waiting for room until `deadline`.
  static absl::Status WriteCancel(const Worker& worker, uint64_t id, absl::Time deadline) {
    ipc::ToWorker cancel;
    cancel.set_id(id);
    cancel.mutable_cancel();
    return WriteFrame(worker.cancel_fd, cancel, deadline);
  }

  // The outcome of a job that could not be sent (not for a lost worker: that job goes to
  // another). A worker that stopped reading it is replaced, without charging the code, which never
  // ran; any other failure is the job's own (a request over the frame cap).
  Outcome Unsent(Worker& worker, const absl::Status& status) {
    if (!absl::IsDeadlineExceeded(status)) return status;
    return Replaced(worker, "given the script", status);
  }

  // Waits for the answer to `job`, sent on `worker` at `since`, ending the worker if the run
  // overruns or breaks the channel.
  Outcome Exchange(Worker& worker, const Job& job, const WorkUnderway& since,
                   WrittenAhead& ahead) {
    const ipc::ToWorker& request = job.message;
    const std::string& sha = job.sha;
    const uint64_t id = request.id();
    absl::Time kill_at = job.deadline + options_.kill_grace;
    bool cancel_sent = false;
    for (;;) {
      const absl::Time now = time_source_.Now();
      if (!cancel_sent && IsCancelled(job)) {
        cancel_sent = true;
        kill_at = std::min(kill_at, now + options_.kill_grace);
        if (absl::Status written = WriteCancel(worker, id, kill_at); !written.ok()) {
          return Broken(worker, sha, written);
        }
      }
      if (now >= kill_at) return Killed(worker, sha, cancel_sent, since);
      if (ahead.job != nullptr && (now >= ahead.withdraw_at || IsCancelled(*ahead.job))) {
        if (absl::Status withdrawn = Withdraw(worker, ahead); !withdrawn.ok()) {
          return Broken(worker, sha, withdrawn);
        }
      }

      pollfd poll_fd{worker.fd, POLLIN, 0};
      const absl::Duration wait =
          std::min({kPollSlice, kill_at - now,
                    ahead.job != nullptr ? ahead.withdraw_at - now : absl::InfiniteDuration()});
      const int ready = poll(&poll_fd, 1, static_cast<int>(absl::ToInt64Milliseconds(
                                               absl::Ceil(wait, absl::Milliseconds(1)))));
      if (ready <= 0) continue;
      ipc::FromWorker reply;
      // A reply that has started arrives in full at once; the kill deadline still bounds it.
      if (absl::Status read = ReadFrame(worker.fd, &reply, kill_at); !read.ok()) {
        return Broken(worker, sha, read);
      }
      // A worker answers its requests in order, and every request given up on ends its worker
      // (a withdrawn one's reply is read before the next run's): another id is not a late answer
      // but a worker that lost track of the conversation.
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

  // The worker's CPU time so far; nullopt when the kernel cannot say (the process is gone).
  static std::optional<absl::Duration> CpuTimeOf(const Worker& worker) {
    timespec used;
    if (!worker.cpu_clock.has_value() || clock_gettime(*worker.cpu_clock, &used) != 0) {
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
    if (cancelled) return ScriptError::Cancelled();
    return ScriptError{ScriptError::Kind::kTimeout,
                       "the script ran past its time limit inside a native built-in and its "
                       "sandbox worker was stopped"};
  }

  // The channel to a worker running `sha` failed (`channel` says how): the worker died, or is
  // alive but can no longer be trusted to answer.
  Outcome Broken(Worker& worker, const std::string& sha, const absl::Status& channel) {
    ScriptError crashed = Replaced(worker, "running the script", channel);
    ChargeCode(sha);
    return crashed;
  }

  // Stops a worker whose channel failed and counts it as a crash. `role`: what the worker was to
  // the script, for the message.
  ScriptError Replaced(Worker& worker, absl::string_view role, const absl::Status& channel) {
    const std::string how = Stop(worker);
    CountFailure(/*killed=*/false);
    return ScriptError{ScriptError::Kind::kCrashed,
                       absl::StrCat("the sandbox worker ", role, " failed (channel: ",
                                    channel.message(), "; process: ", how,
                                    "); it has been replaced")};
  }

  // Starts `worker` again (it had to die, or was retired); false when the sandbox stops first. A
  // worker that cannot start is retried: the failure shows in the starts count not moving.
  bool Restart(Worker& worker) {
    for (;;) {
      absl::Status started = Spawn(worker);
      if (started.ok()) started = AwaitReady(worker);
      if (started.ok()) return true;
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), kRestartBackoff)) return false;
    }
  }

  // A worker that has used its CPU budget is replaced between two runs.
  void RetireIfSpent(Worker& worker) {
    if (worker.pid < 0) return;
    const std::optional<absl::Duration> used = CpuTimeOf(worker);
    if (!used.has_value() || *used < options_.retire_after_cpu) return;
    Stop(worker);
    absl::MutexLock lock(&mu_);
    ++stats_.retirements;
  }

  absl::Status Spawn(Worker& worker) {
    int fds[2];
    int cancel_fds[2];
    if (absl::Status opened = OpenSocketPair(fds); !opened.ok()) return opened;
    if (absl::Status opened = OpenSocketPair(cancel_fds); !opened.ok()) {
      close(fds[0]);
      close(fds[1]);
      return opened;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], kWorkerChannelFd);
    posix_spawn_file_actions_adddup2(&actions, cancel_fds[1], kWorkerCancelFd);
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
    close(cancel_fds[1]);
    if (error != 0) {
      close(fds[0]);
      close(cancel_fds[0]);
      return absl::UnavailableError(absl::StrCat("cannot start sandbox worker ",
                                                 options_.worker_binary, ": ",
                                                 std::strerror(error)));
    }
    worker.pid = pid;
    worker.fd = fds[0];
    worker.cancel_fd = cancel_fds[0];
    // Before the worker starts a thread of its own (it reads its runtime first): they inherit it.
    if (worker.cpu >= 0) {
      if (absl::Status pinned = PinProcessToCpu(pid, worker.cpu); !pinned.ok()) {
        Stop(worker);
        return absl::UnavailableError(absl::StrCat("sandbox worker: ", pinned.message()));
      }
    }
    clockid_t cpu_clock;
    if (clock_getcpuclockid(pid, &cpu_clock) == 0) worker.cpu_clock = cpu_clock;
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
    close(worker.cancel_fd);
    worker.pid = -1;
    worker.cpu_clock.reset();
    worker.fd = -1;
    worker.cancel_fd = -1;
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
  // The vector never changes size; each Worker belongs to its driver (and, before the drivers
  // start and after they end, to the constructing and destroying thread).
  std::vector<Worker> workers_;
  std::vector<std::thread> drivers_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Jobs waiting for a worker, oldest first.
  std::deque<std::unique_ptr<Job>> queue_ ABSL_GUARDED_BY(mu_);
  WorkerStats stats_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::deque<absl::Time>> failures_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> quarantined_until_ ABSL_GUARDED_BY(mu_);
  ExpiryTimer watcher_;
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
