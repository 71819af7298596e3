// The metrics: and decision_log: config sections: defaults, every key, and errors naming the key
// and its line.
#include "service/observability/observability_config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "yaml-cpp/yaml.h"

namespace evaluatecode::service::observability {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::StatusIs;

// The section as service/config.cc would pass it: the value of its key in the loaded document.
YAML::Node Section(const std::string& text, const std::string& key) {
  return YAML::Load(text)[key];
}

TEST(ObservabilityConfigTest, AbsentSectionsGiveTheDefaults) {
  ASSERT_OK_AND_ASSIGN(MetricsOptions metrics, ParseMetricsOptions(Section("{}", "metrics")));
  EXPECT_TRUE(metrics.enabled);
  EXPECT_EQ(metrics.listen_address, "127.0.0.1:9464");
  ASSERT_OK_AND_ASSIGN(DecisionLogOptions log,
                       ParseDecisionLogOptions(Section("decision_log:\n", "decision_log")));
  EXPECT_EQ(log.sink, DecisionLogOptions::Sink::kStdout);
  EXPECT_FALSE(log.file.durable);
  EXPECT_TRUE(log.mask.empty());
}

TEST(ObservabilityConfigTest, ReadsEveryKey) {
  const std::string text = R"(
metrics: {enabled: false, listen: "0.0.0.0:9090"}
decision_log:
  sink: file
  path: /var/log/evaluatecode/decisions.jsonl
  durable: true
  fsync_interval_ms: 250
  max_batch: 64
  rotate_bytes: 1048576
  keep_files: 3
  max_pending_bytes: 4096
  mask:
    - trigger.inquiry.attributes.birthdate
    - "**.email-address"
)";
  ASSERT_OK_AND_ASSIGN(MetricsOptions metrics, ParseMetricsOptions(Section(text, "metrics")));
  EXPECT_FALSE(metrics.enabled);
  EXPECT_EQ(metrics.listen_address, "0.0.0.0:9090");
  ASSERT_OK_AND_ASSIGN(DecisionLogOptions log,
                       ParseDecisionLogOptions(Section(text, "decision_log")));
  EXPECT_EQ(log.sink, DecisionLogOptions::Sink::kFile);
  EXPECT_EQ(log.file.path, "/var/log/evaluatecode/decisions.jsonl");
  EXPECT_TRUE(log.file.durable);
  EXPECT_EQ(log.file.fsync_interval, absl::Milliseconds(250));
  EXPECT_EQ(log.batching.max_batch, 64u);
  EXPECT_EQ(log.file.rotate_bytes, 1048576u);
  EXPECT_EQ(log.file.keep_files, 3);
  EXPECT_EQ(log.batching.max_pending_bytes, 4096u);
  EXPECT_THAT(log.mask, ElementsAre("trigger.inquiry.attributes.birthdate", "**.email-address"));
}

TEST(ObservabilityConfigTest, ErrorsNameTheKeyAndItsLine) {
  const struct {
    const char* text;
    const char* key;
    const char* says;
  } cases[] = {
      {"decision_log:\n  sinc: file\n", "decision_log.sinc (line 2)", "unknown key"},
      {"decision_log:\n  sink: kafka\n", "decision_log.sink (line 2)", "\"stdout\" or \"file\""},
      {"decision_log:\n  durable: yes please\n", "decision_log.durable (line 2)", "true or false"},
      {"decision_log:\n  keep_files: -1\n", "decision_log.keep_files (line 2)", "integer"},
      {"decision_log:\n  mask: birthdate\n", "decision_log.mask (line 2)", "list"},
      {"decision_log:\n  mask:\n    - ok\n    - a..b\n", "decision_log.mask[1] (line 4)",
       "empty segment"},
      {"decision_log: [1]\n", "decision_log (line 1)", "mapping"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(ParseDecisionLogOptions(Section(c.text, "decision_log")),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(std::string("config: ") + c.key), HasSubstr(c.says))))
        << c.text;
  }
  EXPECT_THAT(ParseMetricsOptions(Section("metrics:\n  enabled: 1\n", "metrics")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("config: metrics.enabled (line 2)")));
  EXPECT_THAT(ParseMetricsOptions(Section("metrics:\n  port: 9464\n", "metrics")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("metrics.port (line 2)"), HasSubstr("enabled, listen"))));
}

TEST(ObservabilityConfigTest, InconsistentSettingsAreRefused) {
  EXPECT_THAT(ParseDecisionLogOptions(Section("decision_log: {sink: file}", "decision_log")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("decision_log.path: required with sink: file")));
  EXPECT_THAT(ParseDecisionLogOptions(Section("decision_log: {durable: true}", "decision_log")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("decision_log.durable: needs sink: file")));
  EXPECT_THAT(ParseDecisionLogOptions(
                  Section("decision_log: {sink: file, path: x, max_batch: 0}", "decision_log")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("decision_log.max_batch")));
  EXPECT_THAT(ParseDecisionLogOptions(Section(
                  "decision_log: {sink: file, path: x, keep_files: 0}", "decision_log")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("decision_log.keep_files")));
  EXPECT_THAT(ParseMetricsOptions(Section("metrics: {listen: ''}", "metrics")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metrics.listen")));
}

}  // namespace
}  // namespace evaluatecode::service::observability
