// The channel to a sandbox worker failing: a fake worker (faulty_worker.cc) that breaks the
// protocol on cue. Whatever the fault, each evaluation gets one answer with the right reason by its
// deadline + kill grace + 50 ms, an evaluation queued behind the faulty one gets its own answer,
// and a replacement worker serves the next evaluation.
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/time_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sandbox/worker_sandbox.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::sandbox {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kKillGrace = absl::Milliseconds(100);
// How late past its deadline + kill grace an answer may come.
constexpr absl::Duration kSlack = absl::Milliseconds(50);
// The faulty evaluation's timeout: short, since a worker stalled mid-frame is waited for this long.
constexpr absl::Duration kFaultTimeout = absl::Milliseconds(500);
// The evaluation queued behind it waits for the faulty worker's replacement too.
constexpr absl::Duration kQueuedTimeout = absl::Seconds(5);

struct Answer {
  absl::StatusOr<SandboxResult> result;
  absl::Duration timeout;
  absl::Duration elapsed;
};

class WorkerChannelFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WorkerSandboxOptions options;
    options.worker_binary =
        absl::StrCat(std::getenv("TEST_SRCDIR"), "/evaluatecode/tests/sandbox/faulty_worker");
    // One worker: the queued evaluation must wait for the faulty one's worker.
    options.workers = 1;
    options.kill_grace = kKillGrace;
    options.time_source = &time_;
    ASSERT_OK_AND_ASSIGN(sandbox_, NewWorkerSandbox(options));
  }

  Answer Evaluate(const std::string& source, absl::Duration timeout) {
    SandboxRequest request;
    request.source = source;
    const absl::Time start = time_.Now();
    request.deadline = start + timeout;
    absl::StatusOr<SandboxResult> result = sandbox_->Evaluate(request);
    return Answer{std::move(result), timeout, time_.Now() - start};
  }

  // Runs a script naming `fault` (it returns 'answered' if the fault lets it) and, while the worker
  // holds it, one returning 'queued' behind it. Each call answers once: these are the two answers.
  std::pair<Answer, Answer> EvaluateWithQueued(const std::string& fault) {
    Answer faulty;
    std::thread first([&] {
      faulty = Evaluate(absl::StrCat("return 'answered'; // FAULT:", fault), kFaultTimeout);
    });
    // The fake worker acts 100 ms after it receives the request.
    absl::SleepFor(absl::Milliseconds(30));
    Answer queued = Evaluate("return 'queued';", kQueuedTimeout);
    first.join();
    return {std::move(faulty), std::move(queued)};
  }

  // The worker was replaced once, and the replacement serves.
  void ExpectRecovered() {
    Answer next = Evaluate("return 'recovered';", absl::Seconds(5));
    ExpectReturned(next, "recovered");
    const WorkerStats stats = sandbox_->stats();
    EXPECT_EQ(stats.starts, 2);
    EXPECT_EQ(stats.crashes, 1);
    EXPECT_EQ(stats.kills, 0);
  }

  static void ExpectInTime(const Answer& answer) {
    EXPECT_LE(answer.elapsed, answer.timeout + kKillGrace + kSlack);
  }

  static void ExpectCrashed(const Answer& answer, const std::string& message_part) {
    ASSERT_OK(answer.result.status());
    ASSERT_TRUE(answer.result->evaluation.error.has_value());
    EXPECT_EQ(answer.result->evaluation.error->kind, ScriptError::Kind::kCrashed);
    EXPECT_THAT(answer.result->evaluation.error->message, HasSubstr(message_part));
    ExpectInTime(answer);
  }

  static void ExpectReturned(const Answer& answer, const std::string& value) {
    ASSERT_OK(answer.result.status());
    ASSERT_FALSE(answer.result->evaluation.error.has_value())
        << answer.result->evaluation.error->message;
    EXPECT_EQ(answer.result->evaluation.result.string_value(), value);
    ExpectInTime(answer);
  }

  RealTimeSource time_;
  std::unique_ptr<WorkerSandbox> sandbox_;
};

// (a) End of stream while the supervisor awaits the reply; the worker process lingers.
TEST_F(WorkerChannelFaultTest, AChannelClosedMidEvaluationIsAnsweredCrashed) {
  auto [faulty, queued] = EvaluateWithQueued("close_channel");
  ExpectCrashed(faulty, "channel: the peer closed the channel");
  ExpectReturned(queued, "queued");
  ExpectRecovered();
}

// (b) Bytes that do not parse, and a well-formed reply that carries no result.
TEST_F(WorkerChannelFaultTest, AnUnparseableFrameIsAnsweredCrashed) {
  auto [faulty, queued] = EvaluateWithQueued("garbage_frame");
  ExpectCrashed(faulty, "does not parse as evaluatecode.sandbox.ipc.FromWorker");
  ExpectReturned(queued, "queued");
  ExpectRecovered();
}

TEST_F(WorkerChannelFaultTest, AReplyWithoutAResultIsAnsweredCrashed) {
  auto [faulty, queued] = EvaluateWithQueued("empty_reply");
  ExpectCrashed(faulty, "a final reply without a result");
  ExpectReturned(queued, "queued");
  ExpectRecovered();
}

// (c) A length over the cap fails at once; a frame cut short fails at the kill deadline.
TEST_F(WorkerChannelFaultTest, ALengthOverTheFrameCapIsAnsweredCrashedAtOnce) {
  auto [faulty, queued] = EvaluateWithQueued("oversized_frame");
  ExpectCrashed(faulty, "frame length 4294967295 is over the");
  EXPECT_LT(faulty.elapsed, kFaultTimeout);
  ExpectReturned(queued, "queued");
  ExpectRecovered();
}

