// The gateway's logic on a fake transport and simulated time: allowlist, params, retries, breaker,
// rate limit, cache, in-flight collapsing, deadlines, vendor errors, scrubbing, and what it reports
// to its observer.

#include "connectors/http_connector_gateway.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/builtin_connector_types.h"
#include "connectors/config_parser.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/connectors/fake_http_client.h"
#include "tests/testing/connectors/fake_secret_store.h"
#include "tests/testing/connectors/fixed_random_source.h"
#include "tests/testing/connectors/recording_connector_observer.h"
#include "tests/testing/simulated_time_source.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::connectors {
namespace {

using ::evaluatecode::testing::Answer;
using ::evaluatecode::testing::Fail;
using ::evaluatecode::testing::FakeExchange;
using ::evaluatecode::testing::FakeHttpClient;
using ::evaluatecode::testing::FakeSecretStore;
using ::evaluatecode::testing::FixedRandomSource;
using ::evaluatecode::testing::RecordingConnectorObserver;
using ::evaluatecode::testing::SimulatedTimeSource;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using Reason = ConnectorErrorReason;

constexpr char kKey[] = "sk_test_CANARY_0123456789abcdef";

constexpr char kConfig[] = R"(connectors:
  sift:
    type: sift
    auth: {secret_file: /secrets/sift}
    timeout_ms: 1000
    retry: {max_attempts: 3, base_backoff_ms: 20, max_backoff_ms: 200}
    circuit_breaker: {failure_rate_percent: 50, window_calls: 10, minimum_calls: 4, open_ms: 5000, half_open_calls: 1}
  acme:
    base_url: https://api.acme.example
    auth: {type: header, header: X-Api-Key, secret_file: /secrets/acme}
    cache_ttl_ms: 60000
    rate_limit: {requests_per_second: 2, burst: 2}
    circuit_breaker: {failure_rate_percent: 0}
    operations:
      person:
        path: /people/{id}
        parameters:
          id: {type: string, required: true}
      report:
        method: POST
        path: /reports
        parameters:
          amount: {type: number, required: true}
)";

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    types_ = NewBuiltinConnectorTypes();
    auto configs = ParseConnectorsConfigText(kConfig, *types_);
    ASSERT_TRUE(configs.ok()) << configs.status();
    secrets_.Set("/secrets/sift", kKey);
    secrets_.Set("/secrets/acme", kKey);
    GatewayOptions options;
    options.connectors = *configs;
    options.types = types_.get();
    options.http_client = &http_;
    options.secrets = &secrets_;
    options.time_source = &time_;
    options.random = &random_;
    options.observer = &observer_;
    auto gateway = NewConnectorGateway(std::move(options));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    http_.SetHandler([](const HttpRequest&) {
      return Answer(200, R"({"status":0,"error_message":"OK","scores":{"payment_abuse":{"score":0.93}}})");
    });
  }

  ConnectorRequest Request(const std::string& connector, const std::string& operation,
                           const std::string& params_json, const std::string& tenant = "t1") {
    ConnectorRequest request;
    request.tenant = tenant;
    request.connector = connector;
    request.operation = operation;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(params_json, &request.params).ok());
    request.deadline = time_.Now() + absl::Seconds(5);
    request.allowed_connectors = {"sift", "acme"};
    return request;
  }

  // Starts a call; the result lands in the returned slot once the fake transport runs.
  std::shared_ptr<std::optional<ConnectorResult>> Start(ConnectorRequest request) {
    auto slot = std::make_shared<std::optional<ConnectorResult>>();
    gateway_->Call(std::move(request), [slot](ConnectorResult result) { *slot = std::move(result); });
    return slot;
  }

  ConnectorResult Run(ConnectorRequest request) {
    auto slot = Start(std::move(request));
    http_.RunUntilIdle();
    EXPECT_TRUE(slot->has_value());
    return slot->has_value() ? **slot : ConnectorResult{};
  }

  ConnectorResult Score(const std::string& user = "u1") {
    return Run(Request("sift", "score", R"({"user_id": ")" + user + R"("})"));
  }

  SimulatedTimeSource time_;
  FakeHttpClient http_{time_};
  FakeSecretStore secrets_;
  FixedRandomSource random_{0.5};
  RecordingConnectorObserver observer_;
  std::unique_ptr<ConnectorTypeRegistry> types_;
  std::unique_ptr<ConnectorGateway> gateway_;
};

