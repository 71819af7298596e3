// Replay: recorded evaluations (with their connector calls) re-run byte-identically, without the
// network; a changed rule flips exactly the expected decisions; a missing recording fails precisely.
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "tests/testing/connectors/fake_vendor.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::evaluate::v1::Decision;
using ::evaluate::v1::EvaluateCodeRequest;
using ::evaluate::v1::EvaluateCodeResponse;

constexpr int kRecords = 1000;

// Uses everything a script can observe: a vendor score, the clock, randomness, the console.
std::string Rule(double threshold) {
  return absl::StrCat(R"js(
const { body } = connectors.sift.score({ user_id: input.user });
const score = body.scores.payment_abuse.score;
const ticket = Math.floor(Math.random() * 1e6);
console.log(`user ${input.user} score ${score} at ${new Date().toISOString()} ticket ${ticket}`);
return { decision: score >= )js", threshold, R"js( ? 'decline' : 'approve',
         reasons: [`score ${score}`], checked_at: Date.now(), ticket };
)js");
}

// The score the fake vendor gives user "u<i>": spread over [0, 1).
double ScoreOf(int i) { return (i * 37 % 100) / 100.0; }

std::string Bytes(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  return bytes;
}

std::string Logs(const EvaluateCodeResponse& response) {
  std::string bytes;
  for (const evaluate::v1::LogEntry& entry : response.logs()) bytes += Bytes(entry);
  return bytes;
}

class ReplayTest : public ::testing::Test {
 protected:
  ReplayTest()
      : vendor_([](const testing::VendorRequest& request) {
          int i = 0;
          absl::SimpleAtoi(request.path.substr(request.path.rfind("/u") + 2), &i);
          testing::VendorResponse response;
          response.headers.push_back({"Content-Type", "application/json"});
          response.body = testing::SiftScoreBody(absl::StrCat("u", i), ScoreOf(i));
          return response;
        }),
        server_(Config()) {}

  service::ServerConfig Config() {
    const std::string key = absl::StrCat(std::getenv("TEST_TMPDIR"), "/sift_key");
    FILE* file = std::fopen(key.c_str(), "w");
    std::fputs("replay-test-key", file);
    std::fclose(file);
    absl::StatusOr<service::ServerConfig> parsed = service::ParseConfig(absl::StrCat(
        "connectors:\n  sift:\n    type: sift\n    base_url: ", vendor_.base_url(),
        "\n    allow_insecure_loopback: true\n    auth: {secret_file: ", key, "}\n"));
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    service::ServerConfig config = testing::TestConfig();
    config.evaluator_threads = 2;
    config.connectors = parsed->connectors;
    return config;
  }

  static EvaluateCodeRequest Live(int i, const std::string& code) {
    EvaluateCodeRequest request =
        testing::MakeRequest(code, absl::StrCat(R"({"user": "u)", i, R"("})"), 5000);
    request.add_connectors("sift");
    (*request.mutable_labels())["tenant"] = "acme";
    return request;
  }

  // The replay request for a recorded evaluation, running `code`.
  static EvaluateCodeRequest Replay(const EvaluateCodeRequest& live,
                                    const EvaluateCodeResponse& recorded, const std::string& code) {
    EvaluateCodeRequest replay = live;
    replay.set_code(code);
    *replay.mutable_now() = recorded.evaluation_time();
    replay.set_random_seed(recorded.random_seed());
    *replay.mutable_replay()->mutable_connector_calls() = recorded.connector_calls();
    return replay;
  }

  testing::FakeVendor vendor_;
  testing::TestServer server_;
};

