// The in-process sandbox (development isolation, and what runs inside each worker) takes its input
// parsed or as bytes only: the service and the worker leave a plain input unparsed
// (common/wire_struct.h), and the script must see it all the same.
#include "sandbox/in_process_sandbox.h"

#include <memory>
#include <string>

#include "common/cancellation.h"
#include "common/time_source.h"
#include "common/wire_struct.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::sandbox {
namespace {

class InProcessSandboxTest : public ::testing::Test {
 protected:
  // Plain ES5 heaps (no runtime): enough to see what `input` is.
  void SetUp() override {
    InProcessSandboxOptions options;
    options.engine.time_source = &time_;
    ASSERT_OK_AND_ASSIGN(sandbox_, NewInProcessSandbox(options));
  }

  SandboxRequest Request(const std::string& source) {
    SandboxRequest request;
    request.source = source;
    request.deadline = time_.Now() + absl::Seconds(10);
    return request;
  }

  RealTimeSource time_;
  std::unique_ptr<Sandbox> sandbox_;
};

// A run whose Cancellation was raised before it started (a Cancel that overtook its request to a
// worker, a job taken back from a busy one) is answered cancelled without compiling its code (a
// syntax error would show) and without a heap: the warm heap stays for the next run.
TEST_F(InProcessSandboxTest, ARunCancelledBeforeItStartsCompilesNothingAndKeepsTheWarmHeap) {
  ASSERT_OK_AND_ASSIGN(SandboxResult warm, sandbox_->Evaluate(Request("return 1;")));
  ASSERT_FALSE(warm.evaluation.error.has_value()) << warm.evaluation.error->message;
  Cancellation cancellation;
  cancellation.Cancel(CancellationCause::kCallerCancelled);
  for (const char* source : {"return 1;", "return ("}) {
    SandboxRequest cancelled = Request(source);
    cancelled.cancellation = &cancellation;
    ASSERT_OK_AND_ASSIGN(SandboxResult result, sandbox_->Evaluate(cancelled));
    EXPECT_TRUE(result.compile.diagnostics.empty());
    ASSERT_TRUE(result.evaluation.error.has_value()) << source;
    EXPECT_EQ(result.evaluation.error->kind, ScriptError::Kind::kCancelled);
    EXPECT_EQ(result.evaluation.error->message, "the evaluation was cancelled");
  }
  ASSERT_OK_AND_ASSIGN(SandboxResult after, sandbox_->Evaluate(Request("return 1;")));
  EXPECT_TRUE(after.evaluation.reused_heap);
}

TEST_F(InProcessSandboxTest, AnInputGivenOnlyAsBytesIsTheInput) {
  google::protobuf::Struct input;
  (*input.mutable_fields())["a"].set_number_value(41);
  const std::string bytes = input.SerializeAsString();
  SandboxRequest request = Request("return input.a + 1;");
  request.serialized_input = &bytes;
  ASSERT_OK_AND_ASSIGN(SandboxResult result, sandbox_->Evaluate(request));
  ASSERT_FALSE(result.evaluation.error.has_value()) << result.evaluation.error->message;
  EXPECT_EQ(result.evaluation.result.number_value(), 42);

  // Parsed and serialized both: the parsed one is the input.
  google::protobuf::Struct parsed;
  (*parsed.mutable_fields())["a"].set_number_value(1);
  request.input = &parsed;
  ASSERT_OK_AND_ASSIGN(result, sandbox_->Evaluate(request));
  EXPECT_EQ(result.evaluation.result.number_value(), 2);

  // Neither: an empty object.
  SandboxRequest empty = Request("return Object.keys(input).length;");
  ASSERT_OK_AND_ASSIGN(result, sandbox_->Evaluate(empty));
  EXPECT_EQ(result.evaluation.result.number_value(), 0);
}

// Bytes that read plainly become the input through a WireStruct, others through protobuf's parse:
// the script sees the same object either way, keys in the same order.
TEST_F(InProcessSandboxTest, AnInputReadFromItsBytesIsTheObjectItsStructWouldBe) {
  google::protobuf::Struct input;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"b": [1, "two", true, null, {"z": 1, "a": [[]]}], "a": {"": -0.5},
                      "__proto__": {"polluted": true}, "ü": "é"})",
                  &input)
                  .ok());
  (*input.mutable_fields())["unset"];
  const std::string script =
      "var keys = []; for (var k in input) keys.push(k);"
      "return JSON.stringify([keys, input, Object.keys(input.b[4]), ({}).polluted === undefined]);";
  SandboxRequest parsed = Request(script);
  parsed.input = &input;
  ASSERT_OK_AND_ASSIGN(SandboxResult expected, sandbox_->Evaluate(parsed));
  ASSERT_FALSE(expected.evaluation.error.has_value()) << expected.evaluation.error->message;

  const std::string bytes = input.SerializeAsString();
  ASSERT_TRUE(WireStruct::Read(bytes).has_value());
  SandboxRequest read = Request(script);
  read.serialized_input = &bytes;
  ASSERT_OK_AND_ASSIGN(SandboxResult result, sandbox_->Evaluate(read));
  EXPECT_EQ(result.evaluation.result.string_value(), expected.evaluation.result.string_value());
  EXPECT_THAT(result.evaluation.result.string_value(),
              ::testing::StartsWith(R"([["__proto__","a","b","unset","ü"],)"));

  // A key twice is protobuf's to settle (the last wins): these bytes take the parse.
  google::protobuf::Struct again;
  (*again.mutable_fields())["a"].set_number_value(7);
  const std::string twice = bytes + again.SerializeAsString();
  ASSERT_FALSE(WireStruct::Read(twice).has_value());
  SandboxRequest merged = Request("return input.a + input['ü'];");
  merged.serialized_input = &twice;
  ASSERT_OK_AND_ASSIGN(result, sandbox_->Evaluate(merged));
  EXPECT_EQ(result.evaluation.result.string_value(), "7é");
}

TEST_F(InProcessSandboxTest, InputBytesThatDoNotParseAreAnInvalidArgument) {
  const std::string bytes("\x0a\x05\x0a", 3);
  SandboxRequest request = Request("return 1;");
  request.serialized_input = &bytes;
  EXPECT_THAT(sandbox_->Evaluate(request).status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                ::testing::HasSubstr("does not parse as a Struct")));
}

}  // namespace
}  // namespace evaluatecode::sandbox
