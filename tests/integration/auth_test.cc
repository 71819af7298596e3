// Caller identity over the real transport: mTLS with client certificates made for the test (see
// tests/testing/make_test_certs.sh), the authorization table, the plaintext health port, and
// identity from a mesh-set header.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::evaluate::v1::EvaluateCodeRequest;
using ::evaluate::v1::EvaluateCodeResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kEngine[] = "spiffe://evaluatecode.test/workflow-engine";

std::string CertPath(const std::string& name) {
  return testing::ServerProcess::Runfile(absl::StrCat("tests/testing/", name));
}

std::string ReadCert(const std::string& name) {
  std::ifstream file(CertPath(name));
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string WriteSecret() {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/vendor_key");
  std::ofstream(path) << "not-a-real-key";
  return path;
}

// Two connectors (never called here) so that the table can allow one and not the other.
service::ServerConfig ConfigWithAuth(const std::string& tls_and_auth_yaml) {
  const std::string secret = WriteSecret();
  absl::StatusOr<service::ServerConfig> parsed = service::ParseConfig(absl::StrCat(
      tls_and_auth_yaml, R"(
connectors:
  sift:
    type: sift
    base_url: https://api.sift.test
    auth: {secret_file: )", secret, R"(}
  sift_staging:
    type: sift
    base_url: https://staging.sift.test
    auth: {secret_file: )", secret, R"(}
)"));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  service::ServerConfig config = testing::TestConfig();
  config.tls = parsed->tls;
  config.health_listen_address = parsed->health_listen_address;
  config.auth = parsed->auth;
  config.connectors = parsed->connectors;
  return config;
}

service::ServerConfig MutualTlsConfig() {
  return ConfigWithAuth(absl::StrCat(R"(
server:
  health_listen: 127.0.0.1:0
  tls:
    cert_file: )", CertPath("server.pem"), R"(
    key_file: )", CertPath("server.key"), R"(
    client_ca_file: )", CertPath("ca.pem"), R"(
auth:
  identity: client_certificate
  callers:
    ")", kEngine, R"(":
      connectors: [sift]
)"));
}

// A client of `server` presenting the certificate `client` ("" = none).
std::unique_ptr<evaluate::v1::EvaluateService::Stub> TlsClient(testing::TestServer& server,
                                                              const std::string& client) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadCert("ca.pem");
  if (!client.empty()) {
    options.pem_private_key = ReadCert(client + ".key");
    options.pem_cert_chain = ReadCert(client + ".pem");
  }
  return evaluate::v1::EvaluateService::NewStub(grpc::CreateChannel(
      absl::StrCat("localhost:", server.server().port()), grpc::SslCredentials(options)));
}

EvaluateCodeRequest Decision() {
  return testing::MakeRequest("return {decision: 'approve', reasons: []};");
}

TEST(AuthTest, MutualTlsAdmitsAKnownCallerAndRecordsWhoItIs) {
  service::ServerConfig config = MutualTlsConfig();
  const std::string records = absl::StrCat(std::getenv("TEST_TMPDIR"), "/decisions.jsonl");
  config.decision_log.sink = service::observability::DecisionLogOptions::Sink::kFile;
  config.decision_log.file.path = records;
  config.decision_log.file.durable = true;
  testing::TestServer server(config);
  auto engine = TlsClient(server, "client");
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(*engine, Decision(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.decision().outcome(), evaluate::v1::Decision::APPROVE);

  std::ifstream file(records);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr(absl::StrCat(R"("caller":")", kEngine, R"(")")));
}

TEST(AuthTest, MutualTlsRefusesClientsWithoutATrustedCertificate) {
  testing::TestServer server(MutualTlsConfig());
  for (const char* client : {"", "rogue"}) {
    SCOPED_TRACE(client);
    auto stub = TlsClient(server, client);
    EvaluateCodeResponse response;
    grpc::Status status = testing::Evaluate(*stub, Decision(), &response, 3000);
    // The handshake fails: no call reaches the service.
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  }
  // A plaintext client cannot talk to the TLS port either.
  EvaluateCodeResponse response;
  EXPECT_EQ(testing::Evaluate(server.stub(), Decision(), &response, 3000).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(AuthTest, ACertifiedCallerOutsideTheTableIsDeniedBeforeAnyScriptRuns) {
  testing::TestServer server(MutualTlsConfig());
  auto stranger = TlsClient(server, "stranger");
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(
      *stranger, testing::MakeRequest("while (true) {}", "{}", 5000), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  const testing::ErrorDetails details = testing::DetailsOf(status);
  EXPECT_EQ(details.info.reason(), "CALLER_NOT_AUTHORIZED");
  EXPECT_THAT(status.error_message(), HasSubstr("spiffe://evaluatecode.test/stranger"));

  evaluate::v1::ListConnectorsResponse connectors;
  grpc::ClientContext context;
  EXPECT_EQ(stranger->ListConnectors(&context, {}, &connectors).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST(AuthTest, ACallerMayNameOnlyTheConnectorsItsRowAllows) {
  testing::TestServer server(MutualTlsConfig());
  auto engine = TlsClient(server, "client");
  EvaluateCodeRequest request = Decision();
  request.add_connectors("sift");
  request.add_connectors("sift_staging");
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(*engine, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  const testing::ErrorDetails details = testing::DetailsOf(status);
  EXPECT_EQ(details.info.reason(), "CALLER_NOT_AUTHORIZED");
  EXPECT_EQ(details.evaluation_error.field(), "connectors[1]");

  evaluate::v1::ListConnectorsResponse connectors;
  grpc::ClientContext context;
  ASSERT_TRUE(engine->ListConnectors(&context, {}, &connectors).ok());
  std::vector<std::string> names;
  for (const evaluate::v1::Connector& connector : connectors.connectors()) {
    names.push_back(connector.name());
  }
  EXPECT_THAT(names, ElementsAre("sift"));
}

TEST(AuthTest, TheHealthPortIsPlaintextAndServesHealthOnly) {
  testing::TestServer server(MutualTlsConfig());
  ASSERT_NE(server.server().health_port(), 0);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.server().health_port()),
                                     grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("evaluate.v1.EvaluateService");
  grpc::health::v1::HealthCheckResponse reply;
  grpc::ClientContext context;
  ASSERT_TRUE(health->Check(&context, request, &reply).ok());
  EXPECT_EQ(reply.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto service = evaluate::v1::EvaluateService::NewStub(channel);
  EvaluateCodeResponse response;
  EXPECT_EQ(testing::Evaluate(*service, Decision(), &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // Nor reflection: the API's schema stays behind the certificate.
  grpc::GenericStub generic(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext reflection_context;
  grpc::ByteBuffer empty, reflection_reply;
  auto reflection = generic.PrepareUnaryCall(
      &reflection_context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", empty,
      &queue);
  reflection->StartCall();
  grpc::Status reflection_status;
  reflection->Finish(&reflection_reply, &reflection_status, nullptr);
  void* tag = nullptr;
  bool finished = false;
  ASSERT_TRUE(queue.Next(&tag, &finished));
  EXPECT_EQ(reflection_status.error_code(), grpc::StatusCode::UNIMPLEMENTED);

  server.server().Shutdown();
  grpc::ClientContext after;
  grpc::Status status = health->Check(&after, request, &reply);
  EXPECT_TRUE(!status.ok() || reply.status() != grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST(AuthTest, ServerOnlyTlsServesAnyClientThatTrustsIt) {
  testing::TestServer server(ConfigWithAuth(absl::StrCat(R"(
server:
  tls:
    cert_file: )", CertPath("server.pem"), R"(
    key_file: )", CertPath("server.key"), R"(
)")));
  auto anonymous = TlsClient(server, "");
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(*anonymous, Decision(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

class HeaderIdentityTest : public ::testing::Test {
 protected:
  HeaderIdentityTest()
      : server_(ConfigWithAuth(R"(
auth:
  identity: header
  header: x-caller
  callers:
    workflow-engine:
      connectors: ["*"]
      quota: {max_concurrent: 0, requests_per_second: 1, burst: 2}
    backoffice:
      connectors: [sift_staging]
)")) {}

  grpc::Status EvaluateAs(const std::string& caller) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!caller.empty()) context.AddMetadata("x-caller", caller);
    EvaluateCodeResponse response;
    return server_.stub().EvaluateCode(&context, Decision(), &response);
  }

  testing::TestServer server_;
};

TEST_F(HeaderIdentityTest, TheMeshHeaderNamesTheCaller) {
  grpc::Status missing = EvaluateAs("");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(testing::DetailsOf(missing).info.reason(), "CALLER_UNAUTHENTICATED");
  EXPECT_THAT(missing.error_message(), HasSubstr("x-caller"));

  grpc::Status unknown = EvaluateAs("intruder");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(testing::DetailsOf(unknown).info.reason(), "CALLER_NOT_AUTHORIZED");

  EXPECT_TRUE(EvaluateAs("backoffice").ok());
}

TEST_F(HeaderIdentityTest, ACallerOverItsRateQuotaIsRefusedAndOthersAreNot) {
  int engine_ok = 0, engine_refused = 0;
  for (int i = 0; i < 6; ++i) {
    grpc::Status status = EvaluateAs("workflow-engine");
    if (status.ok()) {
      ++engine_ok;
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
      EXPECT_EQ(testing::DetailsOf(status).info.reason(), "QUOTA_EXCEEDED");
      EXPECT_THAT(status.error_message(), HasSubstr("caller"));
      ++engine_refused;
    }
  }
  // Burst 2 at 1/s: the calls of a few hundred milliseconds get two or three through.
  EXPECT_GE(engine_ok, 2);
  EXPECT_LE(engine_ok, 3);
  EXPECT_EQ(engine_ok + engine_refused, 6);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(EvaluateAs("backoffice").ok());
}

}  // namespace
}  // namespace evaluatecode
