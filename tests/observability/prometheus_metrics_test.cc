// Metrics: served on their own port, present before any traffic, moving with it, and with label
// values that never come from user input.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/observability/prometheus_metrics.h"
#include "tests/testing/metrics_scrape.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::service::observability {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::SampleValue;
using testing::ScrapeMetrics;
using testing::StatusIs;

std::unique_ptr<PrometheusMetrics> NewUnserved(const ConnectorLabelSet& connectors = {}) {
  absl::StatusOr<std::unique_ptr<PrometheusMetrics>> metrics =
      NewPrometheusMetrics({/*enabled=*/false, ""}, connectors);
  EXPECT_TRUE(metrics.ok()) << metrics.status();
  return *std::move(metrics);
}

TEST(PrometheusMetricsTest, ServesOnAFreePortAndTheScrapeMovesWithCalls) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PrometheusMetrics> metrics,
                       NewPrometheusMetrics({/*enabled=*/true, "127.0.0.1:0"}));
  const int port = metrics->listening_port();
  ASSERT_GT(port, 0);

  const std::string handled_ok =
      R"(evaluatecode_rpcs_handled_total{code="OK",method="EvaluateCode"})";
  const std::string received = R"(evaluatecode_rpcs_received_total{method="EvaluateCode"})";
  const std::string before = ScrapeMetrics(port);
  // Present, at zero, before any traffic: rates and alerts see zeros, not missing series.
  EXPECT_EQ(SampleValue(before, handled_ok), 0);
  EXPECT_EQ(SampleValue(before, received), 0);
  EXPECT_EQ(SampleValue(before, R"(evaluatecode_evaluations_total{outcome="SCRIPT_TIMEOUT"})"), 0);

  for (int i = 0; i < 3; ++i) {
    metrics->RecordRpcReceived("EvaluateCode");
    metrics->RecordRpc("EvaluateCode", absl::StatusCode::kOk, absl::Milliseconds(2));
  }
  metrics->RecordRpcReceived("EvaluateCode");
  metrics->RecordRpc("EvaluateCode", absl::StatusCode::kDeadlineExceeded, absl::Seconds(1));
  metrics->RecordEvaluation("SCRIPT_TIMEOUT", absl::Seconds(1), absl::Milliseconds(990),
                            1 << 20, /*compile_cache_hit=*/true);

  const std::string after = ScrapeMetrics(port);
  EXPECT_EQ(SampleValue(after, handled_ok), 3);
  EXPECT_EQ(SampleValue(after, received), 4);
  EXPECT_EQ(
      SampleValue(after, R"(evaluatecode_rpcs_handled_total{code="DEADLINE_EXCEEDED",method="EvaluateCode"})"),
      1);
  EXPECT_EQ(SampleValue(after, R"(evaluatecode_rpc_duration_seconds_count{method="EvaluateCode"})"), 4);
  EXPECT_EQ(SampleValue(after, R"(evaluatecode_evaluations_total{outcome="SCRIPT_TIMEOUT"})"), 1);
  // The endpoint serves the registry's exposition (after the exposer's own scrape metrics).
  EXPECT_TRUE(absl::StrContains(after, metrics->TextExposition()));
}

TEST(PrometheusMetricsTest, ABusyAddressIsUnavailableNotAnException) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PrometheusMetrics> first,
                       NewPrometheusMetrics({/*enabled=*/true, "127.0.0.1:0"}));
  const std::string taken = absl::StrCat("127.0.0.1:", first->listening_port());
  EXPECT_THAT(NewPrometheusMetrics({/*enabled=*/true, taken}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(taken)));
}

TEST(PrometheusMetricsTest, DisabledMetricsAreCountedButNotServed) {
  std::unique_ptr<PrometheusMetrics> metrics = NewUnserved();
  EXPECT_EQ(metrics->listening_port(), 0);
  metrics->RecordCompileCache(false);
  EXPECT_EQ(SampleValue(metrics->TextExposition(),
                   R"(evaluatecode_compile_cache_lookups_total{result="miss"})"),
            1);
}

