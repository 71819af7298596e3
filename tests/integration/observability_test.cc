// Metrics and decision records of the real server, through real calls.
#include <algorithm>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/connectors/fake_vendor.h"
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
  config.metrics.enabled = true;
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

  // A call refused before the sandbox counts as a refusal, not an evaluation.
  ASSERT_FALSE(testing::Evaluate(server.stub(), testing::MakeRequest(""), &response).ok());
  const std::string refused = ScrapeMetrics(server.server().metrics_port());
  EXPECT_EQ(SampleValue(refused, R"(evaluatecode_refusals_total{reason="INVALID_REQUEST"})"), 1);
  EXPECT_EQ(SampleValue(refused, R"(evaluatecode_evaluations_total{outcome="INVALID_REQUEST"})"),
            SampleValue(after, R"(evaluatecode_evaluations_total{outcome="INVALID_REQUEST"})"));
}

TEST(ObservabilityTest, ADecisionLogThatCannotWriteFailsClosedAndTakesTheReplicaOutOfRotation) {
  service::ServerConfig config = testing::TestConfig();
  config.decision_log.sink = service::observability::DecisionLogOptions::Sink::kFile;
  config.decision_log.file.path = "/dev/full";  // every write fails with ENOSPC
  config.decision_log.file.durable = true;
  testing::TestServer server(config);

  evaluate::v1::EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(
      server.stub(), testing::MakeRequest("return {decision: 'approve'};"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(testing::DetailsOf(status).info.reason(), "DECISION_LOG_UNAVAILABLE");
  EXPECT_FALSE(response.has_decision());  // no decision without its record

  auto health_of = [&](const std::string& service) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse reply;
    grpc::ClientContext context;
    EXPECT_TRUE(server.health().Check(&context, request, &reply).ok());
    return reply.status();
  };
  // Out of rotation (readiness), but alive: a restart would not bring the disk back.
  EXPECT_EQ(health_of("evaluate.v1.EvaluateService"),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(health_of(""), grpc::health::v1::HealthCheckResponse::SERVING);
  // Later calls are refused the same way, at once.
  status = testing::Evaluate(server.stub(), testing::MakeRequest("return 1;"), &response);
  EXPECT_EQ(testing::DetailsOf(status).info.reason(), "DECISION_LOG_UNAVAILABLE");
}

// `flaky` always answers 503 and its breaker opens after two failures; `limited` answers 200 but
// allows one call (its token comes back after 1000 s).
constexpr char kResilienceConnectors[] = R"(
connectors:
  flaky:
    base_url: BASE_URL
    allow_insecure_loopback: true
    retry: {max_attempts: 2, base_backoff_ms: 1, max_backoff_ms: 1}
    circuit_breaker: {failure_rate_percent: 50, window_calls: 2, minimum_calls: 2, open_ms: 600000}
    operations:
      get:
        path: "/flaky/{id}"
        parameters: {id: {type: string, required: true}}
  limited:
    base_url: BASE_URL
    allow_insecure_loopback: true
    rate_limit: {requests_per_second: 0.001, burst: 1}
    operations:
      get:
        path: "/limited/{id}"
        parameters: {id: {type: string, required: true}}
)";

TEST(ObservabilityTest, BreakerRetryAndRateLimitMetricsMoveWithTheVendor) {
  testing::FakeVendor vendor([](const testing::VendorRequest& request) {
    testing::VendorResponse response;
    response.status = absl::StartsWith(request.path, "/flaky/") ? 503 : 200;
    response.body = "{}";
    return response;
  });
  absl::StatusOr<service::ServerConfig> parsed = service::ParseConfig(
      absl::StrReplaceAll(kResilienceConnectors, {{"BASE_URL", vendor.base_url()}}));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  service::ServerConfig config = testing::TestConfig();
  config.connectors = parsed->connectors;
  config.metrics.enabled = true;
  testing::TestServer server(config);

  // The series of one connector: `metric` with `labels` after the connector label.
  auto series = [](absl::string_view metric, absl::string_view connector,
                   absl::string_view labels = "") {
    return absl::StrCat("evaluatecode_connector_", metric, "{connector=\"", connector, "\"", labels,
                        "}");
  };
  const std::string before = ScrapeMetrics(server.server().metrics_port());
  EXPECT_EQ(SampleValue(before, series("breaker_state", "flaky", R"(,state="closed")")), 1);
  EXPECT_EQ(SampleValue(before, series("breaker_state", "flaky", R"(,state="open")")), 0);
  EXPECT_EQ(SampleValue(before, series("retries_total", "flaky")), 0);
  EXPECT_EQ(SampleValue(before, series("rate_limited_total", "limited")), 0);

  // flaky: the first call fails twice (one retry) and opens the breaker; the second is refused by
  // the breaker. limited: the first call takes the only token, the second is refused.
  constexpr char kCode[] = R"js(
var outcomes = [];
['flaky', 'flaky', 'limited', 'limited'].forEach(function (name, i) {
  try { connectors[name].get({id: 'u' + i}); outcomes.push('ok'); }
  catch (e) { outcomes.push(e.reason); }
});
return {decision: 'approve', reasons: outcomes};
)js";
  evaluate::v1::EvaluateCodeRequest request = testing::MakeRequest(kCode, "{}", 3000);
  request.add_connectors("flaky");
  request.add_connectors("limited");
  evaluate::v1::EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(server.stub(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.decision().reasons(),
              ::testing::ElementsAre("VENDOR_ERROR", "CONNECTOR_UNAVAILABLE", "ok",
                                     "CONNECTOR_UNAVAILABLE"));
  EXPECT_EQ(vendor.request_count(), 3);

  const std::string after = ScrapeMetrics(server.server().metrics_port());
  EXPECT_EQ(SampleValue(after, series("breaker_state", "flaky", R"(,state="open")")), 1);
  EXPECT_EQ(SampleValue(after, series("breaker_state", "flaky", R"(,state="closed")")), 0);
  EXPECT_EQ(SampleValue(after, series("breaker_state", "flaky", R"(,state="half_open")")), 0);
  EXPECT_EQ(SampleValue(after, series("retries_total", "flaky")), 1);
  EXPECT_EQ(SampleValue(after, series("http_attempts_total", "flaky")), 2);
  EXPECT_EQ(SampleValue(after, series("rate_limited_total", "flaky")), 0);
  EXPECT_EQ(SampleValue(after, series("rate_limited_total", "limited")), 1);
  EXPECT_EQ(SampleValue(after, series("breaker_state", "limited", R"(,state="closed")")), 1);
}

}  // namespace
}  // namespace evaluatecode
