// EvaluateCode, CompileCode and ListConnectors against the real server on loopback.
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::evaluate::v1::Decision;
using ::evaluate::v1::EvaluateCodeRequest;
using ::evaluate::v1::EvaluateCodeResponse;
using ::evaluate::v1::LogEntry;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::DetailsOf;
using testing::Evaluate;
using testing::MakeRequest;

class EvaluateCodeTest : public ::testing::Test {
 protected:
  // Calls with `request` and expects the error `code` with ErrorInfo `reason`; returns the details.
  testing::ErrorDetails ExpectError(const EvaluateCodeRequest& request, grpc::StatusCode code,
                                    const std::string& reason, int deadline_ms = 10000) {
    EvaluateCodeResponse response;
    grpc::Status status = Evaluate(server_.stub(), request, &response, deadline_ms);
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_THAT(status.error_message(), StartsWith(reason + ": "));
    testing::ErrorDetails details = DetailsOf(status);
    EXPECT_TRUE(details.has_error_info);
    EXPECT_EQ(details.info.reason(), reason);
    EXPECT_EQ(details.info.domain(), "evaluate.v1");
    EXPECT_TRUE(details.has_evaluation_error);
    EXPECT_EQ(details.evaluation_error.reason(), reason);
    return details;
  }

  testing::TestServer server_;
};

TEST_F(EvaluateCodeTest, ReturnsTheResultComputedFromInput) {
  EvaluateCodeResponse response;
  EvaluateCodeRequest request = MakeRequest("return input.a * input.b;", R"({"a": 6, "b": 7})");
  ASSERT_TRUE(Evaluate(server_.stub(), request, &response).ok());
  EXPECT_EQ(response.result().number_value(), 42);
  EXPECT_EQ(response.code_sha256(), Sha256Hex(request.code()));
  EXPECT_EQ(response.decision_id().size(), 36u);
  EXPECT_FALSE(response.has_decision());
  EXPECT_TRUE(response.usage().has_wall_time());
  EXPECT_GT(response.usage().peak_heap_bytes(), 0u);
}

TEST_F(EvaluateCodeTest, DecisionShapedResultFillsTheTypedDecision) {
  EvaluateCodeResponse response;
  ASSERT_TRUE(Evaluate(server_.stub(),
                       MakeRequest("var r = [];\n"
                                   "if (input.score > 0.8) r.push('sift_score_high');\n"
                                   "if (!input.selfie_passed) r.push('selfie_failed');\n"
                                   "return {decision: r.length ? 'DECLINE' : 'approve', reasons: r};",
                                   R"({"score": 0.93, "selfie_passed": false})"),
                       &response)
                  .ok());
  EXPECT_EQ(response.decision().outcome(), Decision::DECLINE);
  EXPECT_THAT(response.decision().reasons(), ElementsAre("sift_score_high", "selfie_failed"));
  EXPECT_EQ(response.result().struct_value().fields().at("decision").string_value(), "DECLINE");
}

TEST_F(EvaluateCodeTest, DecisionIdsAreUniqueAndTheCompileCacheIsHit) {
  EvaluateCodeResponse first, second;
  const EvaluateCodeRequest request = MakeRequest("return 'cached';");
  ASSERT_TRUE(Evaluate(server_.stub(), request, &first).ok());
  ASSERT_TRUE(Evaluate(server_.stub(), request, &second).ok());
  EXPECT_NE(first.decision_id(), second.decision_id());
  EXPECT_TRUE(second.usage().compile_cache_hit());
}

TEST_F(EvaluateCodeTest, ConsoleOutputIsReturnedInOrderWithLevels) {
  EvaluateCodeResponse response;
  ASSERT_TRUE(Evaluate(server_.stub(),
                       MakeRequest("console.log('hello', {n: 1}); console.warn('careful');"
                                   " return null;"),
                       &response)
                  .ok());
  ASSERT_EQ(response.logs_size(), 2);
  EXPECT_EQ(response.logs(0).message(), R"(hello {"n":1})");
  EXPECT_EQ(response.logs(0).level(), LogEntry::LOG);
  EXPECT_EQ(response.logs(1).level(), LogEntry::WARN);
  EXPECT_TRUE(response.logs(1).has_time());
}

TEST_F(EvaluateCodeTest, NoReturnGivesANullResult) {
  EvaluateCodeResponse response;
  ASSERT_TRUE(Evaluate(server_.stub(), MakeRequest("var unused = 1;"), &response).ok());
  EXPECT_TRUE(response.result().has_null_value());
}

