// The mask path syntax: exact keys, `*`, `**`, arrays, escapes, and the paths refused.
#include "service/observability/input_mask.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
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

json Masked(const std::vector<std::string>& paths, std::vector<std::string>* masked = nullptr) {
  absl::StatusOr<InputMask> mask = InputMask::Create(paths);
  EXPECT_TRUE(mask.ok()) << mask.status();
  json input = Input();
  std::vector<std::string> applied = mask->Apply(input);
  if (masked != nullptr) *masked = applied;
  return input;
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

TEST(InputMaskTest, MalformedPathsAreRefusedNamingThePath) {
  for (const char* bad : {"", "a..b", ".a", "a.", "a.**", "a\\"}) {
    EXPECT_THAT(InputMask::Create({"ok", bad}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string("'") + bad + "'")))
        << bad;
  }
}

}  // namespace
}  // namespace evaluatecode::service::observability
