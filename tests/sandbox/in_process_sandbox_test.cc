// The in-process sandbox (development isolation) takes its input parsed or as bytes only: the
// service leaves a plain input unparsed (common/wire_struct.h), and the script must see it anyway.
#include "sandbox/in_process_sandbox.h"

#include <memory>
#include <string>

#include "common/time_source.h"
#include "gmock/gmock.h"
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
