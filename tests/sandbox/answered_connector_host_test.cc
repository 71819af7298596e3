// How a worker answers an evaluation's connector calls from its earlier runs.
#include "sandbox/answered_connector_host.h"

#include "gtest/gtest.h"

namespace evaluatecode::sandbox {
namespace {

google::protobuf::Struct Params(const std::string& user) {
  google::protobuf::Struct params;
  (*params.mutable_fields())["user"].set_string_value(user);
  return params;
}

void AddAnswer(ipc::EvaluateRequest* request, const std::string& user, double score) {
  ipc::ConnectorExchange* exchange = request->add_answered();
  exchange->mutable_call()->set_connector("sift");
  exchange->mutable_call()->set_operation("score");
  *exchange->mutable_call()->mutable_params() = Params(user);
  exchange->mutable_reply()->set_http_status(200);
  google::protobuf::Value body;
  body.set_number_value(score);
  body.SerializeToString(exchange->mutable_reply()->mutable_body());
}

TEST(AnsweredConnectorHostTest, AnswersRecordedCallsInOrderThenSuspendsAtTheFirstNewOne) {
  ipc::EvaluateRequest request;
  AddAnswer(&request, "a", 0.1);
  AddAnswer(&request, "b", 0.2);
  AnsweredConnectorHost host(request);

  ConnectorCallOutcome first = host.Call("sift", "score", Params("a"));
  EXPECT_FALSE(first.suspend);
  EXPECT_EQ(first.http_status, 200);
  EXPECT_EQ(first.body.number_value(), 0.1);
  EXPECT_EQ(host.Call("sift", "score", Params("b")).body.number_value(), 0.2);
  EXPECT_FALSE(host.pending().has_value());

  EXPECT_TRUE(host.Call("sift", "score", Params("c")).suspend);
  ASSERT_TRUE(host.pending().has_value());
  EXPECT_EQ(host.pending()->index(), 2u);
  EXPECT_EQ(host.pending()->params().fields().at("user").string_value(), "c");
}

TEST(AnsweredConnectorHostTest, ACallThatDiffersFromTheRecordingIsNewAndEndsItsUse) {
  ipc::EvaluateRequest request;
  AddAnswer(&request, "a", 0.1);
  AddAnswer(&request, "b", 0.2);
  AnsweredConnectorHost host(request);

  EXPECT_TRUE(host.Call("sift", "score", Params("other")).suspend);
  ASSERT_TRUE(host.pending().has_value());
  EXPECT_EQ(host.pending()->index(), 0u);
  // Whatever the stopping script calls next is not answered, and the first new call stays the one.
  EXPECT_TRUE(host.Call("sift", "score", Params("b")).suspend);
  EXPECT_EQ(host.pending()->params().fields().at("user").string_value(), "other");
}

TEST(AnsweredConnectorHostTest, AnOperationOrConnectorMismatchIsANewCall) {
  ipc::EvaluateRequest request;
  AddAnswer(&request, "a", 0.1);
  AnsweredConnectorHost host(request);
  EXPECT_TRUE(host.Call("sift", "decisions", Params("a")).suspend);
  EXPECT_EQ(host.pending()->operation(), "decisions");
}

TEST(AnsweredConnectorHostTest, RecordedErrorsAreAnsweredAsErrors) {
  ipc::EvaluateRequest request;
  AddAnswer(&request, "a", 0);
  request.mutable_answered(0)->mutable_reply()->set_error_reason("CONNECTOR_TIMEOUT");
  request.mutable_answered(0)->mutable_reply()->set_message("no answer in 50ms");
  AnsweredConnectorHost host(request);
  ConnectorCallOutcome outcome = host.Call("sift", "score", Params("a"));
  EXPECT_FALSE(outcome.suspend);
  EXPECT_EQ(outcome.error_reason, "CONNECTOR_TIMEOUT");
  EXPECT_EQ(outcome.message, "no answer in 50ms");
}

}  // namespace
}  // namespace evaluatecode::sandbox