TEST_F(GatewayTest, SiftScoreLookupBuildsTheV205Request) {
  ConnectorResult result = Run(Request(
      "sift", "score", R"({"user_id": "billy@example.com", "abuse_types": ["payment_abuse", "account_takeover"]})"));
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_FALSE(result.from_cache);
  EXPECT_EQ(result.body->struct_value().fields().at("scores").struct_value().fields().at(
                "payment_abuse").struct_value().fields().at("score").number_value(),
            0.93);
  ASSERT_THAT(http_.requests(), SizeIs(1));
  const HttpRequest sent = http_.requests()[0];
  EXPECT_EQ(sent.method, "GET");
  EXPECT_EQ(sent.url,
            "https://api.sift.com/v205/score/billy%40example.com?abuse_types=payment_abuse,account_takeover");
  EXPECT_FALSE(sent.allow_plain_http);
  EXPECT_FALSE(sent.egress.allow_loopback);
  bool has_basic = false;
  for (const auto& [name, value] : sent.headers) {
    if (name == "Authorization") {
      has_basic = value == "Basic " + absl::Base64Escape(absl::StrCat(kKey, ":"));
    }
  }
  EXPECT_TRUE(has_basic);
  EXPECT_EQ(result.redacted_params.fields().at("user_id").string_value(), "billy@example.com");
}

TEST_F(GatewayTest, ListsConnectorsSortedWithTypedParameters) {
  std::vector<ConnectorDescription> list = gateway_->ListConnectors();
  ASSERT_THAT(list, SizeIs(2));
  EXPECT_EQ(list[0].name, "acme");
  EXPECT_EQ(list[1].name, "sift");
  EXPECT_EQ(list[1].description, "Sift fraud scores (Score API v205)");
  ASSERT_THAT(list[1].operations, SizeIs(3));
  const OperationDescription& score = list[1].operations[0];
  EXPECT_EQ(score.name, "score");
  EXPECT_EQ(score.method, "GET");
  ASSERT_THAT(score.parameters, SizeIs(2));
  EXPECT_EQ(score.parameters[0].name, "user_id");
  EXPECT_EQ(score.parameters[0].type, "string");
  EXPECT_TRUE(score.parameters[0].required);
  EXPECT_EQ(score.parameters[1].type, "string_list");
  EXPECT_FALSE(score.parameters[1].required);
}

TEST_F(GatewayTest, RefusesConnectorsNotEnabledOrNotAllowed) {
  ConnectorResult unknown = Run(Request("stripe", "charge", "{}"));
  EXPECT_EQ(unknown.reason, Reason::kConnectorNotAllowed);
  EXPECT_THAT(unknown.message, HasSubstr("not enabled on this server"));
  ConnectorRequest request = Request("sift", "score", R"({"user_id": "u1"})");
  request.allowed_connectors = {"acme"};
  ConnectorResult not_listed = Run(request);
  EXPECT_EQ(not_listed.reason, Reason::kConnectorNotAllowed);
  EXPECT_THAT(not_listed.message, HasSubstr("not in this request's connectors list"));
  EXPECT_EQ(ConnectorErrorReasonName(not_listed.reason), "CONNECTOR_NOT_ALLOWED");
  EXPECT_THAT(http_.requests(), SizeIs(0));
}

