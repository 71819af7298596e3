// Supervised sandbox workers: real worker processes (the server binary in worker mode).
#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <sched.h>

#include <atomic>
#include <deque>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/await_callback.h"
#include "common/cancellation.h"
#include "common/cpu_affinity.h"
#include "common/time_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sandbox/worker_lockdown.h"
#include "sandbox/worker_sandbox.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::sandbox {
namespace {

using ::evaluatecode::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// The pids of this process's children that run as sandbox workers.
std::vector<pid_t> WorkerPids() {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  while (dirent* entry = readdir(proc)) {
    const pid_t pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string ignored, state;
    pid_t parent = 0;
    // pid (comm) state ppid: comm has no spaces for our binary.
    if (stat >> ignored >> ignored >> state >> parent && parent == getpid()) pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

// The CPUs `task` (a process, or a thread of this one) may run on.
std::vector<int> CpusOf(pid_t task) {
  cpu_set_t allowed;
  std::vector<int> cpus;
  if (sched_getaffinity(task, sizeof(allowed), &allowed) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  return cpus;
}

// The thread ids of this process's threads called `name`.
std::vector<pid_t> ThreadsNamed(const std::string& name) {
  std::vector<pid_t> tids;
  DIR* tasks = opendir("/proc/self/task");
  while (dirent* entry = readdir(tasks)) {
    std::string comm;
    if (std::getline(std::ifstream(absl::StrCat("/proc/self/task/", entry->d_name, "/comm")),
                     comm) &&
        comm == name) {
      tids.push_back(std::atoi(entry->d_name));
    }
  }
  closedir(tasks);
  return tids;
}

class WorkerSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(sandbox_, NewWorkerSandbox(Options())); }

  WorkerSandboxOptions Options() {
    WorkerSandboxOptions options;
    options.worker_binary =
        absl::StrCat(std::getenv("TEST_SRCDIR"), "/evaluatecode/service/evaluate_server");
    options.worker_args = {"--sandbox_worker"};
    options.workers = 2;
    options.kill_grace = absl::Milliseconds(100);
    options.quarantine_after = 2;
    options.time_source = &time_;
    return options;
  }

  SandboxResult Run(const std::string& source, absl::Duration timeout = absl::Seconds(5),
                    const Cancellation* cancellation = nullptr) {
    SandboxRequest request;
    request.source = source;
    request.deadline = time_.Now() + timeout;
    request.cancellation = cancellation;
    absl::StatusOr<SandboxResult> result = sandbox_->Evaluate(request);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : SandboxResult{};
  }

  // Replaces the sandbox with one of a single worker, started with `extra_worker_args` as well.
  void UseOneWorker(const std::vector<std::string>& extra_worker_args = {}) {
    WorkerSandboxOptions options = Options();
    options.workers = 1;
    options.worker_args.insert(options.worker_args.end(), extra_worker_args.begin(),
                               extra_worker_args.end());
    sandbox_.reset();
    ASSERT_OK_AND_ASSIGN(sandbox_, NewWorkerSandbox(options));
  }
  // ... whose scripts see `connectors.vendor.lookup`.
  void UseOneWorkerWithAVendor() { UseOneWorker({"--sandbox_worker_connectors=vendor:=lookup"}); }

  RealTimeSource time_;
  std::unique_ptr<WorkerSandbox> sandbox_;
};

TEST_F(WorkerSandboxTest, EvaluatesInAWorker) {
  SandboxResult result = Run("console.log('in worker'); return 6 * 7;");
  ASSERT_TRUE(result.compile.compiled());
  ASSERT_FALSE(result.evaluation.error.has_value()) << result.evaluation.error->message;
  EXPECT_EQ(result.evaluation.result.number_value(), 42);
  ASSERT_EQ(result.evaluation.logs.size(), 1u);
  EXPECT_EQ(result.evaluation.logs[0].message, "in worker");
  EXPECT_EQ(result.compile.code_sha256.size(), 64u);
  EXPECT_EQ(WorkerPids().size(), 2u);
}

TEST_F(WorkerSandboxTest, PinnedWorkersAndTheirDriversRunOnlyOnTheirCpu) {
  ASSERT_OK_AND_ASSIGN(std::vector<int> allowed, AllowedCpus());
  WorkerSandboxOptions options = Options();
  // Worker i on allowed[i % n]: on one CPU both share it.
  options.cpus = {allowed.front(), allowed.back()};
  sandbox_.reset();
  ASSERT_OK_AND_ASSIGN(sandbox_, NewWorkerSandbox(options));
  EXPECT_EQ(Run("return 1;").evaluation.result.number_value(), 1);

  const std::multiset<std::vector<int>> expected = {{allowed.front()}, {allowed.back()}};
  std::multiset<std::vector<int>> workers, drivers;
  for (pid_t pid : WorkerPids()) workers.insert(CpusOf(pid));
  for (pid_t tid : ThreadsNamed("sandbox-driver")) drivers.insert(CpusOf(tid));
  EXPECT_EQ(workers, expected);
  EXPECT_EQ(drivers, expected);
  // This thread, the caller, is not pinned.
  EXPECT_EQ(CpusOf(0), allowed);

  // Replacements are pinned as their predecessors were.
  for (pid_t pid : WorkerPids()) kill(pid, SIGKILL);
  for (int i = 0; i < 200 && sandbox_->stats().starts < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(sandbox_->stats().starts, 4);
  EXPECT_EQ(Run("return 2;").evaluation.result.number_value(), 2);
  workers.clear();
  for (pid_t pid : WorkerPids()) workers.insert(CpusOf(pid));
  EXPECT_EQ(workers, expected);
}

TEST_F(WorkerSandboxTest, ARunGoesToTheIdleWorkerOnItsCallersCpu) {
  ASSERT_OK_AND_ASSIGN(std::vector<int> allowed, AllowedCpus());
  if (allowed.size() < 2) GTEST_SKIP() << "needs two CPUs";
  WorkerSandboxOptions options = Options();
  options.cpus = {allowed[0], allowed[1]};
  sandbox_.reset();
  ASSERT_OK_AND_ASSIGN(sandbox_, NewWorkerSandbox(options));
  // Each worker has a compile cache of its own: a miss says the code had not run on that worker.
  auto cache_hit_on = [this](int cpu) {
    bool hit = false;
    std::thread caller([&] {
      ASSERT_OK(PinThreadToCpu(pthread_self(), cpu));
      hit = Run("return 'on a CPU';").compile.cache_hit;
    });
    caller.join();
    return hit;
  };
  // Unpinned, all three would go to the lowest-numbered worker, the one on allowed[0].
  EXPECT_FALSE(cache_hit_on(allowed[1]));
  EXPECT_TRUE(cache_hit_on(allowed[1]));
  EXPECT_FALSE(cache_hit_on(allowed[0]));
  EXPECT_TRUE(cache_hit_on(allowed[0]));
}

TEST_F(WorkerSandboxTest, AWorkerThatCannotBePinnedIsNotStarted) {
  WorkerSandboxOptions options = Options();
  options.cpus = {CPU_SETSIZE - 1};  // not a CPU this process may use
  sandbox_.reset();
  EXPECT_THAT(NewWorkerSandbox(options),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("sandbox worker"),
                             HasSubstr(absl::StrCat("pinning to CPU ", CPU_SETSIZE - 1)))));
  EXPECT_THAT(WorkerPids(), ::testing::IsEmpty());
}

TEST_F(WorkerSandboxTest, AWorkerIsSentTheInputsBytesWhenTheCallerHasThem) {
  google::protobuf::Struct input;
  (*input.mutable_fields())["a"].set_number_value(1);
  SandboxRequest request;
  request.source = "return input.a;";
  request.input = &input;
  request.deadline = time_.Now() + absl::Seconds(5);
  ASSERT_OK_AND_ASSIGN(SandboxResult parsed, sandbox_->Evaluate(request));
  EXPECT_EQ(parsed.evaluation.result.number_value(), 1);
  // The bytes win: the supervisor does not serialize `input` again.
  google::protobuf::Struct as_sent;
  (*as_sent.mutable_fields())["a"].set_number_value(2);
  const std::string bytes = as_sent.SerializeAsString();
  request.serialized_input = &bytes;
  ASSERT_OK_AND_ASSIGN(SandboxResult forwarded, sandbox_->Evaluate(request));
  EXPECT_EQ(forwarded.evaluation.result.number_value(), 2);
}

TEST_F(WorkerSandboxTest, SyntaxErrorsComeBackAsDiagnostics) {
  SandboxResult result = Run("return {;");
  EXPECT_FALSE(result.compile.compiled());
  absl::StatusOr<CompileOutcome> compiled = sandbox_->Compile("return 1;", TypeCheck::kRun);
  ASSERT_TRUE(compiled.ok());
  EXPECT_TRUE(compiled->compiled());
}

TEST_F(WorkerSandboxTest, ANativeBuiltInThatIgnoresTheClockIsKilledAtTheDeadlinePlusGrace) {
  const char* const kNativeOverruns[] = {
      "return /(a+)+b/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');",
      "var a = []; a[2e7] = 1; return a.join().length;",
  };
  for (const char* script : kNativeOverruns) {
    SCOPED_TRACE(script);
    const absl::Time start = absl::Now();
    SandboxResult result = Run(script, absl::Milliseconds(200));
    const absl::Duration elapsed = absl::Now() - start;
    ASSERT_TRUE(result.evaluation.error.has_value());
    EXPECT_EQ(result.evaluation.error->kind, ScriptError::Kind::kTimeout);
    EXPECT_GE(elapsed, absl::Milliseconds(200));
    EXPECT_LT(elapsed, absl::Milliseconds(200 + 100 + 150));  // deadline + grace + slack
    // The killed worker was replaced: both workers serve again.
    SandboxResult next = Run("return 'alive';");
    ASSERT_FALSE(next.evaluation.error.has_value());
    EXPECT_EQ(next.evaluation.result.string_value(), "alive");
  }
  EXPECT_EQ(sandbox_->stats().kills, 2);
  // Replacements boot in the background.
  for (int i = 0; i < 200 && sandbox_->stats().starts < 4; ++i) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(sandbox_->stats().starts, 4);
}

// CPU ticks (utime + stime) a process has used.
long CpuTicks(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string field;
  long ticks = 0;
  for (int i = 1; i <= 15 && stat >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::atol(field.c_str());
  }
  return ticks;
}

// The worker running an evaluation now: the one whose CPU time grows over 200 ms (total ticks
// alone can point at an idle worker that spent more starting up).
pid_t BusiestWorker() {
  const std::vector<pid_t> pids = WorkerPids();
  std::vector<long> before;
  for (pid_t pid : pids) before.push_back(CpuTicks(pid));
  absl::SleepFor(absl::Milliseconds(200));
  pid_t busiest = -1;
  long most = -1;
  for (size_t i = 0; i < pids.size(); ++i) {
    const long grew = CpuTicks(pids[i]) - before[i];
    if (grew > most) {
      most = grew;
      busiest = pids[i];
    }
  }
  return busiest;
}

TEST_F(WorkerSandboxTest, AWorkerThatDiesMidEvaluationIsAnsweredCrashedAndReplaced) {
  std::thread killer([] {
    absl::SleepFor(absl::Milliseconds(300));
    kill(BusiestWorker(), SIGKILL);
  });
  SandboxResult result = Run("while (true) {}", absl::Seconds(5));
  killer.join();
  ASSERT_TRUE(result.evaluation.error.has_value());
  EXPECT_EQ(result.evaluation.error->kind, ScriptError::Kind::kCrashed);
  EXPECT_THAT(result.evaluation.error->message, HasSubstr("signal 9"));
  // The other worker serves at once; the killed one is replaced in the background.
  for (int i = 0; i < 3; ++i) {
    SandboxResult next = Run("return 1;");
    ASSERT_FALSE(next.evaluation.error.has_value()) << next.evaluation.error->message;
  }
  EXPECT_EQ(sandbox_->stats().crashes, 1);
}

// A caller that finds a driver idle writes the job to its worker itself; a driver idle for a
// while waits without a time limit (parked) until its doorbell rings. Its runs must still end at
// their deadlines and cancellations.
TEST_F(WorkerSandboxTest, AJobSentToTheWorkerOfAParkedDriverStillEndsAtItsDeadlineOrCancellation) {
  const absl::Duration kLongerThanAnyDriverStaysUnparked = absl::Milliseconds(400);
  absl::SleepFor(kLongerThanAnyDriverStaysUnparked);
  absl::Time start = absl::Now();
  SandboxResult overran = Run(
      "return /(a+)+b/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');",
      absl::Milliseconds(200));
  absl::Duration elapsed = absl::Now() - start;
  ASSERT_TRUE(overran.evaluation.error.has_value());
  EXPECT_EQ(overran.evaluation.error->kind, ScriptError::Kind::kTimeout);
  EXPECT_LT(elapsed, absl::Milliseconds(200 + 100 + 150));  // deadline + grace + slack

  absl::SleepFor(kLongerThanAnyDriverStaysUnparked);
  Cancellation cancellation;
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(200));
    cancellation.Cancel(CancellationCause::kCallerCancelled);
  });
  start = absl::Now();
  SandboxResult cancelled = Run("while (true) {}", absl::Seconds(10), &cancellation);
  elapsed = absl::Now() - start;
  canceller.join();
  ASSERT_TRUE(cancelled.evaluation.error.has_value());
  EXPECT_EQ(cancelled.evaluation.error->kind, ScriptError::Kind::kCancelled);
  EXPECT_LT(elapsed, absl::Seconds(1));
  EXPECT_EQ(sandbox_->stats().kills, 1);  // the regex's worker; the loop stopped itself
}