TEST_F(WorkerChannelFaultTest, AFrameCutShortIsAnsweredCrashedByTheKillDeadline) {
  auto [faulty, queued] = EvaluateWithQueued("truncated_frame");
  ExpectCrashed(faulty, "timed out with 10 of 1000 bytes read");
  ExpectReturned(queued, "queued");
  ExpectRecovered();
}

TEST_F(WorkerChannelFaultTest, ALengthPrefixCutShortIsAnsweredCrashedByTheKillDeadline) {
  auto [faulty, queued] = EvaluateWithQueued("truncated_header");
  ExpectCrashed(faulty, "timed out with 2 of 4 bytes read");
  ExpectReturned(queued, "queued");
  ExpectRecovered();
}

// (d) Replies for a request that is not in flight.
TEST_F(WorkerChannelFaultTest, AReplyForAnotherRequestIsAnsweredCrashedAtOnce) {
  auto [faulty, queued] = EvaluateWithQueued("unknown_id");
  // Not a SCRIPT_TIMEOUT at the kill deadline: the worker will never answer.
  ExpectCrashed(faulty, "a reply for request 1001 while request 1 is in flight");
  EXPECT_LT(faulty.elapsed, kFaultTimeout);
  ExpectReturned(queued, "queued");
  ExpectRecovered();
}

TEST_F(WorkerChannelFaultTest, ADuplicateReplyIsIgnoredAndItsWorkerReplacedBeforeTheNextRequest) {
  auto [faulty, queued] = EvaluateWithQueued("duplicate_reply");
  // The first reply is the answer; the stray copy shows the worker broken before it is used again.
  ExpectReturned(faulty, "answered");
  ExpectReturned(queued, "queued");
  ExpectRecovered();
}

TEST_F(WorkerChannelFaultTest, ADuplicateReplyDuringTheNextRequestFailsThatRequest) {
  auto [faulty, queued] = EvaluateWithQueued("late_duplicate_reply");
  ExpectReturned(faulty, "answered");
  // The worker's answers can no longer be matched to requests: the one in flight is not trusted.
  ExpectCrashed(queued, "a reply for request 1 while request 2 is in flight");
  ExpectRecovered();
}

// (e) The worker is lost after its answer: the next request never reaches it and goes to the
// replacement instead of failing.
TEST_F(WorkerChannelFaultTest, ARequestThatCannotBeWrittenGoesToTheReplacement) {
  auto [faulty, queued] = EvaluateWithQueued("stop_reading");
  ExpectReturned(faulty, "answered");
  ExpectReturned(queued, "queued");
  ExpectRecovered();
}

TEST_F(WorkerChannelFaultTest, ARequestForAWorkerThatExitedGoesToTheReplacement) {
  auto [faulty, queued] = EvaluateWithQueued("exit_after_reply");
  ExpectReturned(faulty, "answered");
  ExpectReturned(queued, "queued");
  ExpectRecovered();
}

// (g) Under load a driver writes the next waiting job behind a run that follows a short one, and
// takes it back (a Cancel the worker answers at once) when the run outlasts the patience. This
// worker stops reading meanwhile and never answers the job it was told to skip: it is replaced,
// and the job runs on the replacement.
TEST_F(WorkerChannelFaultTest, AJobTakenBackFromAWorkerThatStopsReadingRunsOnTheReplacement) {
  ExpectReturned(Evaluate("return 'warm';", kFaultTimeout), "warm");  // a warm heap: short runs
  Answer short_run, faulty;
  std::thread short_caller([&] {
    short_run = Evaluate("return 'short'; // FAULT:late_reply", kFaultTimeout);
  });
  absl::SleepFor(absl::Milliseconds(30));  // the worker holds it: the next two wait, in order
  std::thread faulty_caller([&] {
    faulty = Evaluate("return 'answered'; // FAULT:stop_reading", kFaultTimeout);
  });
  absl::SleepFor(absl::Milliseconds(10));
  Answer queued = Evaluate("return 'queued';", kQueuedTimeout);
  short_caller.join();
  faulty_caller.join();
  ExpectReturned(short_run, "short");
  ExpectReturned(faulty, "answered");
  ExpectReturned(queued, "queued");
  EXPECT_EQ(sandbox_->stats().withdrawals, 1);
  ExpectRecovered();
}

// (f) The worker stops reading, its channel left open: the queued request, larger than the
// socket's buffer, cannot be written whole. The supervisor gives up at that request's deadline +
// grace (it must not wait on the worker for ever: no deadline would be enforced, no answer given)
// and replaces the worker, without charging the code, which never ran.
TEST_F(WorkerChannelFaultTest, ARequestTheWorkerDoesNotReadIsAnsweredCrashedByItsKillDeadline) {
  Answer faulty;
  std::thread first([&] {
    faulty = Evaluate("return 'answered'; // FAULT:ignore_channel", kFaultTimeout);
  });
  absl::SleepFor(absl::Milliseconds(30));
  const std::string larger_than_a_socket_buffer =
      absl::StrCat("/*", std::string(1 << 20, 'x'), "*/ return 'queued';");
  Answer queued = Evaluate(larger_than_a_socket_buffer, kFaultTimeout);
  first.join();
  ExpectReturned(faulty, "answered");
  // Not held up by the write of the request behind it: the driver writes a large request only
  // once the last reply is sent.
  EXPECT_LT(faulty.elapsed, kFaultTimeout);
  ExpectCrashed(queued, "write to peer timed out with");
  EXPECT_THAT(queued.result->evaluation.error->message, HasSubstr("the sandbox worker given"));
  EXPECT_GE(queued.elapsed, kFaultTimeout + kKillGrace);
  ExpectRecovered();
}

}  // namespace
}  // namespace evaluatecode::sandbox
