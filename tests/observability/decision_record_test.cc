// Decision records: complete (every field the audit trail promises), masked where configured and
// only in the record, and parseable back as one JSON line.
#include "service/observability/decision_record.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/time/time.h"
#include "common/sha256.h"
#include "evaluate/v1/evaluate.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "service/observability/input_mask.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::service::observability {
namespace {

using evaluate::v1::EvaluateCodeRequest;
using evaluate::v1::EvaluateCodeResponse;
using evaluate::v1::EvaluationError;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::StatusIs;

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

template <typename Message>
Message FromText(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

EvaluateCodeRequest Request() {
  EvaluateCodeRequest request;
  request.set_code("return {decision: 'approve', reasons: ['low_score']};");
  const std::string input = R"({
    "trigger": {"inquiry": {"id": "inq_1", "attributes": {"birthdate": "1990-02-03",
                                                          "name-first": "Ada"}}},
    "applicant": {"email-address": "ada@example.com",
                  "emails": [{"address": "a@x.io", "primary": true}, {"address": "b@x.io"}]},
    "score": 0.12
  })";
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(input, request.mutable_input()).ok());
  request.mutable_limits()->set_timeout_ms(500);
  request.add_connectors("sift");
  (*request.mutable_labels())["tenant"] = "acme";
  (*request.mutable_labels())["workflow"] = "wf_9";
  return request;
}

EvaluateCodeResponse Response() {
  return FromText<EvaluateCodeResponse>(R"pb(
    result {
      struct_value {
        fields { key: "decision" value { string_value: "approve" } }
        fields {
          key: "reasons"
          value { list_value { values { string_value: "low_score" } } }
        }
      }
    }
    decision { outcome: APPROVE reasons: "low_score" }
    logs { level: INFO message: "score 0.12" time { seconds: 1790000000 } }
    connector_calls {
      connector: "sift"
      operation: "score"
      http_status: 200
      attempts: 1
      duration { nanos: 120000000 }
      response { struct_value { fields { key: "score" value { number_value: 0.12 } } } }
    }
    usage {
      wall_time { nanos: 3000000 }
      engine_time { nanos: 40000 }
      peak_heap_bytes: 123456
      compile_cache_hit: true
      connector_calls: 1
    }
    decision_id: "d-1"
    code_sha256: "the-evaluators-hash-of-the-code"
  )pb");
}

