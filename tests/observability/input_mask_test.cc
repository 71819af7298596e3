// The mask path syntax: exact keys, `*`, `**`, arrays, escapes, and the paths refused — applied the
// way the service applies it, while a decision record's input is written.
#include "service/observability/input_mask.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "evaluate/v1/evaluate.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "service/observability/decision_record.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::service::observability {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::StatusIs;

json Input() {
  return json::parse(R"({
    "a": {"b": {"c": 1, "d": 2}, "email": "x@y"},
    "list": [{"email": "p@q", "n": 1}, {"inner": {"email": "r@s"}}],
    "email": "top@y",
    "dotted.key": "v",
    "*": "star"
  })");
}

// The recorded input and the record's "masked" list when Input() is recorded with `paths`.
json Masked(const std::vector<std::string>& paths, std::vector<std::string>* masked = nullptr) {
  absl::StatusOr<InputMask> mask = InputMask::Create(paths);
  EXPECT_TRUE(mask.ok()) << mask.status();
  evaluate::v1::EvaluateCodeRequest request;
  EXPECT_TRUE(
      google::protobuf::util::JsonStringToMessage(Input().dump(), request.mutable_input()).ok());
  const evaluate::v1::EvaluateCodeResponse response;
  DecisionRecord record;
  record.request = &request;
  record.response = &response;
  absl::StatusOr<std::string> line = DecisionRecordToJson(record, *mask);
  EXPECT_TRUE(line.ok()) << line.status();
  const json recorded = json::parse(*line);
  if (masked != nullptr) *masked = recorded["masked"].get<std::vector<std::string>>();
  return recorded["input"];
}

TEST(InputMaskTest, AnExactPathMasksThatValueWhateverItsType) {
  std::vector<std::string> masked;
  const json input = Masked({"a.b"}, &masked);
  EXPECT_EQ(input["a"]["b"], "***");
  EXPECT_EQ(input["a"]["email"], "x@y");
  EXPECT_THAT(masked, ElementsAre("a.b"));
}

TEST(InputMaskTest, AMissingPathMasksNothing) {
  std::vector<std::string> masked;
  EXPECT_EQ(Masked({"a.b.zz", "nope", "a.email.deeper"}, &masked), Input());
  EXPECT_THAT(masked, IsEmpty());
}

TEST(InputMaskTest, StarIsExactlyOneLevel) {
  const json input = Masked({"*.email"});
  EXPECT_EQ(input["a"]["email"], "***");
  EXPECT_EQ(input["email"], "top@y");               // zero levels: not matched
  EXPECT_EQ(input["list"][0]["email"], "***");      // arrays are transparent
  EXPECT_EQ(input["list"][1]["inner"]["email"], "r@s");  // two levels: not matched
}

TEST(InputMaskTest, DoubleStarIsAnyDepth) {
  std::vector<std::string> masked;
  const json input = Masked({"**.email"}, &masked);
  EXPECT_EQ(input["email"], "***");
  EXPECT_EQ(input["a"]["email"], "***");
  EXPECT_EQ(input["list"][0]["email"], "***");
  EXPECT_EQ(input["list"][1]["inner"]["email"], "***");
  EXPECT_EQ(input["list"][0]["n"], 1);
  EXPECT_THAT(masked, ElementsAre("a.email", "email", "list[0].email", "list[1].inner.email"));
}

TEST(InputMaskTest, ArraysApplyTheNextSegmentToEveryElement) {
  const json input = Masked({"list.n", "list.inner"});
  EXPECT_EQ(input["list"][0]["n"], "***");
  EXPECT_EQ(input["list"][1]["inner"], "***");
}

TEST(InputMaskTest, EscapesNameDotsAndStarsLiterally) {
  std::vector<std::string> masked;
  const json input = Masked({"dotted\\.key", "\\*"}, &masked);
  EXPECT_EQ(input["dotted.key"], "***");
  EXPECT_EQ(input["*"], "***");
  EXPECT_EQ(input["email"], "top@y");  // `\*` is not a wildcard
  EXPECT_THAT(masked, ElementsAre("\\*", "dotted\\.key"));
}

TEST(InputMaskTest, AMaskedValueHidesWhatOtherPathsWouldMaskInsideIt) {
  for (const std::vector<std::string>& paths :
       {std::vector<std::string>{"a.b.c", "a.b"}, std::vector<std::string>{"a.b", "a.b.c"}}) {
    std::vector<std::string> masked;
    EXPECT_EQ(Masked(paths, &masked)["a"]["b"], "***");
    EXPECT_THAT(masked, ElementsAre("a.b"));
  }
}

TEST(InputMaskTest, ConsecutiveDoubleStarsAndStarsCombine) {
  std::vector<std::string> masked;
  const json input = Masked({"**.**.c", "list.*.email"}, &masked);
  EXPECT_EQ(input["a"]["b"]["c"], "***");
  EXPECT_EQ(input["a"]["b"]["d"], 2);
  EXPECT_EQ(input["list"][1]["inner"]["email"], "***");
  EXPECT_EQ(input["list"][0]["email"], "p@q");  // `*` needs one more level below the element
  EXPECT_THAT(masked, ElementsAre("a.b.c", "list[1].inner.email"));
}

TEST(InputMaskTest, AnEmptyMaskRecordsTheInputUnchanged) {
  std::vector<std::string> masked;
  EXPECT_EQ(Masked({}, &masked), Input());
  EXPECT_THAT(masked, IsEmpty());
}

TEST(InputMaskTest, MalformedPathsAreRefusedNamingThePath) {
  for (const char* bad : {"", "a..b", ".a", "a.", "a.**", "a\\"}) {
    EXPECT_THAT(InputMask::Create({"ok", bad}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string("'") + bad + "'")))
        << bad;
  }
}

}  // namespace
}  // namespace evaluatecode::service::observability
