// Requests whose bytes do not parse (or a Backtest stream out of order), sent to the real server on
// loopback: each method answers INVALID_ARGUMENT / INVALID_REQUEST saying what failed (gRPC 1.51 itself answers such a request
// UNIMPLEMENTED with no message, and ends a Backtest at such a message as if the stream had ended).
#include <string>

#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::DetailsOf;

grpc::ByteBuffer BufferOf(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// Waits for the completion queue's next event, which must be `tag`.
bool Await(grpc::CompletionQueue& queue, void* tag) {
  void* got = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue.Next(&got, &ok));
  EXPECT_EQ(got, tag);
  return ok;
}

class MalformedRequestsTest : public ::testing::Test {
 protected:
  // Calls unary `method` of EvaluateService with `bytes` as the request; the reply's bytes go to
  // `reply_bytes` when given.
  grpc::Status CallWithBytes(const std::string& method, const std::string& bytes,
                             std::string* reply_bytes = nullptr) {
    grpc::GenericStub stub(server_.NewChannel());
    grpc::CompletionQueue queue;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const grpc::ByteBuffer request = BufferOf(bytes);
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
        stub.PrepareUnaryCall(&context, "/evaluate.v1.EvaluateService/" + method, request, &queue);
    call->StartCall();
    grpc::ByteBuffer reply;
    grpc::Status status;
    call->Finish(&reply, &status, this);
    Await(queue, this);
    if (reply_bytes != nullptr) {
      grpc::Slice slice;
      EXPECT_TRUE(reply.DumpToSingleSlice(&slice).ok());
      reply_bytes->assign(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    return status;
  }

  // Expects INVALID_ARGUMENT with reason INVALID_REQUEST and a message containing `says`.
  void ExpectInvalid(const grpc::Status& status, const std::string& says) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), StartsWith("INVALID_REQUEST: the message ("));
    EXPECT_THAT(status.error_message(), HasSubstr(says));
    testing::ErrorDetails details = DetailsOf(status);
    EXPECT_TRUE(details.has_error_info);
    EXPECT_EQ(details.info.reason(), "INVALID_REQUEST");
  }

  testing::TestServer server_;
};

TEST_F(MalformedRequestsTest, EvaluateCodeNamesTheFieldThatIsNotUtf8) {
  // code = "\xff\xfe"
  grpc::Status status = CallWithBytes("EvaluateCode", std::string("\x0a\x02\xff\xfe", 4));
  ExpectInvalid(status, "does not parse as evaluate.v1.EvaluateCodeRequest: String field "
                        "'evaluate.v1.EvaluateCodeRequest.code' contains invalid UTF-8 data");
  EXPECT_EQ(DetailsOf(status).evaluation_error.decision_id().size(), 36u)
      << "refused after admission, the call has a decision id and a record";

  // code = "return 1;", input = {"\xff": null}
  const std::string bad_key("\x0a\x09return 1;\x12\x07\x0a\x05\x0a\x01\xff\x12\x00", 20);
  ExpectInvalid(CallWithBytes("EvaluateCode", bad_key),
                "String field 'google.protobuf.Struct.FieldsEntry.key' contains invalid UTF-8");
}

TEST_F(MalformedRequestsTest, TruncatedRequestsAreMalformedInEveryUnaryMethod) {
  // Field 1 claims 32 bytes; 9 follow.
  const std::string truncated("\x0a\x20return 1;", 11);
  for (const char* method : {"EvaluateCode", "CompileCode", "ListConnectors", "Echo"}) {
    SCOPED_TRACE(method);
    ExpectInvalid(CallWithBytes(method, truncated), "malformed protobuf");
  }
}