DecisionRecord Record(const EvaluateCodeRequest& request, const EvaluateCodeResponse* response,
                      const EvaluationError* error) {
  DecisionRecord record;
  record.decision_id = "d-1";
  record.time = absl::FromUnixMicros(1'790'000'000'123'456);
  record.caller = "spiffe://cluster/ns/workflows/sa/engine";
  record.traceparent = kTraceparent;
  record.request = &request;
  record.response = response;
  record.error = error;
  return record;
}

json Parse(const std::string& line) {
  EXPECT_EQ(line.find('\n'), std::string::npos) << "a record is one line";
  json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << line;
  return parsed;
}

TEST(DecisionRecordTest, ASuccessfulEvaluationIsRecordedCompletely) {
  const EvaluateCodeRequest request = Request();
  const EvaluateCodeResponse response = Response();
  ASSERT_OK_AND_ASSIGN(std::string line,
                       DecisionRecordToJson(Record(request, &response, nullptr), InputMask()));
  const json record = Parse(line);

  EXPECT_EQ(record["schema"], "evaluatecode.decision_record.v1");
  EXPECT_EQ(record["decision_id"], "d-1");
  EXPECT_EQ(record["time"], "2026-09-21T14:13:20.123456Z");
  EXPECT_EQ(record["caller"], "spiffe://cluster/ns/workflows/sa/engine");
  EXPECT_EQ(record["labels"], json({{"tenant", "acme"}, {"workflow", "wf_9"}}));
  EXPECT_EQ(record["traceparent"], kTraceparent);
  EXPECT_EQ(record["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(record["span_id"], "00f067aa0ba902b7");
  // The evaluator's hash of the code (the sandbox computes it; a worker's claim is not used).
  EXPECT_EQ(record["code_sha256"], "the-evaluators-hash-of-the-code");
  EXPECT_EQ(record["connectors"], json({"sift"}));
  EXPECT_EQ(record["limits"]["timeout_ms"], 500);
  EXPECT_EQ(record["input"]["trigger"]["inquiry"]["attributes"]["birthdate"], "1990-02-03");
  EXPECT_EQ(record["input"]["score"], 0.12);
  EXPECT_EQ(record["masked"], json::array());
  EXPECT_EQ(record["outcome"], "OK");
  EXPECT_EQ(record["result"], json({{"decision", "approve"}, {"reasons", {"low_score"}}}));
  EXPECT_EQ(record["decision"]["outcome"], "APPROVE");
  EXPECT_EQ(record["decision"]["reasons"], json({"low_score"}));
  EXPECT_FALSE(record.contains("error"));
  ASSERT_EQ(record["logs"].size(), 1u);
  EXPECT_EQ(record["logs"][0]["message"], "score 0.12");
  EXPECT_EQ(record["logs"][0]["level"], "INFO");
  // Connector calls keep the vendor's response, so that the decision can be replayed.
  ASSERT_EQ(record["connector_calls"].size(), 1u);
  EXPECT_EQ(record["connector_calls"][0]["connector"], "sift");
  EXPECT_EQ(record["connector_calls"][0]["http_status"], 200);
  EXPECT_EQ(record["connector_calls"][0]["response"]["score"], 0.12);
  EXPECT_EQ(record["usage"]["wall_time"], "0.003s");
  EXPECT_EQ(record["usage"]["peak_heap_bytes"], 123456);
  EXPECT_EQ(record["connector_calls"][0]["duration"], "0.120s");
  EXPECT_EQ(record["connector_calls"][0]["error_reason"], "");  // every field, defaults too
  EXPECT_EQ(record["logs"][0]["time"], "2026-09-21T14:13:20.000000Z");
  EXPECT_EQ(record["usage"]["compile_cache_hit"], true);
}

TEST(DecisionRecordTest, AFailedEvaluationRecordsTheReasonLogsAndUsage) {
  const EvaluateCodeRequest request = Request();
  const auto error = FromText<EvaluationError>(R"pb(
    reason: "SCRIPT_RUNTIME_ERROR"
    message: "TypeError: cannot read property 'x' of undefined"
    line: 3
    stack: "at line 3"
    logs { level: LOG message: "before the throw" }
    usage { wall_time { nanos: 500000 } }
    decision_id: "d-1"
  )pb");
  ASSERT_OK_AND_ASSIGN(std::string line,
                       DecisionRecordToJson(Record(request, nullptr, &error), InputMask()));
  const json record = Parse(line);
  EXPECT_EQ(record["outcome"], "SCRIPT_RUNTIME_ERROR");
  // Failed before the evaluator hashed the code: the record hashes it itself.
  EXPECT_EQ(record["code_sha256"], Sha256Hex(request.code()));
  EXPECT_EQ(record["error"]["reason"], "SCRIPT_RUNTIME_ERROR");
  EXPECT_EQ(record["error"]["line"], 3);
  EXPECT_EQ(record["error"]["stack"], "at line 3");
  EXPECT_EQ(record["error"]["field"], "");
  EXPECT_THAT(record["error"]["message"].get<std::string>(), HasSubstr("TypeError"));
  EXPECT_EQ(record["logs"][0]["message"], "before the throw");
  EXPECT_EQ(record["usage"]["wall_time"], "0.000500s");
  EXPECT_FALSE(record.contains("result"));
  EXPECT_FALSE(record.contains("decision"));
  EXPECT_EQ(record["input"]["applicant"]["email-address"], "ada@example.com");
}

TEST(DecisionRecordTest, MaskedFieldsAreReplacedInTheRecordOnly) {
  const EvaluateCodeRequest request = Request();
  const EvaluateCodeRequest untouched = request;
  const EvaluateCodeResponse response = Response();
  ASSERT_OK_AND_ASSIGN(InputMask mask,
                       InputMask::Create({"trigger.inquiry.attributes.birthdate",
                                          "**.email-address", "applicant.emails.address"}));
  ASSERT_OK_AND_ASSIGN(std::string line,
                       DecisionRecordToJson(Record(request, &response, nullptr), mask));
  const json record = Parse(line);
  const json& input = record["input"];
  EXPECT_EQ(input["trigger"]["inquiry"]["attributes"]["birthdate"], "***");
  EXPECT_EQ(input["trigger"]["inquiry"]["attributes"]["name-first"], "Ada");
  EXPECT_EQ(input["applicant"]["email-address"], "***");
  EXPECT_EQ(input["applicant"]["emails"][0]["address"], "***");
  EXPECT_EQ(input["applicant"]["emails"][0]["primary"], true);
  EXPECT_EQ(input["applicant"]["emails"][1]["address"], "***");
  EXPECT_EQ(input["score"], 0.12);
  EXPECT_EQ(record["masked"],
            json({"applicant.email-address", "applicant.emails[0].address",
                  "applicant.emails[1].address", "trigger.inquiry.attributes.birthdate"}));
  // No masked value survives anywhere in the line.
  EXPECT_EQ(line.find("1990-02-03"), std::string::npos);
  EXPECT_EQ(line.find("ada@example.com"), std::string::npos);
  // What the script saw (the request) is unchanged.
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(request, untouched));
}

TEST(DecisionRecordTest, NonFiniteInputNumbersAreRecordedAsNullNotDropped) {
  EvaluateCodeRequest request = Request();
  (*request.mutable_input()->mutable_fields())["nan"].set_number_value(
      std::numeric_limits<double>::quiet_NaN());
  (*request.mutable_input()->mutable_fields())["inf"].set_number_value(
      std::numeric_limits<double>::infinity());
  const EvaluateCodeResponse response = Response();
  ASSERT_OK_AND_ASSIGN(std::string line,
                       DecisionRecordToJson(Record(request, &response, nullptr), InputMask()));
  const json record = Parse(line);
  EXPECT_TRUE(record["input"]["nan"].is_null());
  EXPECT_TRUE(record["input"]["inf"].is_null());
  EXPECT_EQ(record["input"]["score"], 0.12);
}

// The service reads a plain input from the request's bytes instead of parsing it
// (common/wire_struct.h): the record must read the same either way, masks and NaN included.
TEST(DecisionRecordTest, AnInputReadFromItsBytesIsRecordedAsTheParsedOne) {
  EvaluateCodeRequest request = Request();
  (*request.mutable_input()->mutable_fields())["nan"].set_number_value(
      std::numeric_limits<double>::quiet_NaN());
  (*request.mutable_input()->mutable_fields())["unset"];
  (*request.mutable_input()->mutable_fields())["text"].set_string_value("\"quoted\" ü\n");
  const std::string input_bytes = request.input().SerializeAsString();
  const std::optional<WireStruct> wire_input = WireStruct::Read(input_bytes);
  ASSERT_TRUE(wire_input.has_value());
  EvaluateCodeRequest without_input = request;
  without_input.clear_input();
  const EvaluateCodeResponse response = Response();
  const EvaluationError error = FromText<EvaluationError>(R"pb(reason: "SCRIPT_ERROR")pb");
  ASSERT_OK_AND_ASSIGN(InputMask mask,
                       InputMask::Create({"**.email-address", "applicant.emails.address"}));
  for (const InputMask& masking : {InputMask(), mask}) {
    for (const bool failed : {false, true}) {
      DecisionRecord parsed = Record(request, failed ? nullptr : &response, failed ? &error : nullptr);
      DecisionRecord read = Record(without_input, parsed.response, parsed.error);
      read.wire_input = &*wire_input;
      ASSERT_OK_AND_ASSIGN(std::string expected, DecisionRecordToJson(parsed, masking));
      ASSERT_OK_AND_ASSIGN(std::string line, DecisionRecordToJson(read, masking));
      EXPECT_EQ(line, expected);
    }
  }
}

TEST(DecisionRecordTest, AMalformedTraceparentIsNotCarried) {
  const EvaluateCodeRequest request = Request();
  const EvaluateCodeResponse response = Response();
  DecisionRecord record = Record(request, &response, nullptr);
  record.traceparent = "00-<script>-x-01";
  ASSERT_OK_AND_ASSIGN(std::string line, DecisionRecordToJson(record, InputMask()));
  const json parsed = Parse(line);
  EXPECT_FALSE(parsed.contains("traceparent"));
  EXPECT_FALSE(parsed.contains("trace_id"));
}

TEST(DecisionRecordTest, NeedsARequestAndExactlyOneOutcome) {
  const EvaluateCodeRequest request = Request();
  const EvaluateCodeResponse response = Response();
  const EvaluationError error;
  EXPECT_THAT(DecisionRecordToJson(Record(request, nullptr, nullptr), InputMask()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one")));
  EXPECT_THAT(DecisionRecordToJson(Record(request, &response, &error), InputMask()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one")));
  DecisionRecord no_request = Record(request, &response, nullptr);
  no_request.request = nullptr;
  EXPECT_THAT(DecisionRecordToJson(no_request, InputMask()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request")));
}

}  // namespace
}  // namespace evaluatecode::service::observability
