// The YAML config: defaults, the example file, and errors that name the key.
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/config.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::service {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::StatusIs;

TEST(ConfigTest, EmptyTextGivesTheDefaults) {
  ASSERT_OK_AND_ASSIGN(ServerConfig config, ParseConfig(""));
  EXPECT_EQ(config.listen_address, "127.0.0.1:50051");
  EXPECT_EQ(config.default_limits.timeout, absl::Seconds(1));
}

TEST(ConfigTest, TheExampleConfigLoadsAndMatchesTheDefaults) {
  ASSERT_OK_AND_ASSIGN(ServerConfig config,
                       LoadConfigFile(std::string(getenv("TEST_SRCDIR")) +
                                      "/evaluatecode/deploy/config.example.yaml"));
  const ServerConfig defaults;
  EXPECT_EQ(config.listen_address, defaults.listen_address);
  EXPECT_EQ(config.max_connection_age, defaults.max_connection_age);
  EXPECT_EQ(config.evaluator_threads, defaults.evaluator_threads);
  EXPECT_EQ(config.max_limits.memory_bytes, defaults.max_limits.memory_bytes);
  EXPECT_EQ(config.log_level, defaults.log_level);
}

TEST(ConfigTest, ReadsEverySection) {
  ASSERT_OK_AND_ASSIGN(ServerConfig config, ParseConfig(R"(
server: {listen: "0.0.0.0:6000", drain_grace_ms: 2500}
evaluator: {threads: 8, queue_capacity: 10}
limits:
  default: {timeout_ms: 500, max_output_bytes: 1024}
  max: {timeout_ms: 1000, max_output_bytes: 2048}
logging: {level: debug}
)"));
  EXPECT_EQ(config.listen_address, "0.0.0.0:6000");
  EXPECT_EQ(config.drain_grace, absl::Milliseconds(2500));
  EXPECT_EQ(config.evaluator_threads, 8);
  EXPECT_EQ(config.queue_capacity, 10);
  EXPECT_EQ(config.default_limits.timeout, absl::Milliseconds(500));
  EXPECT_EQ(config.max_limits.max_output_bytes, 2048u);
  EXPECT_EQ(config.log_level, "debug");
}

TEST(ConfigTest, UnknownKeysAreNamed) {
  EXPECT_THAT(ParseConfig("server:\n  lisen: x\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("server.lisen"), HasSubstr("line 2"),
                             HasSubstr("unknown key"), HasSubstr("listen"))));
  EXPECT_THAT(ParseConfig("limits:\n  defaults: {}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limits.defaults")));
}

TEST(ConfigTest, ValuesOfTheWrongTypeAreNamed) {
  EXPECT_THAT(ParseConfig("evaluator:\n  threads: many\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("evaluator.threads"), HasSubstr("'many'"))));
  EXPECT_THAT(ParseConfig("limits:\n  max:\n    memory_bytes: -1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limits.max.memory_bytes")));
  EXPECT_THAT(ParseConfig("server: [1, 2]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected a mapping")));
}

TEST(ConfigTest, InconsistentSettingsAreNamed) {
  EXPECT_THAT(ParseConfig("limits:\n  default: {timeout_ms: 5000}\n  max: {timeout_ms: 1000}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("limits.default.timeout_ms: is above limits.max.timeout_ms")));
  EXPECT_THAT(ParseConfig("evaluator: {thread_stack_bytes: 65536}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("evaluator.thread_stack_bytes")));
  EXPECT_THAT(ParseConfig("evaluator: {threads: 0}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("evaluator.threads")));
}

TEST(ConfigTest, YamlSyntaxErrorsGiveTheirPosition) {
  EXPECT_THAT(ParseConfig("server: {listen: \"unterminated\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line ")));
}

TEST(ConfigTest, AMissingFileIsNotFound) {
  EXPECT_THAT(LoadConfigFile("/nonexistent.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent.yaml")));
}

}  // namespace
}  // namespace evaluatecode::service