TEST_F(ReplayTest, RecordedEvaluationsReplayByteIdenticallyWithoutTheNetwork) {
  const std::string rule = Rule(0.8);
  std::vector<EvaluateCodeRequest> live(kRecords);
  std::vector<EvaluateCodeResponse> recorded(kRecords);
  for (int i = 0; i < kRecords; ++i) {
    live[i] = Live(i, rule);
    grpc::Status status = testing::Evaluate(server_.stub(), live[i], &recorded[i]);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(recorded[i].connector_calls_size(), 1);
  }
  const int connections = vendor_.connection_count();
  const int requests = vendor_.request_count();
  EXPECT_EQ(requests, kRecords);

  int identical = 0;
  for (int i = 0; i < kRecords; ++i) {
    EvaluateCodeResponse replayed;
    grpc::Status status =
        testing::Evaluate(server_.stub(), Replay(live[i], recorded[i], rule), &replayed);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (Bytes(replayed.result()) == Bytes(recorded[i].result()) &&
        Bytes(replayed.decision()) == Bytes(recorded[i].decision()) &&
        Logs(replayed) == Logs(recorded[i])) {
      ++identical;
    }
  }
  EXPECT_EQ(identical, kRecords);
  EXPECT_EQ(vendor_.connection_count(), connections);  // replays opened no connection
  EXPECT_EQ(vendor_.request_count(), requests);
}

TEST_F(ReplayTest, AChangedThresholdFlipsExactlyTheExpectedDecisions) {
  const int kSample = 200;
  std::vector<int> expected_flips, flips;
  for (int i = 0; i < kSample; ++i) {
    EvaluateCodeRequest live = Live(i, Rule(0.8));
    EvaluateCodeResponse recorded, candidate;
    ASSERT_TRUE(testing::Evaluate(server_.stub(), live, &recorded).ok());
    ASSERT_TRUE(
        testing::Evaluate(server_.stub(), Replay(live, recorded, Rule(0.5)), &candidate).ok());
    if (ScoreOf(i) >= 0.5 && ScoreOf(i) < 0.8) expected_flips.push_back(i);
    if (candidate.decision().outcome() != recorded.decision().outcome()) {
      EXPECT_EQ(recorded.decision().outcome(), Decision::APPROVE);
      EXPECT_EQ(candidate.decision().outcome(), Decision::DECLINE);
      flips.push_back(i);
    }
  }
  EXPECT_FALSE(expected_flips.empty());
  EXPECT_EQ(flips, expected_flips);
}