// A submitter (a gRPC or HTTP thread in the service) writes a job to an idle worker itself only
// when the frame fits in the socket's buffer: a larger one its driver writes, so that a worker
// that does not read (stopped here) holds up its own driver, never the submitter.
TEST_F(WorkerSandboxTest, ASubmitterNeverWaitsForAWorkerToReadALargeJob) {
  ASSERT_NO_FATAL_FAILURE(UseOneWorker());
  const std::vector<pid_t> pids = WorkerPids();
  ASSERT_EQ(pids.size(), 1u);
  const std::string large_source =
      absl::StrCat("/*", std::string(1 << 20, 'x'), "*/ return 'read';");
  ASSERT_EQ(kill(pids[0], SIGSTOP), 0);
  // Resumed whatever happens, so that a submitter that does wait fails the test, not hangs it.
  std::thread resumer([pid = pids[0]] {
    absl::SleepFor(absl::Milliseconds(1500));
    kill(pid, SIGCONT);
  });
  SandboxRequest request;
  request.source = large_source;
  request.deadline = time_.Now() + absl::Seconds(30);
  absl::Notification answered;
  absl::StatusOr<SandboxResult> result;
  const absl::Time start = absl::Now();
  sandbox_->EvaluateAsync(request, [&](absl::StatusOr<SandboxResult> outcome) {
    result = std::move(outcome);
    answered.Notify();
  });
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  resumer.join();
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_FALSE(result->evaluation.error.has_value()) << result->evaluation.error->message;
  EXPECT_EQ(result->evaluation.result.string_value(), "read");
}