TEST_F(GatewayTest, RefusesUnknownOperationsAndBadParams) {
  ConnectorResult op = Run(Request("sift", "delete_user", R"({"user_id": "u1"})"));
  EXPECT_EQ(op.reason, Reason::kInvalidParams);
  EXPECT_THAT(op.message, HasSubstr("expected one of score, user_score, rescore"));
  ConnectorResult host = Run(Request("sift", "score", R"({"user_id": "u1", "url": "http://evil"})"));
  EXPECT_EQ(host.reason, Reason::kInvalidParams);
  ConnectorResult missing = Run(Request("sift", "score", "{}"));
  EXPECT_EQ(missing.reason, Reason::kInvalidParams);
  EXPECT_EQ(ConnectorErrorReasonName(missing.reason), "INVALID_PARAMS");
  EXPECT_THAT(http_.requests(), SizeIs(0));
}

TEST_F(GatewayTest, SiftNonZeroStatusIsAVendorError) {
  http_.SetHandler([](const HttpRequest&) {
    return Answer(200, R"({"status":51,"error_message":"Invalid API key"})");
  });
  ConnectorResult result = Score();
  EXPECT_EQ(result.reason, Reason::kVendorError);
  EXPECT_EQ(result.http_status, 200);
  EXPECT_THAT(result.message, HasSubstr("Sift status 51: Invalid API key"));
  EXPECT_EQ(result.body->struct_value().fields().at("status").number_value(), 51);
  EXPECT_EQ(result.attempts, 1) << "a vendor error in the body is not retried";
}

TEST_F(GatewayTest, NonJsonBodyIsAVendorError) {
  http_.SetHandler([](const HttpRequest&) { return Answer(200, "<html>oops</html>"); });
  ConnectorResult result = Score();
  EXPECT_EQ(result.reason, Reason::kVendorError);
  EXPECT_THAT(result.message, HasSubstr("not JSON"));
  EXPECT_EQ(result.body->kind_case(), google::protobuf::Value::kNullValue);
}

TEST_F(GatewayTest, TooDeeplyNestedJsonIsRefused) {
  http_.SetHandler([](const HttpRequest&) {
    return Answer(200, std::string(5000, '[') + std::string(5000, ']'));
  });
  EXPECT_EQ(Score().reason, Reason::kVendorError);
}

TEST_F(GatewayTest, NestingUpToThirtyTwoLevelsIsKept) {
  std::string body;
  http_.SetHandler([&body](const HttpRequest&) { return Answer(200, body); });
  body = R"({"status":0,"deep":)" + std::string(31, '[') + "7" + std::string(31, ']') + "}";
  ConnectorResult kept = Score();
  ASSERT_TRUE(kept.ok()) << kept.message;
  const google::protobuf::Value* value = &kept.body->struct_value().fields().at("deep");
  for (int level = 0; level < 31; ++level) value = &value->list_value().values(0);
  EXPECT_EQ(value->number_value(), 7);
  body = R"({"status":0,"deep":)" + std::string(32, '[') + "7" + std::string(32, ']') + "}";
  EXPECT_EQ(Score().reason, Reason::kVendorError);
}

TEST_F(GatewayTest, EveryJsonTypeBecomesItsValueAndARepeatedKeyKeepsTheLast) {
  http_.SetHandler([](const HttpRequest&) {
    return Answer(200, R"({"status":0,"s":"t\u00e9","i":-3,"u":18446744073709551615,"f":0.25,)"
                       R"("b":false,"n":null,"o":{},"a":[1,"x",[]],"k":{"x":1},"k":"last"})");
  });
  ConnectorResult result = Score();
  ASSERT_TRUE(result.ok()) << result.message;
  const auto& fields = result.body->struct_value().fields();
  EXPECT_EQ(fields.at("s").string_value(), "t\xc3\xa9");
  EXPECT_EQ(fields.at("i").number_value(), -3);
  EXPECT_EQ(fields.at("u").number_value(), 18446744073709551615.0);
  EXPECT_EQ(fields.at("f").number_value(), 0.25);
  EXPECT_FALSE(fields.at("b").bool_value());
  EXPECT_EQ(fields.at("n").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(fields.at("o").struct_value().fields_size(), 0);
  ASSERT_EQ(fields.at("a").list_value().values_size(), 3);
  EXPECT_EQ(fields.at("a").list_value().values(1).string_value(), "x");
  EXPECT_EQ(fields.at("a").list_value().values(2).list_value().values_size(), 0);
  EXPECT_EQ(fields.at("k").string_value(), "last");
}

TEST_F(GatewayTest, RetriesIdempotentCallsOnRetryableFailuresWithJitteredBackoff) {
  int calls = 0;
  http_.SetHandler([&calls](const HttpRequest&) {
    ++calls;
    if (calls == 1) return Answer(503, "{}");
    if (calls == 2) return Fail(TransportError::kConnectionReset);
    return Answer(200, R"({"status":0})");
  });
  const absl::Time start = time_.Now();
  ConnectorResult result = Score();
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.attempts, 3);
  // Full jitter with random 0.5: 0.5 * 20 ms, then 0.5 * 40 ms.
  EXPECT_THAT(http_.delays(), ::testing::ElementsAre(absl::Milliseconds(10), absl::Milliseconds(20)));
  EXPECT_EQ(result.duration, absl::Milliseconds(30));
  EXPECT_EQ(time_.Now() - start, absl::Milliseconds(30));
  EXPECT_THAT(observer_.events(), ElementsAre("sift retry", "sift retry"))
      << "each retry is reported, the first attempt is not";
}

TEST_F(GatewayTest, GivesUpAfterThreeAttempts) {
  http_.SetHandler([](const HttpRequest&) { return Answer(502, R"({"error":"bad gateway"})"); });
  ConnectorResult result = Score();
  EXPECT_EQ(result.reason, Reason::kVendorError);
  EXPECT_EQ(result.http_status, 502);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_THAT(http_.requests(), SizeIs(3));
}

TEST_F(GatewayTest, DoesNotRetryOtherStatuses) {
  for (int status : {400, 401, 404, 500}) {
    http_.SetHandler([status](const HttpRequest&) { return Answer(status, "{}"); });
    ConnectorResult result = Score(absl::StrCat("user", status));
    EXPECT_EQ(result.reason, Reason::kVendorError);
    EXPECT_EQ(result.attempts, 1) << status;
  }
}

TEST_F(GatewayTest, HonoursRetryAfter) {
  int calls = 0;
  http_.SetHandler([&calls](const HttpRequest&) {
    FakeExchange exchange = Answer(++calls == 1 ? 429 : 200, R"({"status":0})");
    exchange.response.retry_after = absl::Seconds(1);
    return exchange;
  });
  ConnectorResult result = Score();
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(http_.delays(), ::testing::ElementsAre(absl::Seconds(1)));
}

TEST_F(GatewayTest, APostIsRetriedOnlyWhenNothingWasSent) {
  http_.SetHandler([](const HttpRequest&) { return Fail(TransportError::kConnectionReset); });
  ConnectorResult rescore = Run(Request("sift", "rescore", R"({"user_id": "u1"})"));
  EXPECT_EQ(rescore.reason, Reason::kConnectorUnavailable);
  EXPECT_EQ(rescore.attempts, 1) << "a broken connection may have delivered the POST";
  http_.SetHandler([](const HttpRequest&) { return Answer(503, "{}"); });
  ConnectorResult report = Run(Request("acme", "report", R"({"amount": 5})"));
  EXPECT_EQ(report.reason, Reason::kVendorError);
  EXPECT_EQ(report.attempts, 1);
  EXPECT_THAT(http_.requests(), SizeIs(2));
  EXPECT_EQ(http_.requests()[1].body, R"({"amount":5.0})");
  EXPECT_THAT(observer_.events(), IsEmpty());

  int calls = 0;
  http_.SetHandler([&calls](const HttpRequest&) {
    return ++calls == 1 ? Fail(TransportError::kConnectFailed) : Answer(200, R"({"status":0})");
  });
  ConnectorResult unreachable_once = Run(Request("sift", "rescore", R"({"user_id": "u2"})"));
  ASSERT_TRUE(unreachable_once.ok()) << unreachable_once.message;
  EXPECT_EQ(unreachable_once.attempts, 2) << "a connection never made sent nothing";
  EXPECT_THAT(observer_.events(), ElementsAre("sift retry"));
}

TEST_F(GatewayTest, NoRetryWhenTheBackoffWouldPassTheDeadline) {
  http_.SetHandler([](const HttpRequest&) { return Answer(503, "{}"); });
  random_.Set(0.99);
  ConnectorRequest request = Request("sift", "score", R"({"user_id": "u1"})");
  request.deadline = time_.Now() + absl::Milliseconds(15);  // first backoff ≈ 19.8 ms
  ConnectorResult result = Run(request);
  EXPECT_EQ(result.reason, Reason::kVendorError);
  EXPECT_EQ(result.attempts, 1);
}

TEST_F(GatewayTest, AttemptTimeoutIsTheSmallerOfConnectorTimeoutAndDeadline) {
  ConnectorRequest request = Request("sift", "score", R"({"user_id": "u1"})");
  request.deadline = time_.Now() + absl::Milliseconds(300);
  Run(request);
  Run(Request("sift", "score", R"({"user_id": "u2"})"));  // 5 s deadline, 1 s connector timeout
  ASSERT_THAT(http_.requests(), SizeIs(2));
  EXPECT_EQ(http_.requests()[0].timeout, absl::Milliseconds(300));
  EXPECT_EQ(http_.requests()[1].timeout, absl::Seconds(1));
}

TEST_F(GatewayTest, TimeoutEndsTheCallAtTheDeadline) {
  http_.SetHandler([](const HttpRequest&) { return Answer(200, "{}", absl::Seconds(10)); });
  ConnectorRequest request = Request("sift", "score", R"({"user_id": "u1"})");
  request.deadline = time_.Now() + absl::Milliseconds(300);
  ConnectorResult result = Run(request);
  EXPECT_EQ(result.reason, Reason::kConnectorTimeout);
  EXPECT_EQ(result.duration, absl::Milliseconds(300));
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(ConnectorErrorReasonName(result.reason), "CONNECTOR_TIMEOUT");
}

TEST_F(GatewayTest, ADeadlineAlreadyPassedSendsNothing) {
  ConnectorRequest request = Request("sift", "score", R"({"user_id": "u1"})");
  request.deadline = time_.Now();
  EXPECT_EQ(Run(request).reason, Reason::kConnectorTimeout);
  EXPECT_THAT(http_.requests(), SizeIs(0));
}

TEST_F(GatewayTest, BreakerOpensFailsFastAndRecoversAfterTheWait) {
  http_.SetHandler([](const HttpRequest&) { return Fail(TransportError::kTimeout); });
  // window 10, minimum 4, 50%: four timed-out calls open it (timeouts are not retried).
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Score(absl::StrCat("u", i)).reason, Reason::kConnectorTimeout);
  const size_t sent = http_.requests().size();
  ConnectorResult open = Score("u9");
  EXPECT_EQ(open.reason, Reason::kConnectorUnavailable);
  EXPECT_THAT(open.message, HasSubstr("circuit breaker is open"));
  EXPECT_EQ(open.attempts, 0);
  EXPECT_EQ(open.duration, absl::ZeroDuration());
  EXPECT_EQ(http_.requests().size(), sent) << "an open breaker sends nothing";

  // After open_ms one probe goes through; it succeeds and closes the breaker.
  time_.Advance(absl::Seconds(5));
  http_.SetHandler([](const HttpRequest&) { return Answer(200, R"({"status":0})"); });
  EXPECT_TRUE(Score("probe").ok());
  EXPECT_TRUE(Score("after").ok());
  EXPECT_THAT(observer_.events(),
              ElementsAre("sift breaker open", "sift breaker half-open", "sift breaker closed"));
}

TEST_F(GatewayTest, AFailedProbeReportsTheBreakerReopening) {
  http_.SetHandler([](const HttpRequest&) { return Fail(TransportError::kTimeout); });
  for (int i = 0; i < 4; ++i) Score(absl::StrCat("u", i));
  time_.Advance(absl::Seconds(5));
  EXPECT_EQ(Score("probe").reason, Reason::kConnectorTimeout);
  EXPECT_EQ(Score("refused").reason, Reason::kConnectorUnavailable);
  time_.Advance(absl::Seconds(5));
  http_.SetHandler([](const HttpRequest&) { return Answer(200, R"({"status":0})"); });
  EXPECT_TRUE(Score("probe2").ok());
  EXPECT_THAT(observer_.events(),
              ElementsAre("sift breaker open", "sift breaker half-open", "sift breaker open",
                          "sift breaker half-open", "sift breaker closed"));
}

TEST_F(GatewayTest, ABreakerOpeningMidRetriesStopsTheRetries) {
  http_.SetHandler([](const HttpRequest&) { return Answer(503, "{}"); });
  // 3 attempts per call; the 4th failure (second call, first retry) opens the breaker.
  EXPECT_EQ(Score("a").attempts, 3);
  ConnectorResult second = Score("b");
  EXPECT_EQ(second.attempts, 1);
  EXPECT_EQ(second.reason, Reason::kVendorError);
  EXPECT_EQ(Score("c").reason, Reason::kConnectorUnavailable);
  EXPECT_THAT(observer_.events(), ElementsAre("sift retry", "sift retry", "sift breaker open"));
}

TEST_F(GatewayTest, RateLimitHoldsAndRefills) {
  // acme: 2 requests per second, burst 2.
  EXPECT_TRUE(Run(Request("acme", "person", R"({"id": "1"})")).ok());
  EXPECT_TRUE(Run(Request("acme", "person", R"({"id": "2"})")).ok());
  ConnectorResult limited = Run(Request("acme", "person", R"({"id": "3"})"));
  EXPECT_EQ(limited.reason, Reason::kConnectorUnavailable);
  EXPECT_THAT(limited.message, HasSubstr("rate limit"));
  EXPECT_THAT(http_.requests(), SizeIs(2));
  time_.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(Run(Request("acme", "person", R"({"id": "3"})")).ok());
  EXPECT_THAT(observer_.events(), ElementsAre("acme rate-limited"));
}

TEST_F(GatewayTest, ARetryHeldBackByTheRateLimitIsNeitherARetryNorARefusal) {
  // acme: burst 2. The first attempt and one retry take both tokens; the second retry waits for
  // none and the call ends with the vendor's answer.
  http_.SetHandler([](const HttpRequest&) { return Answer(503, "{}"); });
  ConnectorResult result = Run(Request("acme", "person", R"({"id": "1"})"));
  EXPECT_EQ(result.reason, Reason::kVendorError);
  EXPECT_EQ(result.attempts, 2);
  EXPECT_THAT(observer_.events(), ElementsAre("acme retry"));
  EXPECT_EQ(Run(Request("acme", "person", R"({"id": "2"})")).reason, Reason::kConnectorUnavailable);
  EXPECT_THAT(observer_.events(), ElementsAre("acme retry", "acme rate-limited"));
}

TEST_F(GatewayTest, CachesPerTenantForTheTtl) {
  ConnectorResult first = Run(Request("acme", "person", R"({"id": "7"})", "tenant-a"));
  ASSERT_TRUE(first.ok());
  ConnectorResult second = Run(Request("acme", "person", R"({"id": "7"})", "tenant-a"));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.attempts, 0);
  EXPECT_EQ(second.http_status, 200);
  EXPECT_EQ(second.body, first.body) << "the cached answer is shared, not copied";
  EXPECT_THAT(http_.requests(), SizeIs(1));
  // Another tenant never sees tenant-a's answer.
  ConnectorResult other = Run(Request("acme", "person", R"({"id": "7"})", "tenant-b"));
  EXPECT_FALSE(other.from_cache);
  EXPECT_THAT(http_.requests(), SizeIs(2));
  time_.Advance(absl::Seconds(61));
  EXPECT_FALSE(Run(Request("acme", "person", R"({"id": "7"})", "tenant-a")).from_cache);
}