TEST(PrometheusMetricsTest, RefusalsAreCountedByReason) {
  std::unique_ptr<PrometheusMetrics> metrics = NewUnserved();
  metrics->RecordRefusal("QUOTA_EXCEEDED");
  metrics->RecordRefusal("QUOTA_EXCEEDED");
  metrics->RecordRefusal("CALLER_NOT_AUTHORIZED");
  metrics->RecordRefusal("a caller's text");
  const std::string text = metrics->TextExposition();
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_refusals_total{reason="QUOTA_EXCEEDED"})"), 2);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_refusals_total{reason="CALLER_NOT_AUTHORIZED"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_refusals_total{reason="SERVER_OVERLOADED"})"), 0);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_refusals_total{reason="OTHER"})"), 1);
}

TEST(PrometheusMetricsTest, EvaluationsFeedOutcomeLatencyEngineHeapAndCache) {
  std::unique_ptr<PrometheusMetrics> metrics = NewUnserved();
  metrics->RecordEvaluation("OK", absl::Microseconds(80), absl::Microseconds(30), 300 << 10,
                            /*compile_cache_hit=*/true);
  metrics->RecordEvaluation("OK", absl::Milliseconds(40), absl::Milliseconds(35), 2 << 20,
                            /*compile_cache_hit=*/false);
  metrics->RecordCompileCache(true);  // a CompileCode lookup
  const std::string text = metrics->TextExposition();
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_evaluations_total{outcome="OK"})"), 2);
  EXPECT_EQ(SampleValue(text, "evaluatecode_evaluation_duration_seconds_count"), 2);
  // 80 µs lands in the 100 µs bucket; 40 ms does not.
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_evaluation_duration_seconds_bucket{le="0.0001"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_evaluation_duration_seconds_bucket{le="0.05"})"), 2);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_evaluation_duration_seconds_bucket{le="30"})"), 2);
  EXPECT_NEAR(SampleValue(text, "evaluatecode_engine_duration_seconds_sum"), 0.03503, 1e-9);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_evaluation_peak_heap_bytes_bucket{le="1048576"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_compile_cache_lookups_total{result="hit"})"), 2);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_compile_cache_lookups_total{result="miss"})"), 1);
}

TEST(PrometheusMetricsTest, WorkersQueueAndInFlight) {
  std::unique_ptr<PrometheusMetrics> metrics = NewUnserved();
  metrics->RecordWorkerStart();
  metrics->RecordWorkerStart();
  metrics->RecordWorkerKill();
  metrics->RecordWorkerCrash();
  metrics->SetQueueDepth(7);
  metrics->SetInFlight(2);
  metrics->SetQueueDepth(3);
  const std::string text = metrics->TextExposition();
  EXPECT_EQ(SampleValue(text, "evaluatecode_sandbox_worker_starts_total"), 2);
  EXPECT_EQ(SampleValue(text, "evaluatecode_sandbox_worker_kills_total"), 1);
  EXPECT_EQ(SampleValue(text, "evaluatecode_sandbox_worker_crashes_total"), 1);
  EXPECT_EQ(SampleValue(text, "evaluatecode_evaluator_queue_depth"), 3);
  EXPECT_EQ(SampleValue(text, "evaluatecode_evaluations_in_flight"), 2);
}

TEST(PrometheusMetricsTest, ConnectorCallsBreakerRetriesAndRateLimits) {
  std::unique_ptr<PrometheusMetrics> metrics = NewUnserved({{"sift", {"score"}}});
  // Known connectors are present from the start, breaker closed.
  std::string text = metrics->TextExposition();
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_connector_breaker_state{connector="sift",state="closed"})"),
            1);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_connector_retries_total{connector="sift"})"), 0);

  metrics->RecordConnectorCall("sift", "score", "OK", absl::Milliseconds(120), 2, false);
  metrics->RecordConnectorCall("sift", "score", "OK", absl::Microseconds(40), 0, true);
  metrics->RecordConnectorCall("sift", "score", "CONNECTOR_TIMEOUT", absl::Seconds(2), 3, false);
  metrics->RecordRetry("sift");
  metrics->RecordRateLimited("sift");
  metrics->SetBreakerState("sift", BreakerState::kOpen);
  text = metrics->TextExposition();
  EXPECT_EQ(SampleValue(text,
                   R"(evaluatecode_connector_calls_total{connector="sift",operation="score",outcome="OK"})"),
            2);
  EXPECT_EQ(
      SampleValue(text,
             R"(evaluatecode_connector_calls_total{connector="sift",operation="score",outcome="CONNECTOR_TIMEOUT"})"),
      1);
  EXPECT_EQ(
      SampleValue(text,
             R"(evaluatecode_connector_call_duration_seconds_count{connector="sift",operation="score"})"),
      3);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_connector_http_attempts_total{connector="sift"})"), 5);
  EXPECT_EQ(
      SampleValue(text,
             R"(evaluatecode_connector_cache_hits_total{connector="sift",operation="score"})"),
      1);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_connector_retries_total{connector="sift"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_connector_rate_limited_total{connector="sift"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_connector_breaker_state{connector="sift",state="open"})"),
            1);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_connector_breaker_state{connector="sift",state="closed"})"),
            0);
  EXPECT_EQ(
      SampleValue(text, R"(evaluatecode_connector_breaker_state{connector="sift",state="half_open"})"),
      0);
}

