#include "service/observability/json_writer.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace evaluatecode::service::observability {
namespace {

TEST(JsonWriterTest, PlacesCommasAndColonsThroughNesting) {
  JsonWriter out;
  out.BeginObject();
  out.Key("a");
  out.BeginArray();
  out.Int(1);
  out.BeginObject();
  out.EndObject();
  out.BeginArray();
  out.EndArray();
  out.Null();
  out.EndArray();
  out.Key("b");
  out.Bool(true);
  out.Key("c");
  out.Bool(false);
  out.EndObject();
  EXPECT_EQ(out.Take(), R"({"a":[1,{},[],null],"b":true,"c":false})");
}

TEST(JsonWriterTest, ScalarsAreEncodedByNlohmann) {
  JsonWriter out;
  out.BeginArray();
  out.String("quote \" backslash \\ newline \n tab \t nul " + std::string(1, '\0') + " é");
  out.Double(0.1);
  out.Double(3.0);
  out.Int(std::numeric_limits<int64_t>::min());
  out.Uint(std::numeric_limits<uint64_t>::max());
  out.EndArray();
  const std::string text = out.Take();
  EXPECT_EQ(text,
            "[\"quote \\\" backslash \\\\ newline \\n tab \\t nul \\u0000 é\",0.1,3.0,"
            "-9223372036854775808,18446744073709551615]");
  EXPECT_TRUE(nlohmann::json::accept(text));
}

// Plain ASCII takes a shortcut past nlohmann's encoder: every byte must still come out as
// nlohmann writes it, alone and inside plain text.
TEST(JsonWriterTest, EveryByteIsWrittenAsNlohmannWritesIt) {
  for (int byte = 0; byte < 256; ++byte) {
    for (const std::string& text : {std::string(1, static_cast<char>(byte)),
                                    "plain " + std::string(1, static_cast<char>(byte)) + " text"}) {
      JsonWriter out;
      out.String(text);
      EXPECT_EQ(out.Take(), nlohmann::json(text).dump(-1, ' ', false,
                                                      nlohmann::json::error_handler_t::replace))
          << "byte " << byte;
    }
  }
}

TEST(JsonWriterTest, NonFiniteNumbersAreNullAndInvalidUtf8IsReplaced) {
  JsonWriter out;
  out.BeginObject();
  out.Key("nan");
  out.Double(std::nan(""));
  out.Key("inf");
  out.Double(-std::numeric_limits<double>::infinity());
  out.Key("bad\xff");
  out.String("x\xc3");
  out.EndObject();
  const nlohmann::json parsed = nlohmann::json::parse(out.Take());
  EXPECT_TRUE(parsed["nan"].is_null());
  EXPECT_TRUE(parsed["inf"].is_null());
  EXPECT_EQ(parsed["bad\xef\xbf\xbd"], "x\xef\xbf\xbd");
}

TEST(JsonWriterTest, TakeLeavesTheWriterReadyForTheNextText) {
  JsonWriter out;
  out.BeginArray();
  out.Int(1);
  out.EndArray();
  EXPECT_EQ(out.Take(), "[1]");
  out.BeginArray();
  out.String("two");
  out.EndArray();
  EXPECT_EQ(out.Take(), R"(["two"])");
}

}  // namespace
}  // namespace evaluatecode::service::observability