TEST_F(GatewayTest, FailuresAreNotCached) {
  http_.SetHandler([](const HttpRequest&) { return Answer(404, "{}"); });
  EXPECT_FALSE(Run(Request("acme", "person", R"({"id": "7"})")).ok());
  http_.SetHandler([](const HttpRequest&) { return Answer(200, "{}"); });
  ConnectorResult result = Run(Request("acme", "person", R"({"id": "7"})"));
  EXPECT_TRUE(result.ok());
  EXPECT_FALSE(result.from_cache);
}

TEST_F(GatewayTest, CollapsesIdenticalCallsInFlightWithinATenant) {
  http_.Hold(true);
  auto a = Start(Request("sift", "score", R"({"user_id": "same"})", "t1"));
  auto b = Start(Request("sift", "score", R"({"user_id": "same"})", "t1"));
  auto other_tenant = Start(Request("sift", "score", R"({"user_id": "same"})", "t2"));
  auto other_user = Start(Request("sift", "score", R"({"user_id": "different"})", "t1"));
  http_.Hold(false);
  http_.ReleaseHeld();
  http_.RunUntilIdle();
  EXPECT_THAT(http_.requests(), SizeIs(3));
  ASSERT_TRUE(a->has_value() && b->has_value() && other_tenant->has_value() && other_user->has_value());
  EXPECT_TRUE((*a)->ok());
  EXPECT_EQ((*a)->attempts, 1);
  EXPECT_TRUE((*b)->ok());
  EXPECT_TRUE((*b)->from_cache);
  EXPECT_EQ((*b)->attempts, 0);
  EXPECT_EQ((*b)->body, (*a)->body) << "one answer, shared";
  EXPECT_FALSE((*other_tenant)->from_cache);
  EXPECT_NE((*other_tenant)->body, (*a)->body);
}

