// Where a connector call's answer goes: into the evaluation's record, shared rather than copied
// when the record is on an arena (the gRPC call's), copied when it is on the heap; serialized
// once, for the worker and the reply (SerializedAnswers).
#include "service/gateway_connector_host.h"

#include <memory>
#include <utility>
#include <vector>

#include "common/value_equality.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "sandbox/worker_messages.h"
#include "service/serialized_answers.h"

namespace evaluatecode::service {
namespace {

// Answers every call at once with the same result.
class OneAnswerGateway final : public connectors::ConnectorGateway {
 public:
  explicit OneAnswerGateway(connectors::ConnectorResult answer) : answer_(std::move(answer)) {}

  void Call(connectors::ConnectorRequest request,
            std::function<void(connectors::ConnectorResult)> done) override {
    connectors::ConnectorResult result = answer_;
    result.connector = request.connector;
    result.operation = request.operation;
    done(std::move(result));
  }
  std::vector<connectors::ConnectorDescription> ListConnectors() const override { return {}; }

 private:
  const connectors::ConnectorResult answer_;
};

connectors::ConnectorBody SiftAnswer() {
  auto body = std::make_shared<google::protobuf::Value>();
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"status": 0, "scores": {"payment_abuse": {"score": 0.93}}})", body.get())
                  .ok());
  return body;
}

class GatewayConnectorHostTest : public ::testing::Test {
 protected:
  GatewayConnectorHostTest() {
    connectors::ConnectorResult answer;
    answer.http_status = 200;
    answer.body = body_;
    gateway_ = std::make_unique<OneAnswerGateway>(std::move(answer));
  }

  // A host recording its calls in `response`, and their answers' bytes in `answers` (if any).
  GatewayConnectorHost HostRecordingIn(evaluate::v1::EvaluateCodeResponse& response,
                                       SerializedAnswers* answers = nullptr) {
    return GatewayConnectorHost(*gateway_, "tenant", {"sift"}, absl::InfiniteFuture(), 5,
                                response.mutable_connector_calls(), nullptr, answers);
  }

  // Makes one call recorded in `response`; returns what the script got.
  sandbox::ConnectorCallOutcome CallRecordedIn(evaluate::v1::EvaluateCodeResponse& response) {
    return HostRecordingIn(response).Call("sift", "score", google::protobuf::Struct());
  }

  evaluate::v1::EvaluateCodeResponse& ResponseOnAnArena() {
    return *google::protobuf::Arena::CreateMessage<evaluate::v1::EvaluateCodeResponse>(&arena_);
  }

  const connectors::ConnectorBody body_ = SiftAnswer();
  std::unique_ptr<OneAnswerGateway> gateway_;
  google::protobuf::Arena arena_;
};

TEST_F(GatewayConnectorHostTest, ARecordOnAnArenaSharesTheAnswerUntilTheArenaGoes) {
  const long holders = body_.use_count();
  {
    google::protobuf::Arena arena;
    auto* response =
        google::protobuf::Arena::CreateMessage<evaluate::v1::EvaluateCodeResponse>(&arena);
    sandbox::ConnectorCallOutcome outcome = CallRecordedIn(*response);
    ASSERT_EQ(response->connector_calls_size(), 1);
    EXPECT_EQ(&response->connector_calls(0).response(), body_.get()) << "the answer was copied";
    EXPECT_EQ(body_.use_count(), holders + 1) << "the arena holds the answer";
    EXPECT_TRUE(ValuesEqual(outcome.body, *body_));
    EXPECT_EQ(outcome.http_status, 200);
  }
  EXPECT_EQ(body_.use_count(), holders) << "the arena let go of the answer";
}

TEST_F(GatewayConnectorHostTest, ARecordOnTheHeapTakesACopy) {
  const long holders = body_.use_count();
  auto response = std::make_unique<evaluate::v1::EvaluateCodeResponse>();
  sandbox::ConnectorCallOutcome outcome = CallRecordedIn(*response);
  ASSERT_EQ(response->connector_calls_size(), 1);
  EXPECT_NE(&response->connector_calls(0).response(), body_.get());
  EXPECT_TRUE(ValuesEqual(response->connector_calls(0).response(), *body_));
  EXPECT_EQ(body_.use_count(), holders);
  EXPECT_TRUE(ValuesEqual(outcome.body, *body_));
  response.reset();  // deletes its copy, not the shared answer
  EXPECT_EQ(body_->struct_value().fields().at("status").number_value(), 0);
}

TEST_F(GatewayConnectorHostTest, AnAnswerIsSerializedOnceForTheWorkerAndTheReply) {
  evaluate::v1::EvaluateCodeResponse* response = &ResponseOnAnArena();
  SerializedAnswers answers;
  GatewayConnectorHost host = HostRecordingIn(*response, &answers);
  for (int i = 0; i < 2; ++i) {
    host.CallAsync("sift", "score", google::protobuf::Struct(),
                   [&](sandbox::ConnectorCallOutcome outcome) {
                     ASSERT_NE(outcome.kept_body_bytes, nullptr);
                     EXPECT_EQ(*outcome.kept_body_bytes, body_->SerializeAsString());
                     // The worker is sent those bytes.
                     EXPECT_EQ(sandbox::ToMessage(std::move(outcome)).body(),
                               body_->SerializeAsString());
                   });
  }
  ASSERT_EQ(response->connector_calls_size(), 2);
  const std::string serialized_as_protobuf_would = response->SerializeAsString();

  answers.MoveIntoRecords();
  EXPECT_FALSE(response->connector_calls(0).has_response()) << "the parsed answer was kept";
  const std::string reply = response->SerializeAsString();
  EXPECT_EQ(reply, serialized_as_protobuf_would);
  evaluate::v1::EvaluateCodeResponse read;
  ASSERT_TRUE(read.ParseFromString(reply));
  ASSERT_EQ(read.connector_calls_size(), 2);
  for (const evaluate::v1::ConnectorCall& call : read.connector_calls()) {
    EXPECT_TRUE(ValuesEqual(call.response(), *body_));
    EXPECT_EQ(call.http_status(), 200);
  }
}

TEST_F(GatewayConnectorHostTest, ARecordThatNoLongerHoldsItsAnswerIsLeftAsItIs) {
  evaluate::v1::EvaluateCodeResponse* response = &ResponseOnAnArena();
  SerializedAnswers answers;
  HostRecordingIn(*response, &answers)
      .CallAsync("sift", "score", google::protobuf::Struct(), [](sandbox::ConnectorCallOutcome) {});
  response->mutable_connector_calls(0)->clear_response();
  answers.MoveIntoRecords();
  evaluate::v1::EvaluateCodeResponse read;
  ASSERT_TRUE(read.ParseFromString(response->SerializeAsString()));
  EXPECT_FALSE(read.connector_calls(0).has_response());
}

TEST_F(GatewayConnectorHostTest, WithoutSerializedAnswersTheWorkerGetsTheAnswerSerializedThen) {
  evaluate::v1::EvaluateCodeResponse* response = &ResponseOnAnArena();
  HostRecordingIn(*response).CallAsync("sift", "score", google::protobuf::Struct(),
                                       [&](sandbox::ConnectorCallOutcome outcome) {
                                         EXPECT_EQ(outcome.kept_body_bytes, nullptr);
                                         EXPECT_EQ(sandbox::ToMessage(std::move(outcome)).body(),
                                                   body_->SerializeAsString());
                                       });
  EXPECT_TRUE(response->connector_calls(0).has_response());
}

}  // namespace
}  // namespace evaluatecode::service
