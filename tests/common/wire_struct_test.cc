// WireStruct::Read against protobuf's own parse (tests/testing/wire_struct_reference.h): what it
// accepts must mean what protobuf makes of it, and what needs protobuf's merge rules or fails
// protobuf's checks it declines.
#include "common/wire_struct.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/wire_struct_reference.h"

namespace evaluatecode {
namespace {

using google::protobuf::Struct;

// Whether Read accepts `bytes`; if it does, that protobuf parses them to the same Struct.
bool ReadsAsProtobufDoes(const std::string& bytes) {
  const testing::WireStructVerdict verdict = testing::JudgeWireStructRead(bytes);
  EXPECT_NE(verdict, testing::WireStructVerdict::kProtobufRefuses);
  EXPECT_NE(verdict, testing::WireStructVerdict::kDiffers);
  return verdict == testing::WireStructVerdict::kAsProtobuf;
}

Struct FromJson(const std::string& json) {
  Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &object).ok()) << json;
  return object;
}

std::string ExampleInput(const std::string& name) {
  std::ifstream file(std::string(getenv("TEST_SRCDIR")) + "/evaluatecode/examples/inputs/" + name);
  std::stringstream text;
  text << file.rdbuf();
  return FromJson(text.str()).SerializeAsString();
}

// Wire-format pieces for messages protobuf's API would not write.
std::string Varint(uint64_t value) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  {
    google::protobuf::io::CodedOutputStream out(&stream);
    out.WriteVarint64(value);
  }
  bytes.resize(stream.ByteCount());
  return bytes;
}
std::string Field(int number, const std::string& payload) {
  return Varint(static_cast<uint64_t>(number) << 3 | 2) + Varint(payload.size()) + payload;
}
std::string Entry(const std::string& key, const std::string& value_bytes) {
  return Field(1, Field(1, key) + Field(2, value_bytes));
}
std::string StringValue(const std::string& text) { return Field(3, text); }

TEST(WireStructTest, TheExampleInputsReadAsProtobufParsesThem) {
  for (const char* name : {"clean-approve.json", "selfie-mismatch.json", "watchlist-hit.json"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(ReadsAsProtobufDoes(ExampleInput(name)));
  }
}

TEST(WireStructTest, EveryKindReads) {
  Struct object = FromJson(R"({"s": "text", "u": "ünï😀", "n": 1.5, "t": true, "f": false,
      "z": null, "o": {}, "l": [], "nested": [[1, [2]], {"a": {"b": [null, "x"]}}], "": ""})");
  (*object.mutable_fields())["unset"];  // a Value without a field
  (*object.mutable_fields())["minus_zero"].set_number_value(-0.0);
  (*object.mutable_fields())["inf"].set_number_value(std::numeric_limits<double>::infinity());
  (*object.mutable_fields())["nan"].set_number_value(std::nan(""));
  EXPECT_TRUE(ReadsAsProtobufDoes(object.SerializeAsString()));
  EXPECT_TRUE(ReadsAsProtobufDoes(""));  // the empty object

  const std::string bytes = object.SerializeAsString();  // the tree's views point into it
  const std::optional<WireStruct> tree = WireStruct::Read(bytes);
  ASSERT_TRUE(tree.has_value());
  std::string keys;
  for (const WireStruct::Member& member : tree->members(tree->root())) {
    keys += std::string(member.key) + ",";
  }
  EXPECT_EQ(keys, ",f,inf,l,minus_zero,n,nan,nested,o,s,t,u,unset,z,");
  EXPECT_EQ(tree->node(tree->members(tree->root())[12].value).kind, WireStruct::Kind::kNull);
}

TEST(WireStructTest, NestingWellWithinProtobufsLimitReads) {
  std::string json = "1";
  for (int level = 0; level < 20; ++level) json = "{\"a\":" + json + "}";
  EXPECT_TRUE(ReadsAsProtobufDoes(FromJson(json).SerializeAsString()));
  // Deeper is protobuf's to judge (it parses this; it refuses 34 levels).
  for (int level = 20; level < 25; ++level) json = "{\"a\":" + json + "}";
  const std::string deep = FromJson(json).SerializeAsString();
  EXPECT_FALSE(WireStruct::Read(deep).has_value());
  EXPECT_TRUE(Struct().ParseFromString(deep));
}

