// ValuesEqual / StructsEqual against the answer MessageDifferencer::Equals gives, for every pair
// of a set of values chosen to differ in one way each.
#include "common/value_equality.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace evaluatecode {
namespace {

using google::protobuf::Value;
using google::protobuf::util::MessageDifferencer;

Value FromJson(const std::string& json) {
  Value value;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &value).ok()) << json;
  return value;
}

std::vector<Value> Samples() {
  std::vector<Value> samples;
  for (const char* json :
       {"null", "0", "1", "1.5", "\"\"", "\"a\"", "\"A\"", "true", "false", "[]", "[1]", "[1,2]",
        "[2,1]", "[[1]]", "[\"1\"]", "{}", R"({"a":1})", R"({"a":2})", R"({"b":1})",
        R"({"a":1,"b":1})", R"({"b":1,"a":1})", R"({"a":{"b":[1,{"c":null}]}})",
        R"({"a":{"b":[1,{"c":false}]}})", R"({"user_id":"u1","abuse_types":["payment_abuse"]})",
        R"({"user_id":"u1","abuse_types":["account_abuse"]})"}) {
    samples.push_back(FromJson(json));
  }
  samples.emplace_back();  // no kind set
  Value minus_zero;
  minus_zero.set_number_value(-0.0);
  samples.push_back(minus_zero);
  Value nan;
  nan.set_number_value(std::numeric_limits<double>::quiet_NaN());
  samples.push_back(nan);
  return samples;
}

TEST(ValueEqualityTest, AgreesWithMessageDifferencerOnEveryPair) {
  const std::vector<Value> samples = Samples();
  int equal_pairs = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    for (size_t j = 0; j < samples.size(); ++j) {
      const bool expected = MessageDifferencer::Equals(samples[i], samples[j]);
      EXPECT_EQ(ValuesEqual(samples[i], samples[j]), expected)
          << samples[i].ShortDebugString() << " vs " << samples[j].ShortDebugString();
      if (expected && i != j) ++equal_pairs;
    }
  }
  // Key order does not matter ({"a":1,"b":1} and {"b":1,"a":1}); 0 and -0 are equal.
  EXPECT_EQ(equal_pairs, 4);
}

TEST(ValueEqualityTest, StructsCompareByKey) {
  const Value left = FromJson(R"({"a":1,"b":[true]})");
  const Value right = FromJson(R"({"b":[true],"a":1})");
  EXPECT_TRUE(StructsEqual(left.struct_value(), right.struct_value()));
  EXPECT_FALSE(StructsEqual(left.struct_value(), FromJson(R"({"a":1})").struct_value()));
}

}  // namespace
}  // namespace evaluatecode
