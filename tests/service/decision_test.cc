// Typing decision-shaped results.
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "service/decision.h"

namespace evaluatecode::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Extracted {
  std::optional<evaluate::v1::Decision> decision;
  std::optional<evaluate::v1::EvaluationError> error;
};

Extracted Extract(const std::string& json) {
  google::protobuf::Value value;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &value).ok()) << json;
  Extracted extracted;
  extracted.error = ExtractDecision(value, &extracted.decision);
  return extracted;
}

TEST(DecisionTest, DecisionShapedResultsAreTypedWhateverTheCase) {
  Extracted approve = Extract(R"({"decision": "approve"})");
  ASSERT_TRUE(approve.decision.has_value());
  EXPECT_EQ(approve.decision->outcome(), evaluate::v1::Decision::APPROVE);
  Extracted review = Extract(R"({"decision": "Review", "reasons": ["selfie_mismatch", "new"]})");
  ASSERT_TRUE(review.decision.has_value());
  EXPECT_EQ(review.decision->outcome(), evaluate::v1::Decision::REVIEW);
  EXPECT_THAT(review.decision->reasons(), ElementsAre("selfie_mismatch", "new"));
  EXPECT_EQ(Extract(R"({"decision": "DECLINE", "reasons": null})").decision->outcome(),
            evaluate::v1::Decision::DECLINE);
}

TEST(DecisionTest, OtherResultsHaveNoDecision) {
  for (const char* json : {"42", "\"approve\"", "[1]", "null", R"({"verdict": "approve"})"}) {
    Extracted extracted = Extract(json);
    EXPECT_FALSE(extracted.decision.has_value()) << json;
    EXPECT_FALSE(extracted.error.has_value()) << json;
  }
}

TEST(DecisionTest, UnknownOrMalformedDecisionsAreInvalidResults) {
  const struct {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"decision": "maybe"})", "got \"maybe\""},
      {R"({"decision": 1})", "non-string"},
      {R"({"decision": "approve", "reasons": "one"})", "list of strings"},
      {R"({"decision": "approve", "reasons": ["a", 2]})", "result.reasons[1]"},
  };
  for (const auto& bad : cases) {
    Extracted extracted = Extract(bad.json);
    ASSERT_TRUE(extracted.error.has_value()) << bad.json;
    EXPECT_EQ(extracted.error->reason(), "SCRIPT_RESULT_INVALID");
    EXPECT_THAT(extracted.error->message(), HasSubstr(bad.message));
    EXPECT_FALSE(extracted.decision.has_value());
  }
}

}  // namespace
}  // namespace evaluatecode::service
