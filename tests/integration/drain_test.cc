// Overload and graceful drain of the in-process server: every accepted call gets exactly one answer.
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::evaluate::v1::EvaluateCodeResponse;
using testing::DetailsOf;
using testing::Evaluate;
using testing::MakeRequest;

// Keeps an evaluator busy for about a second (the script's clock is frozen during an evaluation,
// so it counts iterations rather than watching Date.now()). Long enough to be in flight when the
// test acts, short enough to finish well within the timeouts and grace periods below.
std::string BusyScript() {
  return "var x = 0; for (var i = 0; i < 1.5e7; i++) { x += i % 7; } return 'done';";
}

grpc::health::v1::HealthCheckResponse::ServingStatus HealthOf(testing::TestServer& server) {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::Status status = server.health().Check(&context, request, &response);
  return status.ok() ? response.status() : grpc::health::v1::HealthCheckResponse::UNKNOWN;
}

TEST(OverloadTest, AFullQueueIsRefusedAtOnceWithResourceExhausted) {
  service::ServerConfig config = testing::TestConfig();
  config.evaluator_threads = 1;
  config.queue_capacity = 1;
  testing::TestServer server(config);

  // One call runs, one waits in the queue; both must still succeed.
  grpc::Status slow[2];
  std::thread callers[2];
  for (int i = 0; i < 2; ++i) {
    callers[i] = std::thread([&, i] {
      EvaluateCodeResponse response;
      slow[i] = Evaluate(server.stub(), MakeRequest(BusyScript(), "{}", 20000), &response, 30000);
    });
    absl::SleepFor(absl::Milliseconds(100));
  }
  const absl::Time start = absl::Now();
  EvaluateCodeResponse response;
  grpc::Status refused = Evaluate(server.stub(), MakeRequest("return 1;"), &response);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(200));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(DetailsOf(refused).info.reason(), "SERVER_OVERLOADED");
  for (std::thread& caller : callers) caller.join();
  EXPECT_TRUE(slow[0].ok()) << slow[0].error_message();
  EXPECT_TRUE(slow[1].ok()) << slow[1].error_message();
}

TEST(DrainTest, InFlightCallsFinishWithinTheGraceAndNewCallsAreRefused) {
  service::ServerConfig config = testing::TestConfig();
  config.drain_grace = absl::Seconds(10);
  testing::TestServer server(config);

  grpc::Status in_flight;
  EvaluateCodeResponse in_flight_response;
  std::thread caller([&] {
    in_flight = Evaluate(server.stub(), MakeRequest(BusyScript(), "{}", 20000),
                         &in_flight_response, 30000);
  });
  absl::SleepFor(absl::Milliseconds(150));
  std::thread drainer([&] { server.server().Shutdown(); });
  absl::SleepFor(absl::Milliseconds(150));

  // Draining: health says NOT_SERVING and new work is refused precisely.
  EXPECT_EQ(HealthOf(server), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EvaluateCodeResponse response;
  grpc::Status refused = Evaluate(server.stub(), MakeRequest("return 1;"), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(DetailsOf(refused).info.reason(), "SERVER_SHUTTING_DOWN");

  caller.join();
  drainer.join();
  ASSERT_TRUE(in_flight.ok()) << in_flight.error_message();
  EXPECT_EQ(in_flight_response.result().string_value(), "done");
}

TEST(DrainTest, CallsStillRunningWhenTheGraceEndsAreStoppedWithUnavailable) {
  service::ServerConfig config = testing::TestConfig();
  config.drain_grace = absl::Milliseconds(300);
  config.evaluator_threads = 1;
  testing::TestServer server(config);

  grpc::Status running, queued;
  std::thread runner([&] {
    EvaluateCodeResponse response;
    running = Evaluate(server.stub(), MakeRequest("while (true) {}", "{}", 20000), &response, 30000);
  });
  absl::SleepFor(absl::Milliseconds(100));
  std::thread waiter([&] {
    EvaluateCodeResponse response;
    queued = Evaluate(server.stub(), MakeRequest("return 1;"), &response, 30000);
  });
  absl::SleepFor(absl::Milliseconds(100));

  const absl::Time start = absl::Now();
  server.server().Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  runner.join();
  waiter.join();
  EXPECT_EQ(running.error_code(), grpc::StatusCode::UNAVAILABLE) << running.error_message();
  EXPECT_EQ(DetailsOf(running).info.reason(), "SERVER_SHUTTING_DOWN");
  EXPECT_EQ(queued.error_code(), grpc::StatusCode::UNAVAILABLE) << queued.error_message();
  EXPECT_EQ(DetailsOf(queued).info.reason(), "SERVER_SHUTTING_DOWN");
}

}  // namespace
}  // namespace evaluatecode
