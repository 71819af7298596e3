// The batching sink's contract with its output, with either writer: what queued meanwhile is
// written in order in batches of at most max_batch; Commit follows every batch (and, with its own
// thread, an idle CommitWait) and comes last with `closing`; a failed Write answers its batch and
// every later Append with that failure.
#include "service/observability/batching_decision_log_sink.h"

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/sink_answers.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::service::observability {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::SinkAnswers;
using testing::StatusIs;

// What the scripted output saw and how it behaves; shared with the test, which outlives the sink.
struct Script {
  absl::Mutex mu;
  std::vector<std::vector<std::string>> batches ABSL_GUARDED_BY(mu);
  std::vector<std::thread::id> writing_threads ABSL_GUARDED_BY(mu);
  std::vector<bool> commits ABSL_GUARDED_BY(mu);  // each Commit's `closing`
  absl::Status write_result ABSL_GUARDED_BY(mu);
  absl::Duration commit_wait ABSL_GUARDED_BY(mu) = absl::InfiniteDuration();
  // When set, the first Write notifies `in_first_write` and waits for `release_first_write`.
  bool hold_first_write = false;
  absl::Notification in_first_write, release_first_write;

  bool CommittedFourTimes() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return commits.size() >= 4; }
};

class ScriptedOutput final : public LineOutput {
 public:
  explicit ScriptedOutput(Script& script) : script_(script) {}

  absl::Status Write(absl::Span<const std::string> lines) override {
    if (script_.hold_first_write && !script_.in_first_write.HasBeenNotified()) {
      script_.in_first_write.Notify();
      script_.release_first_write.WaitForNotification();
    }
    absl::MutexLock lock(&script_.mu);
    script_.batches.emplace_back(lines.begin(), lines.end());
    script_.writing_threads.push_back(std::this_thread::get_id());
    return script_.write_result;
  }
  absl::Status Commit(bool closing) override {
    absl::MutexLock lock(&script_.mu);
    script_.commits.push_back(closing);
    return absl::OkStatus();
  }
  absl::Duration CommitWait() const override {
    absl::MutexLock lock(&script_.mu);
    return script_.commit_wait;
  }
  absl::string_view Name() const override { return "the script"; }

 private:
  Script& script_;
};

std::unique_ptr<DecisionLogSink> NewSink(Script& script, BatchWriter writer,
                                         const BatchOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<DecisionLogSink>> sink =
      NewBatchingDecisionLogSink(std::make_unique<ScriptedOutput>(script), options, writer);
  EXPECT_TRUE(sink.ok()) << sink.status();
  return sink.ok() ? *std::move(sink) : nullptr;
}

class EitherWriterTest : public ::testing::TestWithParam<BatchWriter> {};

INSTANTIATE_TEST_SUITE_P(BatchingDecisionLogSinkTest, EitherWriterTest,
                         ::testing::Values(BatchWriter::kOwnThread, BatchWriter::kAppendingThread));

TEST_P(EitherWriterTest, WritesWhatQueuedMeanwhileInOrderInBatchesOfAtMostMaxBatch) {
  Script script;
  script.hold_first_write = true;
  BatchOptions options;
  options.max_batch = 4;
  auto sink = NewSink(script, GetParam(), options);
  ASSERT_NE(sink, nullptr);
  SinkAnswers answers;
  // The first line's write is held (with kAppendingThread, on the thread that appended it) while
  // nine more arrive: each of those Appends returns at once.
  std::thread first([&] { sink->Append("a", answers.Callback()); });
  script.in_first_write.WaitForNotification();
  for (int i = 1; i <= 9; ++i) sink->Append(absl::StrCat(i), answers.Callback());
  script.release_first_write.Notify();
  for (const absl::Status& status : answers.WaitFor(10)) EXPECT_OK(status);
  const std::thread::id first_id = first.get_id();
  first.join();

  absl::MutexLock lock(&script.mu);
  EXPECT_THAT(script.batches,
              ElementsAre(ElementsAre("a"), ElementsAre("1", "2", "3", "4"),
                          ElementsAre("5", "6", "7", "8"), ElementsAre("9")));
  EXPECT_THAT(script.commits, ElementsAre(false, false, false, false));
  if (GetParam() == BatchWriter::kAppendingThread) {
    // No hop: the thread that found no write in progress wrote everything that queued behind it.
    EXPECT_THAT(script.writing_threads, ElementsAre(first_id, first_id, first_id, first_id));
  }
}

TEST_P(EitherWriterTest, AFailedWriteAnswersItsBatchAndEveryLaterAppendWithIt) {
  Script script;
  {
    absl::MutexLock lock(&script.mu);
    script.write_result = absl::UnavailableError("decision log: the script broke");
  }
  auto sink = NewSink(script, GetParam());
  ASSERT_NE(sink, nullptr);
  SinkAnswers answers;
  sink->Append("a", answers.Callback());
  EXPECT_THAT(answers.WaitFor(1)[0],
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("the script broke")));
  EXPECT_FALSE(sink->IsHealthy());
  absl::Status later;
  sink->Append("b", [&](absl::Status status) { later = status; });
  EXPECT_THAT(later, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("the script broke")));
  absl::MutexLock lock(&script.mu);
  EXPECT_THAT(script.batches, ElementsAre(ElementsAre("a")));
}

TEST_P(EitherWriterTest, TheLastCommitIsTheClosingOne) {
  Script script;
  auto sink = NewSink(script, GetParam());
  ASSERT_NE(sink, nullptr);
  SinkAnswers answers;
  sink->Append("a", answers.Callback());
  answers.WaitFor(1);
  sink.reset();
  absl::MutexLock lock(&script.mu);
  EXPECT_THAT(script.commits, ElementsAre(false, true));
}

TEST(BatchingDecisionLogSinkTest, ItsOwnThreadCommitsAfterCommitWaitWithoutNewLines) {
  Script script;
  auto sink = NewSink(script, BatchWriter::kOwnThread);
  ASSERT_NE(sink, nullptr);
  SinkAnswers answers;
  sink->Append("a", answers.Callback());
  answers.WaitFor(1);
  {
    // The output now asks to be committed again in 5 ms: the writer does so with no new line.
    absl::MutexLock lock(&script.mu);
    script.commit_wait = absl::Milliseconds(5);
  }
  sink->Append("b", answers.Callback());
  {
    absl::MutexLock lock(&script.mu);
    script.mu.Await(absl::Condition(&script, &Script::CommittedFourTimes));
    script.commit_wait = absl::InfiniteDuration();
  }
  sink.reset();
  absl::MutexLock lock(&script.mu);
  EXPECT_THAT(script.batches, ElementsAre(ElementsAre("a"), ElementsAre("b")));
  ASSERT_GE(script.commits.size(), 5u);
  EXPECT_FALSE(script.commits[script.commits.size() - 2]);
  EXPECT_TRUE(script.commits.back());
}

TEST(BatchingDecisionLogSinkTest, AZeroMaxBatchIsRefused) {
  Script script;
  BatchOptions options;
  options.max_batch = 0;
  EXPECT_THAT(NewBatchingDecisionLogSink(std::make_unique<ScriptedOutput>(script), options,
                                         BatchWriter::kAppendingThread),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_batch")));
}

}  // namespace
}  // namespace evaluatecode::service::observability
