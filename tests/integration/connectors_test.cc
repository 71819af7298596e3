// Scripts calling vendors through connectors, end to end over gRPC: the server (with sandbox
// workers) and a fake Sift v205 vendor on loopback.
#include <dirent.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/connectors/fake_vendor.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::evaluate::v1::Decision;
using ::evaluate::v1::EvaluateCodeRequest;
using ::evaluate::v1::EvaluateCodeResponse;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCanaryKey[] = "canary-sift-key-4f1b9c2e77";

constexpr char kSiftDecision[] = R"js(
var r = connectors.sift.score({user_id: input.user, abuse_types: ['payment_abuse']});
var score = r.body.scores.payment_abuse.score;
console.log('sift', r.status, score);
return {decision: score > 0.8 ? 'decline' : 'approve', reasons: ['sift_score ' + score]};
)js";

std::string WriteSecret() {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/sift_api_key");
  FILE* file = std::fopen(path.c_str(), "w");
  std::fputs(kCanaryKey, file);
  std::fclose(file);
  return path;
}

service::ServerConfig ConfigWithSift(const std::string& base_url, int timeout_ms = 1000) {
  absl::StatusOr<service::ServerConfig> parsed = service::ParseConfig(absl::StrCat(R"(
connectors:
  sift:
    type: sift
    base_url: )", base_url, R"(
    allow_insecure_loopback: true
    timeout_ms: )", timeout_ms, R"(
    auth: {secret_file: )", WriteSecret(), R"(}
)"));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  service::ServerConfig config = testing::TestConfig();
  config.connectors = parsed->connectors;
  return config;
}

EvaluateCodeRequest SiftRequest(const std::string& code = kSiftDecision) {
  EvaluateCodeRequest request = testing::MakeRequest(code, R"({"user": "user_40211"})", 3000);
  request.add_connectors("sift");
  (*request.mutable_labels())["tenant"] = "acme";
  return request;
}

void ExpectNoCanary(const std::string& text) {
  EXPECT_THAT(text, Not(HasSubstr(kCanaryKey)));
  EXPECT_THAT(text, Not(HasSubstr(absl::Base64Escape(kCanaryKey))));
  EXPECT_THAT(text, Not(HasSubstr(absl::Base64Escape(absl::StrCat(kCanaryKey, ":")))));
}

// The server binary, run with `config_yaml` (written to `file_name` in the test's temp dir).
absl::StatusOr<testing::ServerProcess> StartServerBinary(const std::string& file_name,
                                                         const std::string& config_yaml) {
  const std::string config_path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", file_name);
  FILE* file = std::fopen(config_path.c_str(), "w");
  std::fputs(config_yaml.c_str(), file);
  std::fclose(file);
  return testing::ServerProcess::Start(
      {"--config", config_path, "--listen", "127.0.0.1:0", "--metrics_listen", "127.0.0.1:0"});
}

std::unique_ptr<evaluate::v1::EvaluateService::Stub> StubFor(const testing::ServerProcess& server) {
  return evaluate::v1::EvaluateService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server.port()), grpc::InsecureChannelCredentials()));
}

TEST(ConnectorsTest, ASiftScoreDecidesEndToEnd) {
  testing::FakeVendor sift(testing::SiftHandler(kCanaryKey));
  testing::TestServer server(ConfigWithSift(sift.base_url()));
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(server.stub(), SiftRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.decision().outcome(), Decision::DECLINE);
  EXPECT_EQ(response.decision().reasons(0), "sift_score 0.93");
  ASSERT_EQ(response.connector_calls_size(), 1);
  const evaluate::v1::ConnectorCall& call = response.connector_calls(0);
  EXPECT_EQ(call.connector(), "sift");
  EXPECT_EQ(call.operation(), "score");
  EXPECT_EQ(call.http_status(), 200);
  EXPECT_EQ(call.error_reason(), "");
  EXPECT_EQ(call.params().fields().at("user_id").string_value(), "user_40211");
  EXPECT_TRUE(call.response().struct_value().fields().contains("scores"));
  EXPECT_EQ(response.usage().connector_calls(), 1u);
  ASSERT_EQ(sift.request_count(), 1);
  EXPECT_EQ(sift.requests()[0].path, "/v205/score/user_40211");

  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(response, &json).ok());
  ExpectNoCanary(json);
}

