// The file sink: whole lines in order, group commit in batches of at most max_batch, rotation,
// durability across a SIGKILL, and failures that are reported rather than swallowed.
#include "service/observability/file_decision_log_sink.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/time_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/simulated_time_source.h"
#include "tests/testing/sink_answers.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::service::observability {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::SimulatedTimeSource;
using testing::SinkAnswers;
using testing::StatusIs;

// A fresh path under TEST_TMPDIR, named after the running test; old files of that name removed.
std::string FreshPath() {
  const std::string path =
      absl::StrCat(getenv("TEST_TMPDIR"), "/",
                   ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".jsonl");
  std::remove(path.c_str());
  for (int i = 1; i <= 5; ++i) std::remove(absl::StrCat(path, ".", i).c_str());
  return path;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

uint64_t FileSize(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 ? info.st_size : 0;
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Appends and waits for `done`.
absl::Status AppendAndWait(DecisionLogSink& sink, std::string line) {
  absl::Notification done;
  absl::Status result;
  sink.Append(std::move(line), [&](absl::Status status) {
    result = status;
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

std::unique_ptr<DecisionLogSink> NewSink(const FileSinkOptions& options, const TimeSource& time,
                                         const BatchOptions& batching = {}) {
  absl::StatusOr<std::unique_ptr<DecisionLogSink>> sink =
      NewFileDecisionLogSink(options, batching, time);
  EXPECT_TRUE(sink.ok()) << sink.status();
  return sink.ok() ? *std::move(sink) : nullptr;
}

TEST(FileDecisionLogSinkTest, WritesWholeLinesInOrder) {
  SimulatedTimeSource time;
  FileSinkOptions options;
  options.path = FreshPath();
  auto sink = NewSink(options, time);
  ASSERT_NE(sink, nullptr);
  SinkAnswers answers;
  for (int i = 0; i < 100; ++i) sink->Append(absl::StrCat(R"({"id":)", i, "}"), answers.Callback());
  answers.WaitFor(100);
  EXPECT_EQ(answers.ok(), 100);
  const std::vector<std::string> lines = ReadLines(options.path);
  ASSERT_EQ(lines.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(lines[i], absl::StrCat(R"({"id":)", i, "}"));
  EXPECT_TRUE(sink->IsHealthy());
}

TEST(FileDecisionLogSinkTest, DurableModeAnswersOnlyOnceTheLineIsInTheFile) {
  RealTimeSource time;
  FileSinkOptions options;
  options.path = FreshPath();
  options.durable = true;
  auto sink = NewSink(options, time);
  ASSERT_NE(sink, nullptr);
  std::atomic<int> missing{0};
  SinkAnswers answers;
  std::vector<std::thread> appenders;
  for (int t = 0; t < 4; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string line = absl::StrCat("t", t, "-", i);
        DecisionLogSink::Done count = answers.Callback();
        sink->Append(line, [&, line, count = std::move(count)](absl::Status status) mutable {
          const std::vector<std::string> lines = ReadLines(options.path);
          if (std::find(lines.begin(), lines.end(), line) == lines.end()) ++missing;
          std::move(count)(status);
        });
      }
    });
  }
  for (std::thread& appender : appenders) appender.join();
  answers.WaitFor(200);
  EXPECT_EQ(answers.ok(), 200);
  EXPECT_EQ(missing.load(), 0);
  EXPECT_EQ(ReadLines(options.path).size(), 200u);
}

TEST(FileDecisionLogSinkTest, LinesWaitingDuringASyncAreCommittedTogetherInBatchesOfMaxBatch) {
  RealTimeSource time;
  FileSinkOptions options;
  options.path = FreshPath();
  options.durable = true;
  BatchOptions batching;
  batching.max_batch = 10;
  auto sink = NewSink(options, time, batching);
  ASSERT_NE(sink, nullptr);

  // The first line's answer holds the writer thread, as a slow sync would, while 25 more arrive.
  absl::Notification writer_held, release;
  std::vector<size_t> lines_on_disk_at_answer(26);
  sink->Append("0", [&](absl::Status) {
    lines_on_disk_at_answer[0] = ReadLines(options.path).size();
    writer_held.Notify();
    release.WaitForNotification();
  });
  writer_held.WaitForNotification();
  SinkAnswers answers;
  for (int i = 1; i <= 25; ++i) {
    DecisionLogSink::Done count = answers.Callback();
    sink->Append(absl::StrCat(i), [&, i, count = std::move(count)](absl::Status status) mutable {
      lines_on_disk_at_answer[i] = ReadLines(options.path).size();
      std::move(count)(status);
    });
  }
  release.Notify();
  answers.WaitFor(25);
  EXPECT_EQ(answers.ok(), 25);
  // One sync per batch: 1..10, 11..20, 21..25 each reach the disk (and are answered) together.
  EXPECT_EQ(lines_on_disk_at_answer[0], 1u);
  for (int i = 1; i <= 10; ++i) EXPECT_EQ(lines_on_disk_at_answer[i], 11u) << i;
  for (int i = 11; i <= 20; ++i) EXPECT_EQ(lines_on_disk_at_answer[i], 21u) << i;
  for (int i = 21; i <= 25; ++i) EXPECT_EQ(lines_on_disk_at_answer[i], 26u) << i;
}

TEST(FileDecisionLogSinkTest, RotatesBySizeKeepingTheNewestFiles) {
  SimulatedTimeSource time;
  FileSinkOptions options;
  options.path = FreshPath();
  options.rotate_bytes = 1000;
  options.keep_files = 2;
  auto sink = NewSink(options, time);
  ASSERT_NE(sink, nullptr);
  // Lines of 100 bytes with their newline: 10 per file.
  auto line = [](int i) {
    std::string text = absl::StrCat(R"({"id":)", i, R"(,"pad":")");
    text.append(96 - text.size(), 'x');
    return text + "\"}";
  };
  for (int i = 0; i < 45; ++i) ASSERT_OK(AppendAndWait(*sink, line(i)));

  std::vector<std::string> current = ReadLines(options.path);
  std::vector<std::string> first = ReadLines(options.path + ".1");
  std::vector<std::string> second = ReadLines(options.path + ".2");
  EXPECT_FALSE(Exists(options.path + ".3"));
  ASSERT_EQ(current.size(), 5u);
  ASSERT_EQ(first.size(), 10u);
  ASSERT_EQ(second.size(), 10u);
  EXPECT_EQ(second.front(), line(20));
  EXPECT_EQ(second.back(), line(29));
  EXPECT_EQ(first.front(), line(30));
  EXPECT_EQ(current.front(), line(40));
  EXPECT_EQ(current.back(), line(44));
  for (const std::string& file : {options.path, options.path + ".1", options.path + ".2"}) {
    EXPECT_LE(FileSize(file), options.rotate_bytes) << file;
  }
}

TEST(FileDecisionLogSinkTest, APartialLastLineFromACrashIsEndedBeforeNewRecords) {
  SimulatedTimeSource time;
  FileSinkOptions options;
  options.path = FreshPath();
  {
    std::ofstream crashed(options.path);
    crashed << "{\"id\":1}\n{\"id\":2,\"trunc";
  }
  auto sink = NewSink(options, time);
  ASSERT_NE(sink, nullptr);
  ASSERT_OK(AppendAndWait(*sink, R"({"id":3})"));
  EXPECT_THAT(ReadLines(options.path),
              ElementsAre(R"({"id":1})", R"({"id":2,"trunc)", R"({"id":3})"));
}

TEST(FileDecisionLogSinkTest, DestroyingTheSinkWritesAndAnswersEveryPendingLine) {
  SimulatedTimeSource time;
  FileSinkOptions options;
  options.path = FreshPath();
  options.fsync_interval = absl::Hours(1);
  SinkAnswers answers;
  {
    auto sink = NewSink(options, time);
    ASSERT_NE(sink, nullptr);
    for (int i = 0; i < 500; ++i) sink->Append(absl::StrCat(i), answers.Callback());
  }
  EXPECT_EQ(answers.ok(), 500);
  EXPECT_EQ(ReadLines(options.path).size(), 500u);
}

TEST(FileDecisionLogSinkTest, AFileThatCannotBeOpenedFailsStartUpNamingIt) {
  SimulatedTimeSource time;
  FileSinkOptions options;
  options.path = absl::StrCat(getenv("TEST_TMPDIR"), "/no/such/directory/decisions.jsonl");
  EXPECT_THAT(NewFileDecisionLogSink(options, {}, time),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(options.path)));
}

TEST(FileDecisionLogSinkTest, BadOptionsAreInvalidArguments) {
  SimulatedTimeSource time;
  FileSinkOptions options;
  EXPECT_THAT(NewFileDecisionLogSink(options, {}, time),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("path")));
  options.path = FreshPath();
  options.keep_files = 0;
  EXPECT_THAT(NewFileDecisionLogSink(options, {}, time),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keep_files")));
  options.keep_files = 1;
  BatchOptions batching;
  batching.max_batch = 0;
  EXPECT_THAT(NewFileDecisionLogSink(options, batching, time),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_batch")));
}

TEST(FileDecisionLogSinkTest, AFullDiskIsReportedAndLaterAppendsAreRefusedAtOnce) {
  SimulatedTimeSource time;
  FileSinkOptions options;
  options.path = "/dev/full";  // every write fails with ENOSPC
  options.durable = true;
  auto sink = NewSink(options, time);
  ASSERT_NE(sink, nullptr);
  EXPECT_TRUE(sink->IsHealthy());
  EXPECT_THAT(AppendAndWait(*sink, "{}"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("No space left")));
  EXPECT_FALSE(sink->IsHealthy());
  // Refused on the caller's thread, before Append returns: the server can answer at once.
  bool answered = false;
  absl::Status later;
  sink->Append("{}", [&](absl::Status status) {
    answered = true;
    later = status;
  });
  EXPECT_TRUE(answered);
  EXPECT_THAT(later, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("No space left")));
}

TEST(FileDecisionLogSinkTest, AFailedRotationIsReportedNotSwallowed) {
  SimulatedTimeSource time;
  FileSinkOptions options;
  options.path = FreshPath();
  options.rotate_bytes = 25;
  options.keep_files = 1;
  // `path.1` is a directory with a file in it: the rotation's rename cannot replace it.
  const std::string blocker = options.path + ".1";
  ::rmdir(blocker.c_str());
  ASSERT_EQ(::mkdir(blocker.c_str(), 0700) == 0 || errno == EEXIST, true);
  std::ofstream(blocker + "/keep") << "x";
  auto sink = NewSink(options, time);
  ASSERT_NE(sink, nullptr);
  ASSERT_OK(AppendAndWait(*sink, "0123456789"));
  ASSERT_OK(AppendAndWait(*sink, "0123456789"));
  EXPECT_THAT(AppendAndWait(*sink, "rotates"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot rotate")));
  EXPECT_FALSE(sink->IsHealthy());
  EXPECT_THAT(AppendAndWait(*sink, "after"), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot rotate")));
  // What was acknowledged is still there.
  EXPECT_THAT(ReadLines(options.path), ElementsAre("0123456789", "0123456789"));
}

TEST(FileDecisionLogSinkTest, ABacklogPastMaxPendingBytesIsRefusedWhileTheSinkStaysHealthy) {
  SimulatedTimeSource time;
  FileSinkOptions options;
  options.path = FreshPath();
  BatchOptions batching;
  batching.max_pending_bytes = 250;
  auto sink = NewSink(options, time, batching);
  ASSERT_NE(sink, nullptr);
  absl::Notification writer_held, release;
  sink->Append("first", [&](absl::Status) {
    writer_held.Notify();
    release.WaitForNotification();
  });
  writer_held.WaitForNotification();
  SinkAnswers answers;
  sink->Append(std::string(100, 'a'), answers.Callback());
  sink->Append(std::string(100, 'b'), answers.Callback());
  absl::Status refused;
  sink->Append(std::string(100, 'c'), [&](absl::Status status) { refused = status; });
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("max_pending_bytes")));
  EXPECT_TRUE(sink->IsHealthy());
  release.Notify();
  answers.WaitFor(2);
  EXPECT_EQ(answers.ok(), 2);
}

// The promise behind `durable: true`: a process killed right after its replies loses no record it
// acknowledged. A child process appends records as fast as it can and reports each acknowledged id
// on a pipe from the `done` callback (where the server would send its reply); the parent SIGKILLs
// it mid-stream, then finds every acknowledged id in the file as a whole line.
// (A SIGKILL keeps the page cache: this proves the acknowledgement order, write then sync then
// answer; surviving power loss additionally relies on fdatasync, which no test here can cut.)
TEST(FileDecisionLogSinkTest, DurableModeLosesNoAcknowledgedRecordWhenKilled) {
  const std::string path = FreshPath();
  int acks[2];
  ASSERT_EQ(::pipe(acks), 0);
  // No other thread runs in this process now (every earlier sink has been destroyed), so fork is
  // safe; the child starts its own writer thread.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(acks[0]);
    RealTimeSource time;
    FileSinkOptions options;
    options.path = path;
    options.durable = true;
    absl::StatusOr<std::unique_ptr<DecisionLogSink>> sink =
        NewFileDecisionLogSink(options, {}, time);
    if (!sink.ok()) ::_exit(2);
    const int ack_fd = acks[1];
    for (int i = 0; i < 200'000; ++i) {
      const std::string id = absl::StrCat("id-", i);
      (*sink)->Append(absl::StrCat(R"({"decision_id":")", id, R"("})"),
                      [ack_fd, id](absl::Status status) {
                        if (!status.ok()) return;
                        const std::string ack = id + "\n";  // < PIPE_BUF: one atomic write
                        if (::write(ack_fd, ack.data(), ack.size()) < 0) ::_exit(3);
                      });
    }
    ::pause();
    ::_exit(0);
  }
  ::close(acks[1]);

  // Read acknowledgements until 300 have come, then kill the child at once.
  std::string received;
  char buffer[4096];
  auto count_lines = [&received] { return std::count(received.begin(), received.end(), '\n'); };
  while (count_lines() < 300) {
    const ssize_t n = ::read(acks[0], buffer, sizeof(buffer));
    ASSERT_GT(n, 0) << "the child stopped acknowledging";
    received.append(buffer, n);
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  // Whatever the child acknowledged before it died is still in the pipe.
  for (ssize_t n; (n = ::read(acks[0], buffer, sizeof(buffer))) > 0;) received.append(buffer, n);
  ::close(acks[0]);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL);

  std::set<std::string> on_disk;
  for (const std::string& line : ReadLines(path)) on_disk.insert(line);
  std::istringstream acknowledged(received);
  int checked = 0;
  for (std::string id; std::getline(acknowledged, id);) {
    ASSERT_TRUE(on_disk.count(absl::StrCat(R"({"decision_id":")", id, R"("})")))
        << id << " was acknowledged but is not in the file";
    ++checked;
  }
  EXPECT_GE(checked, 300);
  // The child was killed mid-stream, not after it had finished.
  EXPECT_LT(on_disk.size(), 200'000u);
}

}  // namespace
}  // namespace evaluatecode::service::observability