TEST_F(MalformedRequestsTest, AnInputSentInTwoPartsIsMerged) {
  // protobuf merges a message field that occurs twice; the script must see both parts.
  const std::string first =
      testing::MakeRequest("return input.a + input.b;", R"({"a": 41})").SerializeAsString();
  evaluate::v1::EvaluateCodeRequest second;
  (*second.mutable_input()->mutable_fields())["b"].set_number_value(1);
  std::string reply_bytes;
  ASSERT_TRUE(
      CallWithBytes("EvaluateCode", first + second.SerializeAsString(), &reply_bytes).ok());
  evaluate::v1::EvaluateCodeResponse response;
  ASSERT_TRUE(response.ParseFromString(reply_bytes));
  EXPECT_EQ(response.result().number_value(), 42);
}

// The service reads a plain input from its bytes (common/wire_struct.h) and leaves the rest to
// protobuf's parse: these inputs take that second way, and mean what protobuf makes of them.
TEST_F(MalformedRequestsTest, AnInputKeySentTwiceKeepsItsLastValueAsProtobufDoes) {
  const std::string code =
      testing::MakeRequest("return input.a;", "{}").SerializeAsString();
  evaluate::v1::EvaluateCodeRequest first, second;
  (*first.mutable_input()->mutable_fields())["a"].set_number_value(1);
  (*second.mutable_input()->mutable_fields())["a"].set_number_value(2);
  std::string reply_bytes;
  ASSERT_TRUE(CallWithBytes("EvaluateCode",
                            code + first.SerializeAsString() + second.SerializeAsString(),
                            &reply_bytes)
                  .ok());
  evaluate::v1::EvaluateCodeResponse response;
  ASSERT_TRUE(response.ParseFromString(reply_bytes));
  EXPECT_EQ(response.result().number_value(), 2);
}

TEST_F(MalformedRequestsTest, AnInputStringThatIsNotUtf8IsNamed) {
  // code = "return 1;", input = {"a": "\xff"}
  const std::string bad_value(
      "\x0a\x09return 1;\x12\x0a\x0a\x08\x0a\x01"
      "a"
      "\x12\x03\x1a\x01\xff",
      23);
  ExpectInvalid(CallWithBytes("EvaluateCode", bad_value),
                "String field 'google.protobuf.Value.string_value' contains invalid UTF-8");
}

TEST_F(MalformedRequestsTest, ABacktestMessageThatDoesNotParseFailsTheStream) {
  grpc::GenericStub stub(server_.NewChannel());
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, "/evaluate.v1.EvaluateService/Backtest", &queue);
  int start, write, writes_done, read, finish;
  call->StartCall(&start);
  ASSERT_TRUE(Await(queue, &start));
  call->Write(BufferOf(std::string("\x0a\x05\x0a\x03\xff\xff\xff", 7)), &write);
  Await(queue, &write);
  call->WritesDone(&writes_done);
  Await(queue, &writes_done);
  grpc::ByteBuffer reply;
  call->Read(&reply, &read);
  EXPECT_FALSE(Await(queue, &read)) << "no summary: the stream did not end well";
  grpc::Status status;
  call->Finish(&status, &finish);
  Await(queue, &finish);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(),
              StartsWith("INVALID_REQUEST: message 1 of the stream: the message (7 bytes) does "
                         "not parse as evaluate.v1.BacktestRequest: String field "
                         "'evaluate.v1.BacktestStart.code' contains invalid UTF-8"));
  EXPECT_EQ(DetailsOf(status).info.reason(), "INVALID_REQUEST");
}

TEST_F(MalformedRequestsTest, ABacktestWithoutItsStartIsAnInvalidRequestAboutStart) {
  grpc::ClientContext context;
  auto stream = server_.stub().Backtest(&context);
  evaluate::v1::BacktestRequest record;
  record.mutable_record()->set_record_id("r1");
  EXPECT_TRUE(stream->Write(record));
  stream->WritesDone();
  evaluate::v1::BacktestResponse response;
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "INVALID_REQUEST: the first message of a Backtest must be a BacktestStart (field "
            "start)");
  testing::ErrorDetails details = DetailsOf(status);
  EXPECT_EQ(details.info.reason(), "INVALID_REQUEST");
  EXPECT_EQ(details.evaluation_error.field(), "start");
}

}  // namespace
}  // namespace evaluatecode