TEST(ConnectorsTest, TypeScriptAwaitsConnectorCallsAndTheSiftHelperIsOneLine) {
  testing::FakeVendor sift(testing::SiftHandler(kCanaryKey));
  testing::TestServer server(ConfigWithSift(sift.base_url()));
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(
      server.stub(),
      SiftRequest("interface Input { user: string }\n"
                  "const lookup = async ({ user }: Input) => {\n"
                  "  const { body } = await connectors.sift.score({ user_id: user });\n"
                  "  return body.scores.payment_abuse.score as number;\n"
                  "};\n"
                  "const [viaAwait, viaHelper] = [await lookup(input), connectors.sift.scoreOf(input.user)];\n"
                  "return { decision: viaHelper > 0.8 ? 'decline' : 'approve', reasons: [`${viaAwait}`] };"),
      &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.decision().outcome(), Decision::DECLINE);
  EXPECT_EQ(response.decision().reasons(0), "0.93");
  EXPECT_EQ(response.connector_calls_size(), 2);
}

// The workers type check against the connectors this server offers (as `evalctl types` declares
// them): a call that does not fit the Sift connector is a warning at the author's line and column.
TEST(ConnectorsTest, CompileCodeChecksTypesAgainstTheServersConnectors) {
  testing::FakeVendor sift(testing::SiftHandler(kCanaryKey));
  testing::TestServer server(ConfigWithSift(sift.base_url()));
  const auto compile = [&server](const std::string& code, bool skip_type_check = false) {
    evaluate::v1::CompileCodeRequest request;
    request.set_code(code);
    request.set_skip_type_check(skip_type_check);
    evaluate::v1::CompileCodeResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const grpc::Status status = server.stub().CompileCode(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  };
  const evaluate::v1::CompileCodeResponse fitting =
      compile("const score: number = connectors.sift.scoreOf(input.user);\n"
              "const { body } = await connectors.sift.score({ user_id: input.user });\n"
              "return { decision: score > 0.8 ? 'decline' : 'approve',\n"
              "         reasons: [body.status] };\n");
  EXPECT_TRUE(fitting.valid());
  EXPECT_EQ(fitting.diagnostics_size(), 0) << fitting.DebugString();

  const std::string misfit_code =
      "const userId: number = 40211;\n"
      "const score = connectors.sift.scoreOf(userId);\n"
      "const other = connectors.seon.lookup({ email: 'a@b.c' });\n"
      "return { decision: score > 0.8 ? 'decline' : 'approve' };\n";
  const evaluate::v1::CompileCodeResponse unchecked = compile(misfit_code, true);
  EXPECT_TRUE(unchecked.valid());
  EXPECT_EQ(unchecked.diagnostics_size(), 0) << unchecked.DebugString();

  const evaluate::v1::CompileCodeResponse misfit = compile(misfit_code);
  EXPECT_TRUE(misfit.cache_hit());
  EXPECT_TRUE(misfit.valid());
  ASSERT_EQ(misfit.diagnostics_size(), 2) << misfit.DebugString();
  EXPECT_EQ(misfit.diagnostics(0).severity(), evaluate::v1::Diagnostic::WARNING);
  EXPECT_EQ(misfit.diagnostics(0).message(),
            "TS2345: Argument of type 'number' is not assignable to parameter of type 'string'.");
  EXPECT_EQ(misfit.diagnostics(0).line(), 2u);
  EXPECT_EQ(misfit.diagnostics(0).column(), 39u);
  EXPECT_EQ(misfit.diagnostics(1).severity(), evaluate::v1::Diagnostic::WARNING);
  EXPECT_THAT(misfit.diagnostics(1).message(), HasSubstr("Property 'seon' does not exist"));
  EXPECT_EQ(misfit.diagnostics(1).line(), 3u);
  EXPECT_EQ(misfit.diagnostics(1).column(), 26u);
}

TEST(ConnectorsTest, AVendorEchoingHeadersNeverLeaksTheKey) {
  testing::FakeVendor echo([](const testing::VendorRequest& request) {
    testing::VendorResponse response;
    response.headers.push_back({"Content-Type", "application/json"});
    response.body = absl::StrCat(R"({"status":0,"echo":")", absl::CEscape(request.raw_head),
                                 R"(","b64":")", absl::Base64Escape(request.raw_head), R"("})");
    return response;
  });
  testing::TestServer server(ConfigWithSift(echo.base_url()));
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(
      server.stub(),
      SiftRequest("var r = connectors.sift.score({user_id: 'u1'});\nconsole.log(JSON.stringify(r));"
                  "\nreturn r.body;"),
      &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(response, &json).ok());
  ExpectNoCanary(json);
  EXPECT_THAT(echo.received_bytes(), HasSubstr("Authorization"));  // the key was sent, though
}

