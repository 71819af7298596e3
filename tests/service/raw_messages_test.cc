#include "service/raw_messages.h"

#include <string>

#include "evaluate/v1/evaluate.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::service {
namespace {

using ::evaluate::v1::EvaluateCodeRequest;
using ::testing::HasSubstr;

EvaluateCodeRequest RequestWithInput(const std::string& key, double value) {
  EvaluateCodeRequest request;
  request.set_code("return input;");
  (*request.mutable_input()->mutable_fields())[key].set_number_value(value);
  return request;
}

TEST(RawMessagesTest, ParsesWellFormedBytes) {
  const EvaluateCodeRequest sent = RequestWithInput("a", 1);
  EvaluateCodeRequest parsed;
  ASSERT_OK(ParseMessage(sent.SerializeAsString(), parsed));
  EXPECT_EQ(parsed.code(), "return input;");
  EXPECT_EQ(parsed.input().fields().at("a").number_value(), 1);
}

TEST(RawMessagesTest, SaysWhatDoesNotParseAndLeavesTheMessageEmpty) {
  EvaluateCodeRequest parsed;
  absl::Status truncated = ParseMessage(std::string("\x0a\x20return", 8), parsed);
  EXPECT_EQ(truncated.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(truncated.message(),
            "the message (8 bytes) does not parse as evaluate.v1.EvaluateCodeRequest: malformed "
            "protobuf (truncated, or a field of the wrong wire type)");
  EXPECT_EQ(parsed.ByteSizeLong(), 0u);

  absl::Status not_utf8 = ParseMessage(std::string("\x0a\x01\xff", 3), parsed);
  EXPECT_EQ(not_utf8.message(),
            "the message (3 bytes) does not parse as evaluate.v1.EvaluateCodeRequest: String "
            "field 'evaluate.v1.EvaluateCodeRequest.code' contains invalid UTF-8 data");
}

TEST(RawMessagesTest, SplitsOutEveryOccurrenceOfAFieldInOrderAndKeepsTheRest) {
  EvaluateCodeRequest first = RequestWithInput("a", 1);
  first.add_connectors("sift");
  EvaluateCodeRequest second = RequestWithInput("b", 2);
  second.set_code("return 2;");
  ASSERT_OK_AND_ASSIGN(SplitMessage split,
                       SplitField(first.SerializeAsString() + second.SerializeAsString(),
                                  EvaluateCodeRequest::kInputFieldNumber));
  google::protobuf::Struct merged;
  ASSERT_TRUE(merged.ParseFromString(split.field));
  EXPECT_EQ(merged.fields().size(), 2u);
  EXPECT_EQ(merged.fields().at("b").number_value(), 2);
  // The rest is the request as it would parse, but for its input.
  EvaluateCodeRequest rest;
  ASSERT_TRUE(rest.ParseFromString(split.rest));
  EXPECT_FALSE(rest.has_input());
  EXPECT_EQ(rest.code(), "return 2;");
  EXPECT_THAT(rest.connectors(), ::testing::ElementsAre("sift"));

  ASSERT_OK_AND_ASSIGN(SplitMessage none,
                       SplitField(first.SerializeAsString(), EvaluateCodeRequest::kLimitsFieldNumber));
  EXPECT_EQ(none.field, "");
  EXPECT_EQ(none.rest, first.SerializeAsString());
  EXPECT_THAT(SplitField(std::string("\x12\x05\x0a", 3), 2).status().message(),
              HasSubstr("not well-formed"));
}

TEST(RawMessagesTest, ReceivedBytesJoinsSlicesAndSerializeRefillsABuffer) {
  grpc::Slice parts[] = {grpc::Slice(std::string("ab")), grpc::Slice(std::string("cd"))};
  EXPECT_EQ(ReceivedBytes(grpc::ByteBuffer(parts, 2)).view(), "abcd");
  EXPECT_EQ(ReceivedBytes(grpc::ByteBuffer()).view(), "");

  grpc::ByteBuffer buffer;
  ASSERT_TRUE(SerializeMessage(RequestWithInput("a", 1), &buffer).ok());
  // The same buffer again, as a stream reuses it.
  ASSERT_TRUE(SerializeMessage(RequestWithInput("b", 2), &buffer).ok());
  EvaluateCodeRequest parsed;
  ASSERT_OK(ParseMessage(ReceivedBytes(buffer).view(), parsed));
  EXPECT_EQ(parsed.input().fields().count("b"), 1u);
  EXPECT_EQ(parsed.input().fields().count("a"), 0u);
}

}  // namespace
}  // namespace evaluatecode::service