TEST(PrometheusMetricsTest, DecisionLogWrites) {
  std::unique_ptr<PrometheusMetrics> metrics = NewUnserved();
  metrics->RecordDecisionLogWrite(absl::Microseconds(900), true);
  metrics->RecordDecisionLogWrite(absl::Milliseconds(3), false);
  const std::string text = metrics->TextExposition();
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_decision_log_writes_total{result="ok"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_decision_log_writes_total{result="error"})"), 1);
  EXPECT_EQ(SampleValue(text, "evaluatecode_decision_log_write_duration_seconds_count"), 2);
}

TEST(PrometheusMetricsTest, LabelValuesNeverComeFromUserInput) {
  std::unique_ptr<PrometheusMetrics> metrics = NewUnserved({{"sift", {"score"}}});
  // Script-chosen names (a call to an unconfigured connector or operation), an unknown reason and
  // an unknown method: each lands in one bounded "other" series, however many distinct values come.
  for (int i = 0; i < 500; ++i) {
    const std::string junk = absl::StrCat("tenant-", i, "-a1b2c3");
    metrics->RecordConnectorCall(junk, "score", "CONNECTOR_NOT_ALLOWED", absl::Microseconds(5), 0,
                                 false);
    metrics->RecordConnectorCall("sift", junk, "INVALID_PARAMS", absl::Microseconds(5), 0, false);
    metrics->RecordConnectorCall("sift", "score", junk, absl::Microseconds(5), 0, false);
    metrics->RecordEvaluation(junk, absl::Microseconds(5), absl::Microseconds(1), 0, true);
    metrics->RecordRpc(junk, absl::StatusCode::kOk, absl::Microseconds(5));
    metrics->RecordRetry(junk);
    metrics->SetBreakerState(junk, BreakerState::kOpen);
  }
  const std::string text = metrics->TextExposition();
  EXPECT_THAT(text, Not(HasSubstr("tenant-")));
  EXPECT_EQ(SampleValue(text,
                   R"(evaluatecode_connector_calls_total{connector="other",operation="other",outcome="CONNECTOR_NOT_ALLOWED"})"),
            500);
  EXPECT_EQ(SampleValue(text,
                   R"(evaluatecode_connector_calls_total{connector="sift",operation="other",outcome="INVALID_PARAMS"})"),
            500);
  EXPECT_EQ(SampleValue(text,
                   R"(evaluatecode_connector_calls_total{connector="sift",operation="score",outcome="OTHER"})"),
            500);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_evaluations_total{outcome="OTHER"})"), 500);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_rpcs_handled_total{code="OK",method="other"})"), 500);
  EXPECT_EQ(SampleValue(text, R"(evaluatecode_connector_retries_total{connector="other"})"), 500);
  // Reasons the proto does not list yet but the service will return are known.
  metrics->RecordEvaluation("DECISION_LOG_UNAVAILABLE", absl::Microseconds(5),
                            absl::Microseconds(1), 0, true);
  EXPECT_EQ(SampleValue(metrics->TextExposition(),
                   R"(evaluatecode_evaluations_total{outcome="DECISION_LOG_UNAVAILABLE"})"),
            1);
}

}  // namespace
}  // namespace evaluatecode::service::observability
