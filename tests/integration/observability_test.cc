// Metrics and decision records of the real server, through real calls.
#include <algorithm>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/metrics_scrape.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::testing::HasSubstr;
using testing::SampleValue;
using testing::ScrapeMetrics;

TEST(ObservabilityTest, MetricsMoveAndEveryEvaluationLeavesOneCompleteMaskedRecord) {
  const std::string log_path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/decisions.jsonl");
  service::ServerConfig config = testing::TestConfig();
  config.decision_log.sink = service::observability::DecisionLogOptions::Sink::kFile;
  config.decision_log.file.path = log_path;
  config.decision_log.file.durable = true;
  config.decision_log.mask = {"applicant.ssn"};
  testing::TestServer server(config);

  const std::string before = ScrapeMetrics(server.server().metrics_port());
  evaluate::v1::EvaluateCodeResponse response;
  evaluate::v1::EvaluateCodeRequest request = testing::MakeRequest(
      "return {decision: input.applicant.score > 0.5 ? 'decline' : 'approve', reasons: []};",
      R"({"applicant": {"score": 0.9, "ssn": "123-45-6789"}})");
  (*request.mutable_labels())["tenant"] = "acme";
  grpc::ClientContext context;
  context.AddMetadata("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(server.stub().EvaluateCode(&context, request, &response).ok());
  grpc::Status failed =
      testing::Evaluate(server.stub(), testing::MakeRequest("throw new Error('x');"), &response);
  ASSERT_FALSE(failed.ok());

  const std::string after = ScrapeMetrics(server.server().metrics_port());
  EXPECT_EQ(SampleValue(after, R"(evaluatecode_rpcs_received_total{method="EvaluateCode"})") -
                std::max(0.0, SampleValue(before, R"(evaluatecode_rpcs_received_total{method="EvaluateCode"})")),
            2);
  EXPECT_GT(SampleValue(after, "evaluatecode_sandbox_worker_starts_total"), 0);
  EXPECT_GT(SampleValue(after, R"(evaluatecode_decision_log_writes_total{result="ok"})"), 0);
  EXPECT_THAT(after, HasSubstr("SCRIPT_RUNTIME_ERROR"));
  EXPECT_THAT(after, HasSubstr("evaluatecode_evaluation_duration_seconds_bucket"));

  // Durable mode: both records are on disk before their replies were sent.
  std::ifstream file(log_path);
  std::string line;
  std::vector<nlohmann::json> records;
  while (std::getline(file, line)) records.push_back(nlohmann::json::parse(line, nullptr, false));
  ASSERT_EQ(records.size(), 2u);
  const std::string first = records[0].dump();
  EXPECT_THAT(first, HasSubstr("4bf92f3577b34da6a3ce929d0e0e4736"));
  EXPECT_THAT(first, HasSubstr("DECLINE"));
  EXPECT_THAT(first, HasSubstr("acme"));
  EXPECT_THAT(first, ::testing::Not(HasSubstr("123-45-6789")));
  EXPECT_THAT(records[1].dump(), HasSubstr("SCRIPT_RUNTIME_ERROR"));
}

}  // namespace
}  // namespace evaluatecode
