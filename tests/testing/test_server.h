#ifndef EVALUATECODE_TESTS_TESTING_TEST_SERVER_H_
#define EVALUATECODE_TESTS_TESTING_TEST_SERVER_H_

#include <memory>
#include <string>

#include "evaluate/v1/evaluate.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/config.h"
#include "service/server.h"

namespace evaluatecode::testing {

// A ServerConfig for tests: loopback, port 0, quiet logs, sandbox workers from the runfiles, and
// /metrics not served (set metrics.enabled to scrape it).
service::ServerConfig TestConfig();

// The real server, in this process, on a loopback port, with clients for it.
class TestServer {
 public:
  // Starts the server; aborts the test binary if it cannot (nothing else can run then).
  explicit TestServer(const service::ServerConfig& config = TestConfig());
  ~TestServer();

  service::Server& server() { return *server_; }
  std::string address() const;
  evaluate::v1::EvaluateService::Stub& stub() { return *stub_; }
  grpc::health::v1::Health::Stub& health() { return *health_; }
  std::shared_ptr<grpc::Channel> NewChannel() const;

 private:
  std::unique_ptr<service::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<evaluate::v1::EvaluateService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// The details a failed call carried.
struct ErrorDetails {
  bool has_error_info = false;
  google::rpc::ErrorInfo info;
  bool has_evaluation_error = false;
  evaluate::v1::EvaluationError evaluation_error;
};
ErrorDetails DetailsOf(const grpc::Status& status);

// A request with `code`, `input` given as JSON, and an optional timeout.
evaluate::v1::EvaluateCodeRequest MakeRequest(const std::string& code,
                                              const std::string& input_json = "{}",
                                              uint32_t timeout_ms = 0);

// Calls EvaluateCode with a deadline of `deadline_ms` from now.
grpc::Status Evaluate(evaluate::v1::EvaluateService::Stub& stub,
                      const evaluate::v1::EvaluateCodeRequest& request,
                      evaluate::v1::EvaluateCodeResponse* response, int deadline_ms = 10000);

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_TEST_SERVER_H_
