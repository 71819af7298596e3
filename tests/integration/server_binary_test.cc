// The evaluate_server binary as operators run it: flags, config errors, SIGTERM drain, and the
// durable decision log across a SIGKILL.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::testing::HasSubstr;
using testing::ServerProcess;

TEST(ServerBinaryTest, ServesTheExampleConfigOnTheListenFlagAddress) {
  absl::StatusOr<ServerProcess> server = ServerProcess::Start(
      {"--config", ServerProcess::Runfile("deploy/config.example.yaml"), "--listen",
       "127.0.0.1:0", "--metrics_listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = evaluate::v1::EvaluateService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server->port()), grpc::InsecureChannelCredentials()));
  evaluate::v1::EvaluateCodeResponse response;
  ASSERT_TRUE(testing::Evaluate(*stub, testing::MakeRequest("return 6 * 7;"), &response).ok());
  EXPECT_EQ(response.result().number_value(), 42);
}

TEST(ServerBinaryTest, SigtermLetsTheCallInFlightFinishAndExitsZero) {
  absl::StatusOr<ServerProcess> server = ServerProcess::Start({"--listen", "127.0.0.1:0", "--metrics_listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = evaluate::v1::EvaluateService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server->port()), grpc::InsecureChannelCredentials()));

  grpc::Status in_flight;
  evaluate::v1::EvaluateCodeResponse response;
  std::thread caller([&] {
    in_flight = testing::Evaluate(
        *stub,
        // About a second of work (the script's clock stands still during an evaluation).
        testing::MakeRequest("var x = 0; for (var i = 0; i < 1.5e7; i++) { x += i % 7; } return 'ok';",
                             "{}", 20000),
        &response);
  });
  absl::SleepFor(absl::Milliseconds(200));
  server->Signal(SIGTERM);
  caller.join();
  EXPECT_TRUE(in_flight.ok()) << in_flight.error_message();
  EXPECT_EQ(response.result().string_value(), "ok");
  absl::StatusOr<int> exit_code = server->WaitForExit(absl::Seconds(15));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << server->Output();
  EXPECT_THAT(server->Output(), HasSubstr(R"("type":"stopped")"));
}

TEST(ServerBinaryTest, ADurableDecisionLogHoldsEveryRepliedDecisionWhenTheServerIsKilled) {
  const std::string records = absl::StrCat(std::getenv("TEST_TMPDIR"), "/durable.jsonl");
  const std::string config = absl::StrCat(std::getenv("TEST_TMPDIR"), "/durable.yaml");
  std::ofstream(config) << "decision_log: {sink: file, path: " << records << ", durable: true}\n";
  absl::StatusOr<ServerProcess> server = ServerProcess::Start(
      {"--config", config, "--listen", "127.0.0.1:0", "--metrics_listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = evaluate::v1::EvaluateService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server->port()), grpc::InsecureChannelCredentials()));

  // Eight callers keep calling; the server is SIGKILLed once 100 decisions have been replied, with
  // calls still in flight. Every replied decision_id must be in the file.
  absl::Mutex mu;
  std::vector<std::string> replied;
  std::vector<std::thread> callers;
  std::atomic<bool> killed{false};
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      while (!killed) {
        evaluate::v1::EvaluateCodeResponse response;
        if (!testing::Evaluate(*stub, testing::MakeRequest("return {decision: 'approve'};"),
                               &response, 5000)
                 .ok()) {
          continue;
        }
        absl::MutexLock lock(&mu);
        replied.push_back(response.decision_id());
        if (replied.size() == 100) {
          server->Signal(SIGKILL);
          killed = true;
        }
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  std::ifstream file(records);
  std::set<std::string> on_disk;
  std::string line;
  while (std::getline(file, line)) {
    const size_t at = line.find(R"("decision_id":")");
    if (at != std::string::npos) on_disk.insert(line.substr(at + 15, 36));
  }
  ASSERT_GE(replied.size(), 100u);
  for (const std::string& id : replied) EXPECT_EQ(on_disk.count(id), 1u) << id;
}

TEST(ServerBinaryTest, ABadConfigFailsStartUpNamingTheKey) {
  const std::string path = absl::StrCat(getenv("TEST_TMPDIR"), "/bad.yaml");
  FILE* file = fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  fputs("server:\n  listen: 127.0.0.1:0\nevaluator:\n  thread: 4\n", file);
  fclose(file);
  ServerProcess::Exit exit = ServerProcess::RunToExit({"--config", path});
  EXPECT_EQ(exit.code, 1);
  EXPECT_THAT(exit.output, HasSubstr("evaluator.thread"));
  EXPECT_THAT(exit.output, HasSubstr("unknown key"));
}

TEST(ServerBinaryTest, AMissingConfigFileFailsStartUp) {
  ServerProcess::Exit exit = ServerProcess::RunToExit({"--config", "/nonexistent/config.yaml"});
  EXPECT_EQ(exit.code, 1);
  EXPECT_THAT(exit.output, HasSubstr("/nonexistent/config.yaml"));
}

}  // namespace
}  // namespace evaluatecode