TEST_F(GatewayTest, DoesNotCollapseOntoACallWithALaterDeadline) {
  http_.Hold(true);
  auto slow = Start(Request("sift", "score", R"({"user_id": "same"})"));  // 5 s deadline
  ConnectorRequest urgent = Request("sift", "score", R"({"user_id": "same"})");
  urgent.deadline = time_.Now() + absl::Milliseconds(100);
  auto fast = Start(urgent);
  http_.Hold(false);
  http_.ReleaseHeld();
  http_.RunUntilIdle();
  EXPECT_THAT(http_.requests(), SizeIs(2));
  EXPECT_EQ(http_.requests()[1].timeout, absl::Milliseconds(100));
}

TEST_F(GatewayTest, TheKeyNeverLeavesEvenWhenTheVendorEchoesIt) {
  http_.SetHandler([](const HttpRequest& request) {
    // A vendor that echoes the request, headers and all, in several encodings.
    std::string headers;
    for (const auto& [name, value] : request.headers) absl::StrAppend(&headers, name, ": ", value, "\n");
    return Answer(400, absl::StrCat(R"({"status":52,"error_message":"bad key )", kKey, R"(",)",
                                    R"("url":")", request.url, R"(","headers_b64":")",
                                    absl::Base64Escape(headers), R"(",")", kKey, R"(":true})"));
  });
  ConnectorResult result = Score();
  EXPECT_EQ(result.reason, Reason::kVendorError);
  std::string everything;
  google::protobuf::util::MessageToJsonString(*result.body, &everything);
  absl::StrAppend(&everything, result.message, result.redacted_params.DebugString());
  const std::string key(kKey);
  for (const std::string& form : {key, absl::Base64Escape(key), absl::Base64Escape(key + ":"),
                                  std::string("CANARY")}) {
    EXPECT_FALSE(absl::StrContains(everything, form)) << form << " in " << everything;
  }
  EXPECT_THAT(result.message, HasSubstr("bad key [REDACTED]"));
}