TEST(ConnectorsTest, TheServersOwnLogsNeverContainTheKey) {
  // The real binary at debug level: its stdout carries logs and every decision record (with the
  // connector calls and the vendor's responses, which echo the request head back).
  testing::FakeVendor echo([](const testing::VendorRequest& request) {
    testing::VendorResponse response;
    response.headers.push_back({"Content-Type", "application/json"});
    response.body = absl::StrCat(R"({"status":0,"echo":")", absl::CEscape(request.raw_head),
                                 R"(","b64":")", absl::Base64Escape(request.raw_head), R"("})");
    return response;
  });
  absl::StatusOr<testing::ServerProcess> server = StartServerBinary(
      "server.yaml",
      absl::StrCat("logging: {level: debug}\nconnectors:\n  sift:\n    type: sift\n",
                   "    base_url: ", echo.base_url(), "\n    allow_insecure_loopback: true\n",
                   "    auth: {secret_file: ", WriteSecret(), "}\n"));
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = StubFor(*server);
  EvaluateCodeResponse response;
  ASSERT_TRUE(testing::Evaluate(*stub,
                                SiftRequest("var r = connectors.sift.score({user_id: 'u1'});\n"
                                            "console.log(JSON.stringify(r)); return r.body;"),
                                &response)
                  .ok());
  grpc::Status failed = testing::Evaluate(
      *stub, SiftRequest("throw new Error(JSON.stringify(connectors.sift.score({user_id: 'u2'})));"),
      &response);
  EXPECT_FALSE(failed.ok());
  ExpectNoCanary(failed.error_message());
  server->Signal(SIGTERM);
  ASSERT_TRUE(server->WaitForExit(absl::Seconds(15)).ok());
  const std::string logs = server->Output();
  EXPECT_THAT(logs, HasSubstr("evaluatecode.decision_record.v1"));
  EXPECT_THAT(logs, HasSubstr("\"connector\":\"sift\""));
  ExpectNoCanary(logs);
  EXPECT_THAT(echo.received_bytes(), HasSubstr("Authorization"));  // the key did go to the vendor
}

// The threads of process `pid`.
int ThreadsOf(pid_t pid) {
  int threads = 0;
  DIR* tasks = opendir(absl::StrCat("/proc/", pid, "/task").c_str());
  if (tasks == nullptr) return -1;
  while (dirent* entry = readdir(tasks)) threads += entry->d_name[0] != '.';
  closedir(tasks);
  return threads;
}