TEST_F(ReplayTest, ACallWithoutARecordingFailsPrecisely) {
  EvaluateCodeRequest live = Live(7, Rule(0.8));
  EvaluateCodeResponse recorded;
  ASSERT_TRUE(testing::Evaluate(server_.stub(), live, &recorded).ok());
  EvaluateCodeRequest replay = Replay(live, recorded, Rule(0.8));
  replay.mutable_input()->mutable_fields()->at("user").set_string_value("u8");  // not recorded
  const int requests = vendor_.request_count();
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(server_.stub(), replay, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  testing::ErrorDetails details = testing::DetailsOf(status);
  EXPECT_EQ(details.info.reason(), "REPLAY_MISSING_RECORDING");
  EXPECT_THAT(details.evaluation_error.message(), ::testing::HasSubstr("u8"));
  EXPECT_EQ(vendor_.request_count(), requests);
}

TEST_F(ReplayTest, TheClockAndRandomnessAreTheRequests) {
  EvaluateCodeRequest request = testing::MakeRequest(
      "return [Date.now(), new Date().getTimezoneOffset(), Math.random(), Math.random()];");
  request.mutable_now()->set_seconds(1'700'000'000);
  request.set_random_seed(42);
  EvaluateCodeResponse first, second;
  ASSERT_TRUE(testing::Evaluate(server_.stub(), request, &first).ok());
  ASSERT_TRUE(testing::Evaluate(server_.stub(), request, &second).ok());
  EXPECT_EQ(first.result().list_value().values(0).number_value(), 1'700'000'000'000.0);
  EXPECT_EQ(first.result().list_value().values(1).number_value(), 0);
  EXPECT_EQ(Bytes(first.result()), Bytes(second.result()));
  EXPECT_NE(first.result().list_value().values(2).number_value(),
            first.result().list_value().values(3).number_value());
  EXPECT_EQ(first.random_seed(), 42u);
  EXPECT_EQ(first.evaluation_time().seconds(), 1'700'000'000);
}

TEST_F(ReplayTest, ABacktestStreamsEveryResultAndASummaryOfTheFlips) {
  const int kSample = 150;
  std::vector<evaluate::v1::RecordedEvaluation> records;
  std::vector<std::string> expected_flips;
  for (int i = 0; i < kSample; ++i) {
    evaluate::v1::RecordedEvaluation& record = records.emplace_back();
    record.set_record_id(absl::StrCat("r", i));
    *record.mutable_request() = Live(i, Rule(0.8));
    ASSERT_TRUE(testing::Evaluate(server_.stub(), record.request(), record.mutable_response()).ok());
    if (ScoreOf(i) >= 0.5 && ScoreOf(i) < 0.8) expected_flips.push_back(record.record_id());
  }
  const int requests = vendor_.request_count();

  grpc::ClientContext context;
  auto stream = server_.stub().Backtest(&context);
  evaluate::v1::BacktestRequest start;
  start.mutable_start()->set_code(Rule(0.5));
  ASSERT_TRUE(stream->Write(start));
  std::thread writer([&] {
    for (const evaluate::v1::RecordedEvaluation& record : records) {
      evaluate::v1::BacktestRequest message;
      *message.mutable_record() = record;
      if (!stream->Write(message)) break;
    }
    stream->WritesDone();
  });
  int results = 0;
  std::vector<std::string> flipped;
  evaluate::v1::BacktestResponse response;
  evaluate::v1::BacktestSummary summary;
  while (stream->Read(&response)) {
    if (response.has_summary()) {
      summary = response.summary();
      continue;
    }
    ++results;
    if (response.result().old_outcome() != response.result().new_outcome()) {
      flipped.push_back(response.result().record_id());
    }
  }
  writer.join();
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(results, kSample);
  std::sort(flipped.begin(), flipped.end());
  std::sort(expected_flips.begin(), expected_flips.end());
  EXPECT_EQ(flipped, expected_flips);
  EXPECT_EQ(summary.records(), static_cast<uint32_t>(kSample));
  uint32_t approve_to_decline = 0;
  for (const auto& transition : summary.transitions()) {
    if (transition.old_outcome() == Decision::APPROVE &&
        transition.new_outcome() == Decision::DECLINE) {
      approve_to_decline = transition.count();
    }
  }
  EXPECT_EQ(approve_to_decline, expected_flips.size());
  EXPECT_EQ(summary.changed_record_ids_size(), static_cast<int>(expected_flips.size()));
  EXPECT_TRUE(summary.errors_by_reason().empty());
  EXPECT_EQ(vendor_.request_count(), requests);  // replays only
}

TEST_F(ReplayTest, CancellingABacktestStopsAllItsWorkAtOnce) {
  evaluate::v1::RecordedEvaluation record;
  *record.mutable_request() = Live(1, Rule(0.8));
  record.mutable_request()->mutable_limits()->set_timeout_ms(20000);
  ASSERT_TRUE(testing::Evaluate(server_.stub(), record.request(), record.mutable_response()).ok());

  grpc::ClientContext context;
  auto stream = server_.stub().Backtest(&context);
  evaluate::v1::BacktestRequest start;
  start.mutable_start()->set_code("for (;;) {}");  // every replay runs until stopped
  ASSERT_TRUE(stream->Write(start));
  for (int i = 0; i < 20; ++i) {
    evaluate::v1::BacktestRequest message;
    *message.mutable_record() = record;
    message.mutable_record()->set_record_id(absl::StrCat("r", i));
    if (!stream->Write(message)) break;
  }
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time cancelled = absl::Now();
  context.TryCancel();
  evaluate::v1::BacktestResponse response;
  while (stream->Read(&response)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // The evaluators are free again at once: a new evaluation answers promptly.
  EvaluateCodeResponse after;
  ASSERT_TRUE(testing::Evaluate(server_.stub(), testing::MakeRequest("return 1;"), &after).ok());
  EXPECT_LT(absl::Now() - cancelled, absl::Seconds(1));
}

}  // namespace
}  // namespace evaluatecode