TEST_F(GatewayTest, UnreadableCredentialsAreUnavailableWithoutDetail) {
  secrets_.Remove("/secrets/sift");
  ConnectorResult result = Score();
  EXPECT_EQ(result.reason, Reason::kConnectorUnavailable);
  EXPECT_THAT(result.message, HasSubstr("credentials for connector 'sift' are unavailable"));
  EXPECT_THAT(result.message, ::testing::Not(HasSubstr("/secrets")));
  secrets_.Set("/secrets/sift", "short");
  EXPECT_EQ(Score().reason, Reason::kConnectorUnavailable);
  EXPECT_THAT(http_.requests(), SizeIs(0));
}

TEST_F(GatewayTest, ReadsTheSecretOnEveryCallSoRotationApplies) {
  Score("a");
  secrets_.Set("/secrets/sift", "sk_test_ROTATED_9876543210");
  Score("b");
  ASSERT_THAT(http_.requests(), SizeIs(2));
  auto authorization = [](const HttpRequest& request) {
    for (const auto& [name, value] : request.headers) {
      if (name == "Authorization") return value;
    }
    return std::string();
  };
  EXPECT_EQ(authorization(http_.requests()[1]),
            "Basic " + absl::Base64Escape("sk_test_ROTATED_9876543210:"));
}