// A driver writes the oldest waiting job to its worker before it finishes the last one (its
// callback answers the caller, on the driver's thread): the worker does not sit idle meanwhile.
TEST_F(WorkerSandboxTest, AWorkerRunsTheNextWaitingJobWhileItsDriverFinishesTheLast) {
  ASSERT_NO_FATAL_FAILURE(UseOneWorker());
  const std::vector<pid_t> pids = WorkerPids();
  ASSERT_EQ(pids.size(), 1u);
  // Stopped until both jobs are submitted, so that the second waits behind the first.
  ASSERT_EQ(kill(pids[0], SIGSTOP), 0);
  SandboxRequest first;
  first.source = "return 1;";
  first.deadline = time_.Now() + absl::Seconds(30);
  bool second_ran_meanwhile = false;
  absl::Notification first_finished;
  sandbox_->EvaluateAsync(first, [&](absl::StatusOr<SandboxResult>) {
    const long before = CpuTicks(pids[0]);
    for (int i = 0; i < 300 && !second_ran_meanwhile; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
      second_ran_meanwhile = CpuTicks(pids[0]) - before >= 5;
    }
    first_finished.Notify();
  });
  Cancellation cancellation;
  SandboxRequest second;
  second.source = "while (true) {}";
  second.deadline = time_.Now() + absl::Seconds(30);
  second.cancellation = &cancellation;
  absl::Notification second_finished;
  absl::StatusOr<SandboxResult> second_result;
  sandbox_->EvaluateAsync(second, [&](absl::StatusOr<SandboxResult> outcome) {
    second_result = std::move(outcome);
    second_finished.Notify();
  });
  ASSERT_EQ(kill(pids[0], SIGCONT), 0);
  ASSERT_TRUE(first_finished.WaitForNotificationWithTimeout(absl::Seconds(20)));
  cancellation.Cancel(CancellationCause::kCallerCancelled);
  ASSERT_TRUE(second_finished.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_TRUE(second_ran_meanwhile);
  ASSERT_TRUE(second_result.ok()) << second_result.status();
  ASSERT_TRUE(second_result->evaluation.error.has_value());
  EXPECT_EQ(second_result->evaluation.error->kind, ScriptError::Kind::kCancelled);
}

// An idle driver waits on its worker's channel, so a worker that dies while idle is replaced
// then, with no job involved, not when the next job finds it gone.
TEST_F(WorkerSandboxTest, AWorkerThatDiesWhileIdleIsReplacedBeforeItIsGivenAJob) {
  const std::vector<pid_t> pids = WorkerPids();
  ASSERT_EQ(pids.size(), 2u);
  for (pid_t pid : pids) kill(pid, SIGKILL);
  for (int i = 0; i < 200 && sandbox_->stats().starts < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(sandbox_->stats().starts, 4);
  EXPECT_EQ(sandbox_->stats().crashes, 2);
  EXPECT_EQ(sandbox_->stats().kills, 0);
  SandboxResult result = Run("return 'served';");
  ASSERT_FALSE(result.evaluation.error.has_value()) << result.evaluation.error->message;
  EXPECT_EQ(result.evaluation.result.string_value(), "served");
}

TEST_F(WorkerSandboxTest, CodeThatKeepsKillingWorkersIsQuarantined) {
  const std::string bomb = "var a = []; a[3e7] = 1; return a.join().length;";
  for (int i = 0; i < 2; ++i) {
    SandboxResult result = Run(bomb, absl::Milliseconds(100));
    ASSERT_TRUE(result.evaluation.error.has_value());
    EXPECT_EQ(result.evaluation.error->kind, ScriptError::Kind::kTimeout);
  }
  const absl::Time start = absl::Now();
  SandboxResult refused = Run(bomb, absl::Milliseconds(100));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(50));
  ASSERT_TRUE(refused.evaluation.error.has_value());
  EXPECT_EQ(refused.evaluation.error->kind, ScriptError::Kind::kQuarantined);
  EXPECT_FALSE(Run("return 'other code';").evaluation.error.has_value());
}

TEST_F(WorkerSandboxTest, AWorkerStarvedOfCpuIsReplacedWithoutBlamingItsCode) {
  // About a second of work, given 150 ms (it cannot finish first); the workers are frozen
  // (SIGSTOP) 10 ms in, as a machine too loaded to schedule them would: each evaluation overruns
  // and its worker is replaced, but the code burned no CPU past its deadline and must not be
  // quarantined (quarantine_after = 2).
  const std::string work = "var x = 0; for (var i = 0; i < 1.5e7; i++) x += i; return x > 0;";
  for (int i = 0; i < 2; ++i) {
    std::thread freezer([] {
      absl::SleepFor(absl::Milliseconds(10));
      for (pid_t pid : WorkerPids()) kill(pid, SIGSTOP);
    });
    SandboxResult result = Run(work, absl::Milliseconds(150));
    freezer.join();
    ASSERT_TRUE(result.evaluation.error.has_value());
    EXPECT_EQ(result.evaluation.error->kind, ScriptError::Kind::kTimeout);
  }
  for (pid_t pid : WorkerPids()) kill(pid, SIGCONT);
  SandboxResult again = Run(work, absl::Seconds(10));
  ASSERT_FALSE(again.evaluation.error.has_value()) << again.evaluation.error->message;
  EXPECT_EQ(sandbox_->stats().kills, 2);
}

TEST_F(WorkerSandboxTest, AWorkerPastItsCpuBudgetIsReplacedBetweenEvaluations) {
  WorkerSandboxOptions options = Options();
  options.workers = 1;
  options.retire_after_cpu = absl::Milliseconds(1);  // every worker is past it after one call
  ASSERT_OK_AND_ASSIGN(sandbox_, NewWorkerSandbox(options));
  for (int i = 0; i < 3; ++i) {
    SandboxResult result = Run("return 6 * 7;");
    ASSERT_FALSE(result.evaluation.error.has_value()) << result.evaluation.error->message;
  }
  EXPECT_EQ(sandbox_->stats().retirements, 3);
  EXPECT_EQ(sandbox_->stats().kills, 0);
  EXPECT_EQ(sandbox_->stats().crashes, 0);
}

TEST_F(WorkerSandboxTest, RlimitCpuEndsARunawayTheSupervisorDidNotStop) {
  WorkerSandboxOptions options = Options();
  options.workers = 1;
  options.worker_args.push_back("--sandbox_worker_cpu_limit_s=3");
  options.kill_grace = absl::Minutes(1);  // as if the supervisor's kill had failed
  ASSERT_OK_AND_ASSIGN(sandbox_, NewWorkerSandbox(options));
  const absl::Time start = absl::Now();
  SandboxResult result =
      Run("return /(a+)+$/.test(new Array(40).join('a') + '!');", absl::Seconds(30));
  ASSERT_TRUE(result.evaluation.error.has_value());
  EXPECT_EQ(result.evaluation.error->kind, ScriptError::Kind::kCrashed);
  EXPECT_THAT(result.evaluation.error->message, HasSubstr("CPU time limit exceeded"));
  // Start-up (about a second of CPU) plus the regex reach the 3 s.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(WorkerSandboxTest, CancellationStopsTheScriptInTheWorker) {
  Cancellation cancellation;
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(200));
    cancellation.Cancel(CancellationCause::kCallerCancelled);
  });
  const absl::Time start = absl::Now();
  SandboxResult result = Run("while (true) {}", absl::Seconds(10), &cancellation);
  canceller.join();
  ASSERT_TRUE(result.evaluation.error.has_value());
  EXPECT_EQ(result.evaluation.error->kind, ScriptError::Kind::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(sandbox_->stats().kills, 0);  // the worker stopped the script itself
}