// The real binary, configured for 256 evaluations in flight on 2 workers: 200 evaluations wait on
// a slow vendor at once while the server runs far fewer threads than that (an evaluation waiting
// on a vendor holds no thread, and no worker), then each gets its own decision.
TEST(ConnectorsTest, EvaluationsWaitingOnAVendorHoldNoServerThread) {
  const testing::FakeVendor::Handler sift = testing::SiftHandler(kCanaryKey);
  testing::FakeVendor slow([&sift](const testing::VendorRequest& request) {
    testing::VendorResponse response = sift(request);
    response.delay = absl::Seconds(3);
    return response;
  });
  absl::StatusOr<testing::ServerProcess> server = StartServerBinary(
      "in_flight.yaml",
      absl::StrCat("evaluator: {threads: 256, workers: 2}\n",
                   "http_client: {max_host_connections: 256}\n",
                   "decision_log: {sink: file, path: ", std::getenv("TEST_TMPDIR"),
                   "/in_flight_decisions.jsonl}\n",
                   "connectors:\n  sift:\n    type: sift\n    base_url: ", slow.base_url(),
                   "\n    allow_insecure_loopback: true\n    timeout_ms: 10000\n",
                   "    auth: {secret_file: ", WriteSecret(), "}\n"));
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = StubFor(*server);

  constexpr int kEvaluations = 200;
  std::vector<grpc::Status> statuses(kEvaluations);
  std::vector<EvaluateCodeResponse> responses(kEvaluations);
  std::vector<std::thread> callers;
  for (int i = 0; i < kEvaluations; ++i) {
    callers.emplace_back([&, i] {
      EvaluateCodeRequest request = SiftRequest();
      (*request.mutable_input()->mutable_fields())["user"].set_string_value(
          absl::StrCat("user_", i));
      request.mutable_limits()->set_timeout_ms(20000);
      statuses[i] = testing::Evaluate(*stub, request, &responses[i]);
    });
  }
  for (int i = 0; i < 1500 && slow.request_count() < kEvaluations; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(slow.request_count(), kEvaluations);
  const int threads_while_waiting = ThreadsOf(server->pid());
  for (std::thread& caller : callers) caller.join();

  ::testing::Test::RecordProperty("server_threads_while_waiting", threads_while_waiting);
  EXPECT_GT(threads_while_waiting, 0);
  EXPECT_LT(threads_while_waiting, 100) << "threads while " << kEvaluations
                                        << " evaluations waited on the vendor";
  for (int i = 0; i < kEvaluations; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    EXPECT_EQ(responses[i].decision().outcome(), Decision::DECLINE);
    ASSERT_EQ(responses[i].connector_calls_size(), 1);
    EXPECT_EQ(responses[i].connector_calls(0).params().fields().at("user_id").string_value(),
              absl::StrCat("user_", i));
  }
  server->Signal(SIGTERM);
  EXPECT_TRUE(server->WaitForExit(absl::Seconds(15)).ok());
}

TEST(ConnectorsTest, AConnectorMissingFromTheRequestListIsNotAllowed) {
  testing::FakeVendor sift(testing::SiftHandler(kCanaryKey));
  testing::TestServer server(ConfigWithSift(sift.base_url()));
  EvaluateCodeRequest request = SiftRequest();
  request.clear_connectors();
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(server.stub(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  testing::ErrorDetails details = testing::DetailsOf(status);
  EXPECT_EQ(details.info.reason(), "CONNECTOR_NOT_ALLOWED");
  ASSERT_EQ(details.evaluation_error.connector_calls_size(), 1);
  EXPECT_EQ(details.evaluation_error.connector_calls(0).error_reason(), "CONNECTOR_NOT_ALLOWED");
  EXPECT_EQ(sift.request_count(), 0);
}

TEST(ConnectorsTest, ScriptsCanCatchConnectorErrors) {
  testing::FakeVendor slow([](const testing::VendorRequest&) {
    testing::VendorResponse response;
    response.delay = absl::Seconds(2);
    response.body = R"({"status":0})";
    return response;
  });
  testing::TestServer server(ConfigWithSift(slow.base_url(), /*timeout_ms=*/300));
  EvaluateCodeResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = testing::Evaluate(
      server.stub(),
      SiftRequest("try { connectors.sift.score({user_id: 'u1'}); }\n"
                  "catch (e) { return {decision: 'review', reasons: [e.name + ' ' + e.reason]}; }"),
      &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(300 + 200));
  EXPECT_EQ(response.decision().outcome(), Decision::REVIEW);
  EXPECT_EQ(response.decision().reasons(0), "ConnectorError CONNECTOR_TIMEOUT");
  ASSERT_EQ(response.connector_calls_size(), 1);
  EXPECT_EQ(response.connector_calls(0).error_reason(), "CONNECTOR_TIMEOUT");
}

TEST(ConnectorsTest, AnUncaughtConnectorErrorEndsTheEvaluationWithItsReason) {
  testing::FakeVendor sift(testing::SiftHandler("another-key"));  // our key is refused
  testing::TestServer server(ConfigWithSift(sift.base_url()));
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(server.stub(), SiftRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(testing::DetailsOf(status).info.reason(), "VENDOR_ERROR");
  EXPECT_THAT(status.error_message(), HasSubstr("VENDOR_ERROR"));
  ExpectNoCanary(status.error_message());
}

TEST(ConnectorsTest, CallsBeyondMaxConnectorCallsFail) {
  testing::FakeVendor sift(testing::SiftHandler(kCanaryKey));
  testing::TestServer server(ConfigWithSift(sift.base_url()));
  EvaluateCodeRequest request =
      SiftRequest("for (var i = 0; i < 3; i++) connectors.sift.score({user_id: 'u' + i});");
  request.mutable_limits()->set_max_connector_calls(2);
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(server.stub(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(testing::DetailsOf(status).info.reason(), "CONNECTOR_CALL_LIMIT");
  EXPECT_EQ(sift.request_count(), 2);
}

TEST(ConnectorsTest, ListConnectorsDescribesTheConfiguredVendors) {
  testing::FakeVendor sift(testing::SiftHandler(kCanaryKey));
  testing::TestServer server(ConfigWithSift(sift.base_url()));
  evaluate::v1::ListConnectorsResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(server.stub().ListConnectors(&context, {}, &response).ok());
  ASSERT_EQ(response.connectors_size(), 1);
  EXPECT_EQ(response.connectors(0).name(), "sift");
  ASSERT_GE(response.connectors(0).operations_size(), 2);
  EXPECT_EQ(response.connectors(0).operations(0).name(), "score");
  EXPECT_EQ(response.connectors(0).operations(0).parameters(0).name(), "user_id");
  EXPECT_TRUE(response.connectors(0).operations(0).parameters(0).required());
}

TEST(ConnectorsTest, RequestsNamingAnUnknownConnectorAreInvalid) {
  testing::FakeVendor sift(testing::SiftHandler(kCanaryKey));
  testing::TestServer server(ConfigWithSift(sift.base_url()));
  EvaluateCodeRequest request = SiftRequest();
  request.add_connectors("experian");
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(server.stub(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(testing::DetailsOf(status).evaluation_error.field(), "connectors[1]");
}

}  // namespace
}  // namespace evaluatecode