// Calls share their connector's scrubber until the secret changes; then the new secret is the one
// scrubbed from an echoing vendor's answer.
TEST_F(GatewayTest, ARotatedSecretIsScrubbedToo) {
  http_.SetHandler([](const HttpRequest& request) {
    std::string authorization;
    for (const auto& [name, value] : request.headers) {
      if (name == "Authorization") authorization = value;
    }
    return Answer(400, absl::StrCat(R"({"status":52,"error_message":"bad key",)",
                                    R"("echo":")", authorization, R"("})"));
  });
  const std::string rotated = "sk_test_ROTATED_9876543210";
  for (const std::string& key : {std::string(kKey), rotated}) {
    secrets_.Set("/secrets/sift", key);
    ConnectorResult result = Score();
    std::string body;
    google::protobuf::util::MessageToJsonString(*result.body, &body);
    EXPECT_THAT(body, HasSubstr("Basic [REDACTED]"));
    EXPECT_FALSE(absl::StrContains(body, absl::Base64Escape(key + ":"))) << body;
  }
  ASSERT_THAT(http_.requests(), SizeIs(2));
}

TEST_F(GatewayTest, TransportErrorsMapToReasons) {
  struct {
    TransportError error;
    Reason reason;
  } cases[] = {
      {TransportError::kEgressDenied, Reason::kEgressDenied},
      {TransportError::kTooLarge, Reason::kResponseTooLarge},
      {TransportError::kTls, Reason::kConnectorUnavailable},
      {TransportError::kCancelled, Reason::kConnectorUnavailable},
  };
  int i = 0;
  for (const auto& c : cases) {
    http_.SetHandler([&c](const HttpRequest&) { return Fail(c.error); });
    ConnectorResult result = Score(absl::StrCat("user", i++));
    EXPECT_EQ(result.reason, c.reason) << TransportErrorName(c.error);
    EXPECT_EQ(result.attempts, 1) << TransportErrorName(c.error);
  }
}

TEST(GatewayFactoryTest, RequiresCollaboratorsAndDistinctNames) {
  EXPECT_THAT(NewConnectorGateway(GatewayOptions{}),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("required")));
}

}  // namespace
}  // namespace evaluatecode::connectors