TEST(WireStructTest, WhatNeedsProtobufsMergeRulesIsDeclined) {
  const std::string a1 = Entry("a", Field(3, "1"));
  ASSERT_TRUE(ReadsAsProtobufDoes(a1 + Entry("b", StringValue("2"))));
  // The same key twice (protobuf keeps the last), in one message or in two concatenated.
  EXPECT_FALSE(WireStruct::Read(a1 + Entry("a", StringValue("2"))).has_value());
  // A Value with two fields (the last wins), or a message field twice (they merge).
  EXPECT_FALSE(WireStruct::Read(Entry("a", StringValue("x") + Varint(4 << 3) + Varint(1)))
                   .has_value());
  EXPECT_FALSE(WireStruct::Read(Entry("a", Field(5, "") + Field(5, ""))).has_value());
  // An entry's key or value twice.
  EXPECT_FALSE(
      WireStruct::Read(Field(1, Field(1, "a") + Field(1, "b") + Field(2, ""))).has_value());
  EXPECT_FALSE(WireStruct::Read(Field(1, Field(1, "a") + Field(2, "") + Field(2, "")))
                   .has_value());
  // An unknown field, and a known one with another wire type (protobuf keeps both as unknown).
  EXPECT_FALSE(WireStruct::Read(a1 + Varint(2 << 3) + Varint(7)).has_value());
  EXPECT_FALSE(WireStruct::Read(Entry("a", Varint(2 << 3) + Varint(7))).has_value());
  EXPECT_TRUE(Struct().ParseFromString(Entry("a", Varint(2 << 3) + Varint(7))));
}

TEST(WireStructTest, WhatProtobufRefusesIsDeclined) {
  const std::string good = Entry("key", StringValue("value"));
  ASSERT_TRUE(ReadsAsProtobufDoes(good));
  for (size_t cut = 1; cut < good.size(); ++cut) {
    EXPECT_FALSE(WireStruct::Read(good.substr(0, cut)).has_value()) << cut;
  }
  // Invalid UTF-8 in a value and in a key, short or long (ASCII is checked 8 bytes at a time).
  EXPECT_FALSE(WireStruct::Read(Entry("a", StringValue("\xff"))).has_value());
  EXPECT_FALSE(WireStruct::Read(Entry("\xc3", StringValue("a"))).has_value());
  EXPECT_FALSE(
      WireStruct::Read(Entry("a", StringValue("abcdefgh\xffijklmnopq"))).has_value());
  EXPECT_FALSE(WireStruct::Read(Entry("abcdefghijklmnop\xed\xa0\x80", StringValue("a")))
                   .has_value());  // a surrogate
  EXPECT_TRUE(ReadsAsProtobufDoes(Entry("abcdefghij", StringValue("abcdefgh ünï 😀 ijklmnop"))));
  // A tag 0, and a nested length past its parent's end.
  EXPECT_FALSE(WireStruct::Read(good + std::string(1, '\0')).has_value());
  std::string overrun = good;
  overrun[1] = static_cast<char>(overrun[1] - 1);  // the entry ends inside its Value
  EXPECT_FALSE(WireStruct::Read(overrun).has_value());
  EXPECT_FALSE(Struct().ParseFromString(overrun));
}

// Random damage to a real input: whatever Read still accepts, protobuf reads the same way.
TEST(WireStructTest, DamagedInputsReadAsProtobufDoesOrAreDeclined) {
  const std::string input = ExampleInput("watchlist-hit.json");
  std::mt19937 random(20261128);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = input;
    const int changes = 1 + static_cast<int>(random() % 3);
    for (int change = 0; change < changes; ++change) {
      const size_t at = random() % bytes.size();
      switch (random() % 3) {
        case 0:
          bytes[at] = static_cast<char>(random());
          break;
        case 1:
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << (random() % 8)));
          break;
        default:
          bytes.erase(at, 1 + random() % 4);
          break;
      }
      if (bytes.empty()) break;
    }
    if (ReadsAsProtobufDoes(bytes)) ++accepted;
  }
  // Most damage lands in text or numbers and leaves the structure readable.
  EXPECT_GT(accepted, 1000);
}

}  // namespace
}  // namespace evaluatecode