TEST_F(EvaluateCodeTest, SyntaxErrorIsInvalidArgumentWithItsLine) {
  testing::ErrorDetails details = ExpectError(MakeRequest("var a = 1;\nreturn {;"),
                                              grpc::StatusCode::INVALID_ARGUMENT,
                                              "SCRIPT_SYNTAX_ERROR");
  EXPECT_EQ(details.evaluation_error.line(), 2u);
  EXPECT_EQ(details.info.metadata().at("line"), "2");
  EXPECT_THAT(details.evaluation_error.message(), HasSubstr("SyntaxError"));
}

TEST_F(EvaluateCodeTest, UncaughtThrowCarriesMessageLineStackAndEarlierLogs) {
  testing::ErrorDetails details = ExpectError(
      MakeRequest("console.log('checked id');\nfunction fail() { throw new Error('boom'); }\n"
                  "fail();"),
      grpc::StatusCode::INVALID_ARGUMENT, "SCRIPT_RUNTIME_ERROR");
  EXPECT_EQ(details.evaluation_error.message(), "Error: boom");
  EXPECT_EQ(details.evaluation_error.line(), 2u);
  EXPECT_THAT(details.evaluation_error.stack(), HasSubstr("script:3"));
  ASSERT_EQ(details.evaluation_error.logs_size(), 1);
  EXPECT_EQ(details.evaluation_error.logs(0).message(), "checked id");
  EXPECT_FALSE(details.evaluation_error.decision_id().empty());
  EXPECT_FALSE(details.evaluation_error.code_sha256().empty());
}

TEST_F(EvaluateCodeTest, InfiniteLoopIsStoppedAtTheTimeoutAndTheServerGoesOnServing) {
  const absl::Time start = absl::Now();
  ExpectError(MakeRequest("while (true) {}", "{}", 200), grpc::StatusCode::DEADLINE_EXCEEDED,
              "SCRIPT_TIMEOUT");
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(300));
  EvaluateCodeResponse response;
  ASSERT_TRUE(Evaluate(server_.stub(), MakeRequest("return 6 * 7;"), &response).ok());
  EXPECT_EQ(response.result().number_value(), 42);
}

