// DecisionLog: records reach the sink as masked JSON lines, every outcome reaches the caller's
// callback and the write metrics, and NewDecisionLog builds what the config describes.
#include "service/observability/decision_log.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "evaluate/v1/evaluate.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "service/observability/prometheus_metrics.h"
#include "tests/testing/simulated_time_source.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::service::observability {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::SimulatedTimeSource;
using testing::StatusIs;

// Keeps the lines and the callbacks; the test answers them when it likes. Thread-compatible.
class FakeSink final : public DecisionLogSink {
 public:
  void Append(std::string line, Done done) override {
    lines.push_back(std::move(line));
    pending.push_back(std::move(done));
  }
  bool IsHealthy() const override { return healthy; }

  std::vector<std::string> lines;
  std::vector<Done> pending;
  bool healthy = true;
};

struct Evaluation {
  evaluate::v1::EvaluateCodeRequest request;
  evaluate::v1::EvaluateCodeResponse response;

  Evaluation() {
    request.set_code("return {decision: 'review', reasons: []};");
    (*request.mutable_input()->mutable_fields())["ssn"].set_string_value("123-45-6789");
    (*request.mutable_input()->mutable_fields())["amount"].set_number_value(12);
    response.mutable_decision()->set_outcome(evaluate::v1::Decision::REVIEW);
  }
  DecisionRecord Record(const std::string& id) const {
    DecisionRecord record;
    record.decision_id = id;
    record.request = &request;
    record.response = &response;
    return record;
  }
};

std::unique_ptr<PrometheusMetrics> NewMetrics() {
  absl::StatusOr<std::unique_ptr<PrometheusMetrics>> metrics =
      NewPrometheusMetrics({/*enabled=*/false, ""});
  EXPECT_TRUE(metrics.ok()) << metrics.status();
  return *std::move(metrics);
}

double Sample(const std::string& exposition, const std::string& series) {
  const size_t at = exposition.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  const size_t start = at + series.size() + 2;
  double value = 0;
  if (!absl::SimpleAtod(exposition.substr(start, exposition.find('\n', start) - start), &value)) {
    return -1;
  }
  return value;
}

TEST(DecisionLogTest, RecordsAMaskedLineAndReportsTheWriteWhenTheSinkAnswers) {
  SimulatedTimeSource time;
  auto metrics = NewMetrics();
  auto sink = std::make_unique<FakeSink>();
  FakeSink& fake = *sink;
  ASSERT_OK_AND_ASSIGN(InputMask mask, InputMask::Create({"ssn"}));
  DecisionLog log(std::move(sink), std::move(mask), time, metrics.get());

  const Evaluation evaluation;
  absl::Status answer = absl::UnknownError("not answered");
  log.Record(evaluation.Record("d-7"), [&](absl::Status status) { answer = status; });
  ASSERT_EQ(fake.lines.size(), 1u);
  const json record = json::parse(fake.lines[0]);
  EXPECT_EQ(record["decision_id"], "d-7");
  EXPECT_EQ(record["input"]["ssn"], "***");
  EXPECT_EQ(record["input"]["amount"], 12);
  EXPECT_EQ(record["decision"]["outcome"], "REVIEW");
  EXPECT_EQ(evaluation.request.input().fields().at("ssn").string_value(), "123-45-6789");

  // Not answered until the sink says the line is written: the server replies only then.
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kUnknown, HasSubstr("not answered")));
  time.Advance(absl::Milliseconds(4));
  std::move(fake.pending[0])(absl::OkStatus());
  EXPECT_OK(answer);
  const std::string text = metrics->TextExposition();
  EXPECT_EQ(Sample(text, R"(evaluatecode_decision_log_writes_total{result="ok"})"), 1);
  EXPECT_DOUBLE_EQ(Sample(text, "evaluatecode_decision_log_write_duration_seconds_sum"), 0.004);
}

TEST(DecisionLogTest, ASinkFailureReachesTheCallerAndTheMetrics) {
  SimulatedTimeSource time;
  auto metrics = NewMetrics();
  auto sink = std::make_unique<FakeSink>();
  FakeSink& fake = *sink;
  DecisionLog log(std::move(sink), InputMask(), time, metrics.get());
  const Evaluation evaluation;
  absl::Status answer;
  log.Record(evaluation.Record("d-8"), [&](absl::Status status) { answer = status; });
  fake.healthy = false;
  std::move(fake.pending[0])(absl::UnavailableError("decision log: cannot write: disk full"));
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("disk full")));
  EXPECT_FALSE(log.IsHealthy());
  EXPECT_EQ(Sample(metrics->TextExposition(),
                   R"(evaluatecode_decision_log_writes_total{result="error"})"),
            1);
}

TEST(DecisionLogTest, AMalformedRecordIsAnInternalErrorAndNothingIsWritten) {
  SimulatedTimeSource time;
  auto sink = std::make_unique<FakeSink>();
  FakeSink& fake = *sink;
  DecisionLog log(std::move(sink), InputMask(), time, /*metrics=*/nullptr);
  const Evaluation evaluation;
  DecisionRecord record = evaluation.Record("d-9");
  record.response = nullptr;  // neither response nor error
  absl::Status answer;
  log.Record(record, [&](absl::Status status) { answer = status; });
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kInternal, HasSubstr("exactly one")));
  EXPECT_TRUE(fake.lines.empty());
}

TEST(DecisionLogTest, NewDecisionLogWritesDurableMaskedRecordsToAFile) {
  SimulatedTimeSource time;
  DecisionLogOptions options;
  options.sink = DecisionLogOptions::Sink::kFile;
  options.file.path = absl::StrCat(getenv("TEST_TMPDIR"), "/new_decision_log.jsonl");
  std::remove(options.file.path.c_str());
  options.file.durable = true;
  options.mask = {"ssn"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DecisionLog> log, NewDecisionLog(options, time, nullptr));
  const Evaluation evaluation;
  absl::Notification done;
  absl::Status answer;
  log->Record(evaluation.Record("d-10"), [&](absl::Status status) {
    answer = status;
    done.Notify();
  });
  done.WaitForNotification();
  ASSERT_OK(answer);
  std::ifstream file(options.file.path);
  std::string line;
  ASSERT_TRUE(std::getline(file, line));
  const json record = json::parse(line);
  EXPECT_EQ(record["decision_id"], "d-10");
  EXPECT_EQ(record["input"]["ssn"], "***");
  EXPECT_EQ(line.find("123-45-6789"), std::string::npos);
}

TEST(DecisionLogTest, NewDecisionLogRefusesBadMasksBatchesAndUnopenableFiles) {
  SimulatedTimeSource time;
  DecisionLogOptions options;
  options.mask = {"a..b"};
  EXPECT_THAT(NewDecisionLog(options, time, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a..b")));
  options.mask.clear();
  options.batching.max_batch = 0;
  EXPECT_THAT(NewDecisionLog(options, time, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("decision_log.max_batch")));
  options.batching.max_batch = 1;
  options.sink = DecisionLogOptions::Sink::kFile;
  options.file.path = "/nonexistent-dir/decisions.jsonl";
  EXPECT_THAT(NewDecisionLog(options, time, nullptr),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(options.file.path)));
}

}  // namespace
}  // namespace evaluatecode::service::observability
