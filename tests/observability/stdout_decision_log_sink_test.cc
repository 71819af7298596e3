// The stdout sink: whole lines on the stream before their answer, written on the recording thread,
// a write error reported rather than swallowed, and a stream that stops draining holding only the
// thread that is writing to it while the others are refused past max_pending_bytes.
#include "service/observability/stdout_decision_log_sink.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/sink_answers.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::service::observability {
namespace {

using ::testing::HasSubstr;
using testing::SinkAnswers;
using testing::StatusIs;

// A pipe whose write end is a FILE*, as a container's stdout is.
struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    read_fd = fds[0];
    stream = ::fdopen(fds[1], "w");
  }
  ~Pipe() {
    if (stream != nullptr) std::fclose(stream);
    ::close(read_fd);
  }
  int BytesWaiting() const {
    int bytes = 0;
    EXPECT_EQ(::ioctl(read_fd, FIONREAD, &bytes), 0);
    return bytes;
  }
  // Everything written until the write end is closed.
  std::string ReadToEnd() {
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(read_fd, buffer, sizeof(buffer))) > 0;) text.append(buffer, n);
    return text;
  }

  int read_fd = -1;
  FILE* stream = nullptr;
};

std::unique_ptr<DecisionLogSink> NewSink(FILE* stream, const BatchOptions& batching = {}) {
  absl::StatusOr<std::unique_ptr<DecisionLogSink>> sink =
      NewStdoutDecisionLogSink(batching, stream);
  EXPECT_TRUE(sink.ok()) << sink.status();
  return sink.ok() ? *std::move(sink) : nullptr;
}

TEST(StdoutDecisionLogSinkTest, WritesAndFlushesTheLineBeforeAnsweringOnTheRecordingThread) {
  Pipe pipe;
  auto sink = NewSink(pipe.stream);
  ASSERT_NE(sink, nullptr);
  bool answered = false;
  sink->Append(R"({"decision_id":"d-1"})", [&](absl::Status status) {
    EXPECT_OK(status);
    answered = true;
  });
  EXPECT_TRUE(answered);
  // Flushed: a read returns the line without the stream being closed.
  char buffer[64] = {};
  ASSERT_EQ(::read(pipe.read_fd, buffer, sizeof(buffer)), 22);
  EXPECT_STREQ(buffer, "{\"decision_id\":\"d-1\"}\n");
  EXPECT_TRUE(sink->IsHealthy());
}

TEST(StdoutDecisionLogSinkTest, AWriteErrorIsReportedAndTheSinkTurnsUnhealthy) {
  FILE* full = std::fopen("/dev/full", "w");
  ASSERT_NE(full, nullptr);
  auto sink = NewSink(full);
  ASSERT_NE(sink, nullptr);
  absl::Status first, second;
  sink->Append("{}", [&](absl::Status status) { first = status; });
  EXPECT_THAT(first, StatusIs(absl::StatusCode::kUnavailable,
                              HasSubstr("writing to stdout failed: No space left")));
  EXPECT_FALSE(sink->IsHealthy());
  // Refused at once, with the first failure's reason.
  sink->Append("{}", [&](absl::Status status) { second = status; });
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("No space left")));
  sink.reset();
  std::fclose(full);
}

TEST(StdoutDecisionLogSinkTest, AStreamThatStopsDrainingHoldsOnlyTheWritingThread) {
  Pipe pipe;
  BatchOptions batching;
  batching.max_pending_bytes = 10'000;
  auto sink = NewSink(pipe.stream, batching);
  ASSERT_NE(sink, nullptr);
  SinkAnswers answers;

  // A line larger than the pipe's buffer: the thread writing it blocks, as on a log collector that
  // stopped reading. Every Append below must still return at once.
  std::thread held([&] { sink->Append(std::string(256 << 10, 'x'), answers.Callback()); });
  while (pipe.BytesWaiting() == 0) absl::SleepFor(absl::Milliseconds(1));
  absl::Status refused;
  int accepted = 0;
  for (int i = 0; i < 1000 && refused.ok(); ++i) {
    sink->Append(std::string(1000, 'a'), [&, answer = answers.Callback()](absl::Status status) mutable {
      if (status.ok() || status.message().find("max_pending_bytes") == std::string::npos) {
        std::move(answer)(std::move(status));
      } else {
        refused = status;
      }
    });
    if (refused.ok()) ++accepted;
  }
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnavailable,
                                HasSubstr("bytes are waiting for stdout (max_pending_bytes)")));
  EXPECT_EQ(accepted, 10);
  EXPECT_TRUE(sink->IsHealthy());

  // Once the stream drains, the held thread writes everything accepted, and all is answered OK.
  std::string text;
  std::thread reader([&] { text = pipe.ReadToEnd(); });
  held.join();
  sink.reset();
  std::fclose(pipe.stream);
  pipe.stream = nullptr;
  reader.join();
  EXPECT_EQ(answers.WaitFor(accepted + 1).size(), accepted + 1u);
  EXPECT_EQ(answers.ok(), accepted + 1);
  EXPECT_EQ(text.size(), (256u << 10) + 1 + accepted * 1001u);
}

}  // namespace
}  // namespace evaluatecode::service::observability