// The Cancel goes out right behind the request, on a channel of its own: whichever the worker
// reads first, the run stops there, and the next run on that worker is not cancelled by it.
TEST_F(WorkerSandboxTest, CancelSentWithTheRequestStopsThatRunOnly) {
  for (int i = 0; i < 10; ++i) {
    Cancellation cancellation;
    cancellation.Cancel(CancellationCause::kCallerCancelled);
    SandboxResult cancelled = Run("while (true) {}", absl::Seconds(10), &cancellation);
    ASSERT_TRUE(cancelled.evaluation.error.has_value());
    EXPECT_EQ(cancelled.evaluation.error->kind, ScriptError::Kind::kCancelled);
    SandboxResult next = Run("return 7;");
    EXPECT_FALSE(next.evaluation.error.has_value()) << next.evaluation.error->message;
    EXPECT_EQ(next.evaluation.result.number_value(), 7);
  }
  EXPECT_EQ(sandbox_->stats().kills, 0);
}

// An evaluation submitted without waiting for it, and when it was answered.
struct Submitted {
  absl::Notification answered;
  absl::StatusOr<SandboxResult> result;
  absl::Time answered_at;
};

void Submit(WorkerSandbox& sandbox, const std::string& source, absl::Duration timeout,
            Submitted& submitted, const Cancellation* cancellation = nullptr) {
  SandboxRequest request;
  request.source = source;
  request.deadline = absl::Now() + timeout;
  request.cancellation = cancellation;
  sandbox.EvaluateAsync(request, [&submitted](absl::StatusOr<SandboxResult> result) {
    submitted.result = std::move(result);
    submitted.answered_at = absl::Now();
    submitted.answered.Notify();
  });
}

