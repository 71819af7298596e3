#include "tests/testing/test_server.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "service/logging.h"

namespace evaluatecode::testing {

service::ServerConfig TestConfig() {
  service::ServerConfig config;
  config.listen_address = "127.0.0.1:0";
  config.log_level = "warn";
  config.drain_grace = absl::Seconds(3);
  // Most tests do not scrape /metrics, and stopping its HTTP server costs about a second (civetweb
  // polls for the stop); tests that scrape set metrics.enabled. The metrics are counted either way.
  config.metrics.enabled = false;
  config.metrics.listen_address = "127.0.0.1:0";
  // Scripts run in real sandbox workers: the server binary from this test's runfiles.
  const char* runfiles = std::getenv("TEST_SRCDIR");
  config.worker_binary =
      absl::StrCat(runfiles != nullptr ? runfiles : ".", "/evaluatecode/service/evaluate_server");
  return config;
}

TestServer::TestServer(const service::ServerConfig& config) {
  auto logger = service::NewJsonLogger(config.log_level);
  auto server = logger.ok() ? service::Server::Start(config, *logger) : logger.status();
  if (!server.ok()) {
    std::fprintf(stderr, "test server did not start: %s\n", server.status().ToString().c_str());
    std::abort();
  }
  server_ = *std::move(server);
  channel_ = NewChannel();
  stub_ = evaluate::v1::EvaluateService::NewStub(channel_);
  health_ = grpc::health::v1::Health::NewStub(channel_);
}

TestServer::~TestServer() { server_->Shutdown(); }

std::string TestServer::address() const { return absl::StrCat("127.0.0.1:", server_->port()); }

std::shared_ptr<grpc::Channel> TestServer::NewChannel() const {
  return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

ErrorDetails DetailsOf(const grpc::Status& status) {
  ErrorDetails details;
  google::rpc::Status rpc_status;
  if (!rpc_status.ParseFromString(status.error_details())) return details;
  for (const google::protobuf::Any& any : rpc_status.details()) {
    if (any.UnpackTo(&details.info)) details.has_error_info = true;
    if (any.UnpackTo(&details.evaluation_error)) details.has_evaluation_error = true;
  }
  return details;
}

evaluate::v1::EvaluateCodeRequest MakeRequest(const std::string& code,
                                              const std::string& input_json,
                                              uint32_t timeout_ms) {
  evaluate::v1::EvaluateCodeRequest request;
  request.set_code(code);
  if (!google::protobuf::util::JsonStringToMessage(input_json, request.mutable_input()).ok()) {
    std::fprintf(stderr, "bad test input JSON: %s\n", input_json.c_str());
    std::abort();
  }
  if (timeout_ms > 0) request.mutable_limits()->set_timeout_ms(timeout_ms);
  return request;
}

grpc::Status Evaluate(evaluate::v1::EvaluateService::Stub& stub,
                      const evaluate::v1::EvaluateCodeRequest& request,
                      evaluate::v1::EvaluateCodeResponse* response, int deadline_ms) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
  return stub.EvaluateCode(&context, request, response);
}

}  // namespace evaluatecode::testing
