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
using ::testing::ElementsAre;
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
  EXPECT_EQ(config.pin_workers, defaults.pin_workers);
  EXPECT_EQ(config.write_ahead_patience, defaults.write_ahead_patience);
  EXPECT_EQ(config.max_limits.memory_bytes, defaults.max_limits.memory_bytes);
  EXPECT_EQ(config.log_level, defaults.log_level);
}

TEST(ConfigTest, ReadsEverySection) {
  ASSERT_OK_AND_ASSIGN(ServerConfig config, ParseConfig(R"(
server: {listen: "0.0.0.0:6000", drain_grace_ms: 2500}
evaluator: {threads: 8, queue_capacity: 10, pin_workers: true, write_ahead_patience_ms: 0}
limits:
  default: {timeout_ms: 500, max_output_bytes: 1024}
  max: {timeout_ms: 1000, max_output_bytes: 2048}
logging: {level: debug}
)"));
  EXPECT_EQ(config.listen_address, "0.0.0.0:6000");
  EXPECT_EQ(config.drain_grace, absl::Milliseconds(2500));
  EXPECT_EQ(config.evaluator_threads, 8);
  EXPECT_EQ(config.queue_capacity, 10);
  EXPECT_TRUE(config.pin_workers);
  EXPECT_EQ(config.write_ahead_patience, absl::ZeroDuration());
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
  EXPECT_THAT(ParseConfig("evaluator:\n  pin_workers: yes\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("evaluator.pin_workers (line 2)"),
                             HasSubstr("expected true or false, got 'yes'"))));
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
  EXPECT_THAT(ParseConfig("evaluator: {threads: 2, workers: 3}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("evaluator.workers: must be from 0 (automatic) to "
                                 "evaluator.threads")));
  EXPECT_THAT(ParseConfig("evaluator: {isolation: in_process, pin_workers: true}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("evaluator.pin_workers: needs isolation: workers")));
  EXPECT_THAT(ParseConfig("server: {max_message_bytes: 100000000}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("server.max_message_bytes: must be from 1024 to 33554432")));
}

TEST(ConfigTest, ReadsTlsAndTheAuthorizationTable) {
  absl::StatusOr<ServerConfig> config = ParseConfig(R"(
server:
  health_listen: 0.0.0.0:8081
  tls: {cert_file: /tls/tls.crt, key_file: /tls/tls.key, client_ca_file: /tls/ca.crt}
auth:
  identity: client_certificate
  callers:
    spiffe://cluster.local/ns/workflows/sa/engine:
      connectors: [sift, "*"]
      quota: {max_concurrent: 64, requests_per_second: 500, burst: 100}
    spiffe://cluster.local/ns/backoffice/sa/replay: {}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->health_listen_address, "0.0.0.0:8081");
  EXPECT_EQ(config->tls.client_ca_file, "/tls/ca.crt");
  EXPECT_EQ(config->auth.identity, IdentitySource::kClientCertificate);
  ASSERT_EQ(config->auth.callers.size(), 2u);
  const CallerPolicy& engine = config->auth.callers.at("spiffe://cluster.local/ns/workflows/sa/engine");
  EXPECT_THAT(engine.connectors, ElementsAre("sift", "*"));
  EXPECT_EQ(engine.quota.max_concurrent, 64);
  EXPECT_TRUE(config->auth.callers.at("spiffe://cluster.local/ns/backoffice/sa/replay")
                  .connectors.empty());
}

TEST(ConfigTest, InconsistentAuthSettingsAreNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {"server: {tls: {cert_file: /a.crt}}\n", "cert_file and key_file go together"},
      {"server: {tls: {client_ca_file: /ca.crt}}\n", "server.tls.client_ca_file"},
      {"auth: {identity: client_certificate, callers: {a: {}}}\n",
       "client_certificate needs server.tls.client_ca_file"},
      {"auth: {identity: header}\n", "auth.callers: must list the callers"},
      {"auth: {callers: {a: {}}}\n", "auth.callers: must list the callers"},
      {"auth: {identity: header, header: X-Caller, callers: {a: {}}}\n", "auth.header"},
      {"auth: {identity: password}\n", "expected none, client_certificate or header"},
      {"auth: {identity: header, callers: {a: {connectors: sift}}}\n",
       "auth.callers.a.connectors (line 1): expected a list of strings"},
      {"auth: {identity: header, callers: {a: {connectors: [[x]]}}}\n",
       "auth.callers.a.connectors[0]"},
  };
  for (const auto& [yaml, message] : cases) {
    EXPECT_THAT(ParseConfig(yaml), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
        << yaml;
  }
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