// With every worker busy, a driver writes the next waiting job behind the run it starts; when
// that run is a long one, the job is taken back and run by the first worker that comes free,
// instead of waiting for the long run to end.
TEST_F(WorkerSandboxTest, AJobWrittenBehindALongRunIsTakenBackForAWorkerThatComesFree) {
  const std::vector<pid_t> pids = WorkerPids();
  ASSERT_EQ(pids.size(), 2u);
  // Stopped while jobs are submitted: one worker is sent the first, the other the second, and
  // the rest wait. Each worker first gets a warm heap, so that its next short run is short.
  Submitted warm[2];
  for (pid_t pid : pids) ASSERT_EQ(kill(pid, SIGSTOP), 0);
  for (Submitted& each : warm) Submit(*sandbox_, "return 0;", absl::Seconds(10), each);
  for (pid_t pid : pids) ASSERT_EQ(kill(pid, SIGCONT), 0);
  for (Submitted& each : warm) each.answered.WaitForNotification();
  for (pid_t pid : pids) ASSERT_EQ(kill(pid, SIGSTOP), 0);
  Submitted first, second, long_run, short_run;
  Submit(*sandbox_, "var end = Date.now() + 600; while (Date.now() < end) {}", absl::Seconds(10),
         first);
  Submit(*sandbox_, "return 0;", absl::Seconds(10), second);
  Submit(*sandbox_, "var end = Date.now() + 4000; while (Date.now() < end) {} return 'long';",
         absl::Seconds(20), long_run);
  Submit(*sandbox_, "return 'short';", absl::Seconds(20), short_run);
  // The worker done with the short second run takes the long one, and the short one behind it.
  for (pid_t pid : pids) ASSERT_EQ(kill(pid, SIGCONT), 0);
  ASSERT_TRUE(short_run.answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(long_run.answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(short_run.result.ok()) << short_run.result.status();
  ASSERT_FALSE(short_run.result->evaluation.error.has_value())
      << short_run.result->evaluation.error->message;
  EXPECT_EQ(short_run.result->evaluation.result.string_value(), "short");
  ASSERT_TRUE(long_run.result.ok()) << long_run.result.status();
  EXPECT_EQ(long_run.result->evaluation.result.string_value(), "long");
  EXPECT_LT(short_run.answered_at, long_run.answered_at);
  EXPECT_EQ(sandbox_->stats().withdrawals, 1);
  EXPECT_EQ(sandbox_->stats().kills, 0);
  EXPECT_EQ(sandbox_->stats().crashes, 0);
  first.answered.WaitForNotification();
  second.answered.WaitForNotification();
}

// A sandbox of one worker whose driver keeps a job written behind a run however long the run
// takes, so that what happens to that job while the run goes on can be seen.
class WrittenAheadTest : public WorkerSandboxTest {
 protected:
  void SetUp() override {
    WorkerSandboxOptions options = Options();
    options.workers = 1;
    options.write_ahead_patience = absl::Minutes(1);
    ASSERT_OK_AND_ASSIGN(sandbox_, NewWorkerSandbox(options));
  }

  // Runs `before` and then `running`, with `behind` written to the worker behind `running`: the
  // worker is stopped while all three are submitted, so the driver finds the last two queued.
  void RunWithAJobBehind(Submitted& before, Submitted& running, Submitted& behind,
                         const Cancellation* behind_cancellation = nullptr) {
    const std::vector<pid_t> pids = WorkerPids();
    ASSERT_EQ(pids.size(), 1u);
    ASSERT_EQ(kill(pids[0], SIGSTOP), 0);
    Submit(*sandbox_, "return 'before';", absl::Seconds(30), before);
    Submit(*sandbox_, "var end = Date.now() + 3000; while (Date.now() < end) {}",
           absl::Seconds(30), running);
    Submit(*sandbox_, "return 'behind';", absl::Seconds(30), behind, behind_cancellation);
    ASSERT_EQ(kill(pids[0], SIGCONT), 0);
    ASSERT_TRUE(before.answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    absl::SleepFor(absl::Milliseconds(200));  // the long run is under way
  }
};

// A job written behind a run never began if that run ended its worker: it runs on the
// replacement instead of failing with it.
TEST_F(WrittenAheadTest, AJobBehindARunThatEndsItsWorkerRunsOnTheReplacement) {
  Submitted before, running, behind;
  ASSERT_NO_FATAL_FAILURE(RunWithAJobBehind(before, running, behind));
  const std::vector<pid_t> pids = WorkerPids();
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(kill(pids[0], SIGKILL), 0);
  ASSERT_TRUE(running.answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(running.result.ok()) << running.result.status();
  ASSERT_TRUE(running.result->evaluation.error.has_value());
  EXPECT_EQ(running.result->evaluation.error->kind, ScriptError::Kind::kCrashed);
  ASSERT_TRUE(behind.answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(behind.result.ok()) << behind.result.status();
  ASSERT_FALSE(behind.result->evaluation.error.has_value())
      << behind.result->evaluation.error->message;
  EXPECT_EQ(behind.result->evaluation.result.string_value(), "behind");
  EXPECT_EQ(sandbox_->stats().crashes, 1);
  EXPECT_EQ(sandbox_->stats().withdrawals, 0);
}

// A caller that cancels a job written behind a run hears at once, not when the run ends; the
// worker skips the job and stays.
TEST_F(WrittenAheadTest, AJobBehindARunIsAnsweredAtItsCancellation) {
  Submitted before, running, behind;
  Cancellation cancellation;
  ASSERT_NO_FATAL_FAILURE(RunWithAJobBehind(before, running, behind, &cancellation));
  const absl::Time cancelled_at = absl::Now();
  cancellation.Cancel(CancellationCause::kCallerCancelled);
  ASSERT_TRUE(behind.answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_LT(behind.answered_at - cancelled_at, absl::Seconds(1));
  ASSERT_TRUE(behind.result.ok()) << behind.result.status();
  ASSERT_TRUE(behind.result->evaluation.error.has_value());
  EXPECT_EQ(behind.result->evaluation.error->kind, ScriptError::Kind::kCancelled);
  EXPECT_FALSE(running.answered.HasBeenNotified());
  ASSERT_TRUE(running.answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(running.result.ok()) << running.result.status();
  EXPECT_FALSE(running.result->evaluation.error.has_value());
  // The worker read the withdrawn job's skip and goes on.
  SandboxResult next = Run("return 7;");
  ASSERT_FALSE(next.evaluation.error.has_value()) << next.evaluation.error->message;
  EXPECT_EQ(next.evaluation.result.number_value(), 7);
  EXPECT_EQ(sandbox_->stats().withdrawals, 1);
  EXPECT_EQ(sandbox_->stats().kills, 0);
  EXPECT_EQ(sandbox_->stats().crashes, 0);
}

TEST_F(WorkerSandboxTest, ConcurrentEvaluationsEachGetTheirOwnAnswer) {
  std::vector<std::thread> callers;
  std::vector<int> wrong(6, 0);
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        SandboxResult result = Run(absl::StrCat("return ", t * 100 + i, ";"));
        if (result.evaluation.error.has_value() ||
            result.evaluation.result.number_value() != t * 100 + i) {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_THAT(wrong, ::testing::Each(0));
}

// A vendor that answers every call `latency` after it was made, with {score: 0.25}, from one
// thread of its own: a call waiting for its answer holds no thread.
class SlowVendor final : public ConnectorHost {
 public:
  explicit SlowVendor(absl::Duration latency)
      : latency_(latency), answerer_([this] { AnswerWhenDue(); }) {}
  ~SlowVendor() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    answerer_.join();
  }

  ConnectorCallOutcome Call(const std::string& connector, const std::string& operation,
                            const google::protobuf::Struct& params) override {
    return AwaitCallback<ConnectorCallOutcome>([&](ConnectorCallDone done) {
      CallAsync(connector, operation, params, std::move(done));
    });
  }
  void CallAsync(const std::string&, const std::string&, const google::protobuf::Struct&,
                 ConnectorCallDone done) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    waiting_.push_back({absl::Now() + latency_, std::move(done)});
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int waiting() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(waiting_.size());
  }

 private:
  struct Waiting {
    absl::Time due;
    ConnectorCallDone done;
  };

  void AnswerWhenDue() {
    for (;;) {
      std::vector<ConnectorCallDone> due;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        while (!waiting_.empty() && waiting_.front().due <= absl::Now()) {
          due.push_back(std::move(waiting_.front().done));
          waiting_.pop_front();
        }
      }
      for (ConnectorCallDone& done : due) {
        ConnectorCallOutcome outcome;
        outcome.http_status = 200;
        (*outcome.body.mutable_struct_value()->mutable_fields())["score"].set_number_value(0.25);
        std::move(done)(std::move(outcome));
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  const absl::Duration latency_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Waiting> waiting_ ABSL_GUARDED_BY(mu_);
  std::thread answerer_;
};

// The threads of this process.
int ThreadCount() {
  int threads = 0;
  DIR* tasks = opendir("/proc/self/task");
  while (dirent* entry = readdir(tasks)) threads += entry->d_name[0] != '.';
  closedir(tasks);
  return threads;
}

// The worker is free while the vendor takes its time: with one worker, an evaluation that needs no
// vendor is answered meanwhile, and the waiting one ends with the vendor's answer, its console
// output given once although the script ran twice.
TEST_F(WorkerSandboxTest, AnEvaluationWaitingOnAVendorLeavesItsWorkerFree) {
  ASSERT_NO_FATAL_FAILURE(UseOneWorkerWithAVendor());

  SlowVendor vendor(absl::Seconds(1));
  SandboxResult waiting;
  std::thread caller([&] {
    SandboxRequest request;
    request.source =
        "console.log('before');\n"
        "var r = connectors.vendor.lookup({user: 'u1'});\n"
        "console.log('after', r.status);\n"
        "return r.body.score;\n";
    request.deadline = time_.Now() + absl::Seconds(5);
    request.connector_host = &vendor;
    ASSERT_OK_AND_ASSIGN(waiting, sandbox_->Evaluate(request));
  });
  for (int i = 0; i < 200 && vendor.calls() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(vendor.calls(), 1);

  const absl::Time start = absl::Now();
  SandboxResult quick = Run("return 'quick';");
  const absl::Duration quick_took = absl::Now() - start;
  caller.join();

  ASSERT_FALSE(quick.evaluation.error.has_value()) << quick.evaluation.error->message;
  EXPECT_EQ(quick.evaluation.result.string_value(), "quick");
  EXPECT_LT(quick_took, absl::Milliseconds(700));  // not behind the vendor's second
  ASSERT_FALSE(waiting.evaluation.error.has_value()) << waiting.evaluation.error->message;
  EXPECT_EQ(waiting.evaluation.result.number_value(), 0.25);
  ASSERT_EQ(waiting.evaluation.logs.size(), 2u);
  EXPECT_EQ(waiting.evaluation.logs[0].message, "before");
  EXPECT_EQ(waiting.evaluation.logs[1].message, "after 200");
  EXPECT_EQ(vendor.calls(), 1);
  EXPECT_FALSE(waiting.compile.cache_hit);  // as its first run found it, not its second
  EXPECT_EQ(sandbox_->stats().starts, 1);
}

// Evaluations waiting on a vendor hold no thread and no worker: 200 of them are started from this
// one thread on one worker, all wait on the vendor at once with the thread count unchanged, and
// each ends with its own answer once the vendor's arrive.
TEST_F(WorkerSandboxTest, EvaluationsWaitingOnAVendorHoldNoThread) {
  ASSERT_NO_FATAL_FAILURE(UseOneWorkerWithAVendor());
  // Long enough for all 200 first runs to reach their call on a slow machine.
  SlowVendor vendor(absl::Seconds(5));
  const int threads_before = ThreadCount();

  constexpr int kEvaluations = 200;
  absl::Mutex mu;
  std::vector<absl::StatusOr<SandboxResult>> results(kEvaluations);
  int finished = 0;
  std::vector<std::string> sources;
  for (int i = 0; i < kEvaluations; ++i) {
    sources.push_back(absl::StrCat("var r = connectors.vendor.lookup({n: ", i,
                                   "}); return r.body.score + ", i, ";"));
  }
  for (int i = 0; i < kEvaluations; ++i) {
    SandboxRequest request;
    request.source = sources[i];
    request.deadline = time_.Now() + absl::Seconds(30);
    request.connector_host = &vendor;
    sandbox_->EvaluateAsync(request, [&, i](absl::StatusOr<SandboxResult> result) {
      absl::MutexLock lock(&mu);
      results[i] = std::move(result);
      ++finished;
    });
  }
  for (int i = 0; i < 1000 && vendor.waiting() < kEvaluations; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(vendor.waiting(), kEvaluations);
  EXPECT_EQ(ThreadCount(), threads_before);

  absl::MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                      +[](int* n) { return *n == kEvaluations; }, &finished),
                                  absl::Seconds(30)));
  for (int i = 0; i < kEvaluations; ++i) {
    ASSERT_OK(results[i].status());
    ASSERT_FALSE(results[i]->evaluation.error.has_value()) << results[i]->evaluation.error->message;
    EXPECT_EQ(results[i]->evaluation.result.number_value(), 0.25 + i);
  }
  EXPECT_EQ(vendor.calls(), kEvaluations);
}

// Callers waiting for a worker get one in the order they asked: under overload, nobody waits
// longer because others keep arriving.
TEST_F(WorkerSandboxTest, CallersWaitingForAWorkerAreServedInTheOrderTheyAsked) {
  WorkerSandboxOptions options = Options();
  options.workers = 1;
  sandbox_.reset();
  ASSERT_OK_AND_ASSIGN(sandbox_, NewWorkerSandbox(options));

  std::thread busy([&] { Run("var end = Date.now() + 400; while (Date.now() < end) {}"); });
  absl::SleepFor(absl::Milliseconds(100));
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<std::thread> callers;
  for (int i = 0; i < 5; ++i) {
    callers.emplace_back([&, i] {
      // 30 ms each, so that the next one cannot finish before this caller has written it down.
      Run(absl::StrCat("var end = Date.now() + 30; while (Date.now() < end) {} return ", i, ";"));
      absl::MutexLock lock(&mu);
      order.push_back(i);
    });
    absl::SleepFor(absl::Milliseconds(30));  // each asks after the one before is waiting
  }
  busy.join();
  for (std::thread& caller : callers) caller.join();
  EXPECT_THAT(order, ::testing::ElementsAre(0, 1, 2, 3, 4));
}

TEST(WorkerLockdownTest, DeniesNetworkFilesExecAndProcesses) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!LockDownWorkerProcess(size_t{4} << 30).ok()) _exit(100);
    int failures = 0;
    if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM) failures |= 1;
    if (open("/etc/hostname", O_RDONLY) >= 0 || errno != EPERM) failures |= 2;
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    execv("/bin/true", argv);
    if (errno != EPERM) failures |= 4;
    if (fork() >= 0 || errno != EPERM) failures |= 8;
    if (kill(getppid(), 0) == 0 || errno != EPERM) failures |= 16;
    _exit(failures);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bit mask of what was not denied";
}

}  // namespace
}  // namespace evaluatecode::sandbox