TEST_F(EvaluateCodeTest, TheCallersDeadlineStopsTheScript) {
  // The request allows 10 s but the caller waits 300 ms: the server must stop the script then and
  // free its evaluator, or the calls after it would queue behind it.
  EvaluateCodeResponse response;
  grpc::Status status =
      Evaluate(server_.stub(), MakeRequest("while (true) {}", "{}", 10000), &response, 300);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  const absl::Time start = absl::Now();
  for (int i = 0; i < 4; ++i) {  // more calls than evaluator threads
    ASSERT_TRUE(Evaluate(server_.stub(), MakeRequest("return 1;"), &response, 2000).ok());
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(EvaluateCodeTest, MemoryBombIsResourceExhausted) {
  // contract-check's: every element is the same interned string, only the array's slots grow.
  EvaluateCodeRequest request =
      MakeRequest("var a = []; for (;;) a.push(new Array(1000).join('x'));", "{}", 5000);
  request.mutable_limits()->set_memory_bytes(8 << 20);
  testing::ErrorDetails details =
      ExpectError(request, grpc::StatusCode::RESOURCE_EXHAUSTED, "SCRIPT_MEMORY_LIMIT");
  EXPECT_LE(details.evaluation_error.usage().peak_heap_bytes(), 8u << 20);
}

TEST_F(EvaluateCodeTest, ResultsThatAreNotJsonAreInvalid) {
  for (const char* code : {"return function () {};", "var o = {}; o.o = o; return o;",
                           "return NaN;", "return {x: Infinity};"}) {
    SCOPED_TRACE(code);
    ExpectError(MakeRequest(code), grpc::StatusCode::INVALID_ARGUMENT, "SCRIPT_RESULT_INVALID");
  }
}

TEST_F(EvaluateCodeTest, UnknownDecisionValueIsInvalid) {
  testing::ErrorDetails details =
      ExpectError(MakeRequest("return {decision: 'maybe', reasons: []};"),
                  grpc::StatusCode::INVALID_ARGUMENT, "SCRIPT_RESULT_INVALID");
  EXPECT_THAT(details.evaluation_error.message(), HasSubstr("\"maybe\""));
}

TEST_F(EvaluateCodeTest, OversizeResultIsInvalid) {
  EvaluateCodeRequest request = MakeRequest("return new Array(5000).join('x');");
  request.mutable_limits()->set_max_output_bytes(1000);
  ExpectError(request, grpc::StatusCode::INVALID_ARGUMENT, "SCRIPT_RESULT_INVALID");
}

struct BadRequestCase {
  std::string name;
  EvaluateCodeRequest request;
  std::string field;
};

std::vector<BadRequestCase> BadRequests() {
  std::vector<BadRequestCase> cases;
  cases.push_back({"empty code", MakeRequest(""), "code"});
  cases.push_back({"oversize code", MakeRequest(std::string(300 << 10, ' ') + "return 1;"), "code"});
  EvaluateCodeRequest request = MakeRequest("return 1;", "{}", 60000);
  cases.push_back({"timeout above the maximum", request, "limits.timeout_ms"});
  request = MakeRequest("return 1;");
  request.mutable_limits()->set_memory_bytes(uint64_t{1} << 40);
  cases.push_back({"memory above the maximum", request, "limits.memory_bytes"});
  request = MakeRequest("return 1;");
  request.mutable_limits()->set_memory_bytes(4096);
  cases.push_back({"memory below the minimum", request, "limits.memory_bytes"});
  request = MakeRequest("return 1;");
  request.mutable_limits()->set_max_log_bytes(uint64_t{1} << 30);
  cases.push_back({"log bytes above the maximum", request, "limits.max_log_bytes"});
  request = MakeRequest("return 1;");
  (*request.mutable_labels())[std::string(100, 'k')] = "v";
  cases.push_back({"label key too long", request, "labels[\"" + std::string(64, 'k') + "\"]"});
  request = MakeRequest("return 1;");
  request.add_connectors("sift");
  cases.push_back({"unknown connector", request, "connectors[0]"});
  return cases;
}

TEST_F(EvaluateCodeTest, BadRequestsAreInvalidArgumentNamingTheField) {
  for (const BadRequestCase& bad : BadRequests()) {
    SCOPED_TRACE(bad.name);
    testing::ErrorDetails details =
        ExpectError(bad.request, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_REQUEST");
    EXPECT_EQ(details.evaluation_error.field(), bad.field);
    EXPECT_EQ(details.info.metadata().at("field"), bad.field);
  }
}

TEST_F(EvaluateCodeTest, CompileCodeReportsDiagnosticsAndWarmsTheCache) {
  evaluate::v1::CompileCodeRequest request;
  request.set_code("return input.x +;\n");
  evaluate::v1::CompileCodeResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(server_.stub().CompileCode(&context, request, &response).ok());
  }
  EXPECT_FALSE(response.valid());
  ASSERT_EQ(response.diagnostics_size(), 1);
  EXPECT_EQ(response.diagnostics(0).line(), 1u);
  EXPECT_EQ(response.diagnostics(0).severity(), evaluate::v1::Diagnostic::ERROR);

  request.set_code("return input.x + 1;");
  {
    grpc::ClientContext context;
    ASSERT_TRUE(server_.stub().CompileCode(&context, request, &response).ok());
  }
  EXPECT_TRUE(response.valid());
  EXPECT_FALSE(response.cache_hit());
  EXPECT_EQ(response.code_sha256(), Sha256Hex(request.code()));
  EvaluateCodeResponse evaluated;
  ASSERT_TRUE(
      Evaluate(server_.stub(), MakeRequest(request.code(), R"({"x": 1})"), &evaluated).ok());
  EXPECT_TRUE(evaluated.usage().compile_cache_hit());
  EXPECT_EQ(evaluated.result().number_value(), 2);
}

TEST_F(EvaluateCodeTest, CompileCodeRejectsEmptyCode) {
  evaluate::v1::CompileCodeRequest request;
  evaluate::v1::CompileCodeResponse response;
  grpc::ClientContext context;
  grpc::Status status = server_.stub().CompileCode(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailsOf(status).evaluation_error.field(), "code");
}

TEST_F(EvaluateCodeTest, ListConnectorsAnswersWithTheConfiguredSet) {
  evaluate::v1::ListConnectorsResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(server_.stub().ListConnectors(&context, {}, &response).ok());
  EXPECT_EQ(response.connectors_size(), 0);  // none configured in this server
}

TEST_F(EvaluateCodeTest, EchoReturnsThePayload) {
  evaluate::v1::EchoRequest request;
  request.set_payload("ping");
  evaluate::v1::EchoResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(server_.stub().Echo(&context, request, &response).ok());
  EXPECT_EQ(response.payload(), "ping");
}

TEST_F(EvaluateCodeTest, HealthIsServingForTheServerAndTheService) {
  for (const char* service : {"", "evaluate.v1.EvaluateService"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(server_.health().Check(&context, request, &response).ok());
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
}

TEST_F(EvaluateCodeTest, ConcurrentCallsAllGetTheirOwnResults) {
  std::vector<std::thread> callers;
  std::vector<int> wrong(8, 0);
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        EvaluateCodeResponse response;
        const int n = t * 1000 + i;
        grpc::Status status = Evaluate(
            server_.stub(), MakeRequest("return input.n * 2;", absl::StrCat(R"({"n":)", n, "}")),
            &response);
        if (!status.ok() || response.result().number_value() != 2 * n) ++wrong[t];
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_THAT(wrong, ::testing::Each(0));
}

}  // namespace
}  // namespace evaluatecode
