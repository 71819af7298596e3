#include "service/observability/decision_record.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/json_view.h"
#include "common/sha256.h"
#include "common/wire_struct.h"
#include "service/observability/json_writer.h"
#include "service/observability/traceparent.h"

namespace evaluatecode::service::observability {
namespace {

const InputMask& NoMask() {
  static const InputMask* const kNoMask = new InputMask();
  return *kNoMask;
}

// A JSON-like value (either view of common/json_view.h) → JSON by hand rather than through
// protobuf's JSON printer: the input comes from the caller's binary message, where NaN or Infinity
// is possible, and protobuf refuses to print those, which would lose the record. Like
// JSON.stringify, they become null. With a mask (the request's input), masked members are written
// as "***"; `path` is the current node's input path, kept only while some mask path is alive below
// it, for the record's "masked" list.
template <typename View>
class ValueWriter {
 public:
  ValueWriter(JsonWriter& out, View view, const InputMask& mask = NoMask())
      : out_(out), view_(view), mask_(mask) {}

  void WriteObject(const typename View::Object& object) {
    std::string path;
    WriteObject(object, mask_.Root(), path);
  }
  void WriteValue(const typename View::Value& value) {
    std::string path;
    WriteValue(value, mask_.Root(), path);
  }
  // The paths masked so far, sorted and unique.
  std::vector<std::string> masked() {
    std::sort(masked_.begin(), masked_.end());
    masked_.erase(std::unique(masked_.begin(), masked_.end()), masked_.end());
    return std::move(masked_);
  }

 private:
  void WriteObject(const typename View::Object& object, const InputMask::Position& at,
                   std::string& path) {
    out_.BeginObject();
    InputMask::Position inside;
    view_.ForEachMember(object, [&](absl::string_view key, const typename View::Value& value) {
      out_.Key(key);
      if (at.empty()) {
        WriteValue(value, at, path);
        return;
      }
      const size_t parent_length = path.size();
      InputMask::AppendKeyToPath(key, &path);
      if (mask_.Enter(at, key, &inside)) {
        out_.String("***");
        masked_.push_back(path);
      } else {
        WriteValue(value, inside, path);
      }
      path.resize(parent_length);
    });
    out_.EndObject();
  }

  void WriteValue(const typename View::Value& value, const InputMask::Position& at,
                  std::string& path) {
    switch (View::KindOf(value)) {
      case JsonKind::kNumber:
        out_.Double(View::Number(value));
        return;
      case JsonKind::kString:
        out_.String(View::Text(value));
        return;
      case JsonKind::kBool:
        out_.Bool(View::Boolean(value));
        return;
      case JsonKind::kObject:
        WriteObject(View::ObjectOf(value), at, path);
        return;
      case JsonKind::kList:
        break;
      case JsonKind::kNull:
        out_.Null();
        return;
    }
    out_.BeginArray();
    int index = 0;
    view_.ForEachElement(value, [&](const typename View::Value& element) {
      const size_t parent_length = path.size();
      if (!at.empty()) absl::StrAppend(&path, "[", index, "]");
      WriteValue(element, at, path);
      path.resize(parent_length);
      ++index;
    });
    out_.EndArray();
  }

  JsonWriter& out_;
  const View view_;
  const InputMask& mask_;
  std::vector<std::string> masked_;
};

// The request's input, masked, then the paths masked.
template <typename View>
void WriteInput(const View& view, const typename View::Object& input, const InputMask& mask,
                JsonWriter& out) {
  ValueWriter<View> writer(out, view, mask);
  out.Key("input");
  writer.WriteObject(input);
  out.Key("masked");
  out.BeginArray();
  for (const std::string& path : writer.masked()) out.String(path);
  out.EndArray();
}

// The messages below are converted field by field rather than with protobuf's JSON printer, which
// serializes to binary and re-parses through a type resolver: measured at ~60 of the ~100 µs a
// record took (bench/observability/decision_log_bench). Every field is always written, so the
// record's shape is stable; durations and timestamps read as in the protobuf JSON mapping.

// "1.5s", "0.000125s": seconds with 0, 3, 6 or 9 fractional digits, as protobuf writes them.
std::string DurationToJson(const google::protobuf::Duration& duration) {
  // Seconds and nanos share their sign in a valid Duration.
  const bool negative = duration.seconds() < 0 || duration.nanos() < 0;
  const int64_t seconds = negative ? -duration.seconds() : duration.seconds();
  const int32_t fraction = negative ? -duration.nanos() : duration.nanos();
  std::string text = negative ? "-" : "";
  absl::StrAppend(&text, seconds);
  if (fraction != 0) {
    std::string digits = absl::StrCat(absl::Dec(fraction, absl::kZeroPad9));
    while (digits.size() > 3 && digits.compare(digits.size() - 3, 3, "000") == 0) {
      digits.resize(digits.size() - 3);
    }
    absl::StrAppend(&text, ".", digits);
  }
  return text + "s";
}

// RFC 3339 in UTC to the microsecond, e.g. 2026-09-21T14:13:20.123456Z. Not absl::FormatTime,
// which interprets its strftime format at every call (≈ 3,100 instructions a stamp against ≈ 2,000
// here).
std::string TimeToJson(absl::Time time) {
  const absl::TimeZone::CivilInfo utc = absl::UTCTimeZone().At(time);
  return absl::StrCat(absl::Dec(utc.cs.year(), absl::kZeroPad4), "-",
                      absl::Dec(utc.cs.month(), absl::kZeroPad2), "-",
                      absl::Dec(utc.cs.day(), absl::kZeroPad2), "T",
                      absl::Dec(utc.cs.hour(), absl::kZeroPad2), ":",
                      absl::Dec(utc.cs.minute(), absl::kZeroPad2), ":",
                      absl::Dec(utc.cs.second(), absl::kZeroPad2), ".",
                      absl::Dec(absl::ToInt64Microseconds(utc.subsecond), absl::kZeroPad6), "Z");
}

std::string TimestampToJson(const google::protobuf::Timestamp& timestamp) {
  return TimeToJson(absl::FromUnixSeconds(timestamp.seconds()) +
                    absl::Nanoseconds(timestamp.nanos()));
}

void WriteLimits(const evaluate::v1::Limits& limits, JsonWriter& out) {
  out.BeginObject();
  out.Key("timeout_ms");
  out.Uint(limits.timeout_ms());
  out.Key("memory_bytes");
  out.Uint(limits.memory_bytes());
  out.Key("max_connector_calls");
  out.Uint(limits.max_connector_calls());
  out.Key("max_log_bytes");
  out.Uint(limits.max_log_bytes());
  out.Key("max_output_bytes");
  out.Uint(limits.max_output_bytes());
  out.EndObject();
}

void WriteLogs(const google::protobuf::RepeatedPtrField<evaluate::v1::LogEntry>& logs,
               JsonWriter& out) {
  out.BeginArray();
  for (const evaluate::v1::LogEntry& entry : logs) {
    out.BeginObject();
    out.Key("level");
    out.String(evaluate::v1::LogEntry::Level_Name(entry.level()));
    out.Key("message");
    out.String(entry.message());
    out.Key("time");
    out.String(TimestampToJson(entry.time()));
    out.EndObject();
  }
  out.EndArray();
}

void WriteConnectorCalls(
    const google::protobuf::RepeatedPtrField<evaluate::v1::ConnectorCall>& calls,
    JsonWriter& out) {
  ProtobufJsonView::Scratch scratch;
  out.BeginArray();
  for (const evaluate::v1::ConnectorCall& call : calls) {
    out.BeginObject();
    out.Key("connector");
    out.String(call.connector());
    out.Key("operation");
    out.String(call.operation());
    out.Key("params");
    ValueWriter(out, ProtobufJsonView(scratch)).WriteObject(call.params());
    out.Key("http_status");
    out.Int(call.http_status());
    out.Key("duration");
    out.String(DurationToJson(call.duration()));
    out.Key("attempts");
    out.Int(call.attempts());
    out.Key("from_cache");
    out.Bool(call.from_cache());
    out.Key("error_reason");
    out.String(call.error_reason());
    out.Key("response");
    ValueWriter(out, ProtobufJsonView(scratch)).WriteValue(call.response());
    out.EndObject();
  }
  out.EndArray();
}

void WriteUsage(const evaluate::v1::Usage& usage, JsonWriter& out) {
  out.BeginObject();
  out.Key("wall_time");
  out.String(DurationToJson(usage.wall_time()));
  out.Key("engine_time");
  out.String(DurationToJson(usage.engine_time()));
  out.Key("peak_heap_bytes");
  out.Uint(usage.peak_heap_bytes());
  out.Key("compile_cache_hit");
  out.Bool(usage.compile_cache_hit());
  out.Key("connector_calls");
  out.Int(usage.connector_calls());
  out.EndObject();
}

// What a success and a failure both record after their own fields.
template <typename Outcome>
void WriteRun(const Outcome& outcome, JsonWriter& out) {
  out.Key("logs");
  WriteLogs(outcome.logs(), out);
  out.Key("connector_calls");
  WriteConnectorCalls(outcome.connector_calls(), out);
  out.Key("usage");
  WriteUsage(outcome.usage(), out);
  out.Key("evaluation_time");
  out.String(TimestampToJson(outcome.evaluation_time()));
  out.Key("random_seed");
  out.String(std::to_string(outcome.random_seed()));
}

}  // namespace

absl::StatusOr<std::string> DecisionRecordToJson(const DecisionRecord& record,
                                                 const InputMask& mask) {
  if (record.request == nullptr || (record.response == nullptr) == (record.error == nullptr)) {
    return absl::InvalidArgumentError(
        "decision record: needs a request and exactly one of response and error");
  }
  const evaluate::v1::EvaluateCodeRequest& request = *record.request;
  JsonWriter out;
  out.BeginObject();
  out.Key("schema");
  out.String(kDecisionRecordSchema);
  out.Key("decision_id");
  out.String(record.decision_id);
  out.Key("time");
  out.String(TimeToJson(record.time));
  out.Key("caller");
  out.String(record.caller);
  out.Key("labels");
  {
    // Sorted, as the input's keys are.
    std::vector<std::pair<absl::string_view, absl::string_view>> labels(request.labels().begin(),
                                                                         request.labels().end());
    std::sort(labels.begin(), labels.end());
    out.BeginObject();
    for (const auto& [key, value] : labels) {
      out.Key(key);
      out.String(value);
    }
    out.EndObject();
  }
  if (std::optional<TraceContext> trace = ParseTraceparent(record.traceparent)) {
    out.Key("traceparent");
    out.String(record.traceparent);
    out.Key("trace_id");
    out.String(trace->trace_id);
    out.Key("span_id");
    out.String(trace->parent_id);
  }
  // The evaluator's hash of this code; hashed here only when the call failed before it had one.
  const std::string& known_sha256 =
      record.response != nullptr ? record.response->code_sha256() : record.error->code_sha256();
  out.Key("code_sha256");
  out.String(known_sha256.empty() ? Sha256Hex(request.code()) : known_sha256);
  out.Key("connectors");
  out.BeginArray();
  for (const std::string& connector : request.connectors()) out.String(connector);
  out.EndArray();
  out.Key("limits");
  WriteLimits(request.limits(), out);

  ProtobufJsonView::Scratch scratch;
  if (record.wire_input != nullptr) {
    WriteInput(WireJsonView(*record.wire_input), record.wire_input->root(), mask, out);
  } else {
    WriteInput(ProtobufJsonView(scratch), request.input(), mask, out);
  }

  if (record.response != nullptr) {
    const evaluate::v1::EvaluateCodeResponse& response = *record.response;
    out.Key("outcome");
    out.String("OK");
    out.Key("result");
    ValueWriter(out, ProtobufJsonView(scratch)).WriteValue(response.result());
    if (response.has_decision()) {
      out.Key("decision");
      out.BeginObject();
      out.Key("outcome");
      out.String(evaluate::v1::Decision::Outcome_Name(response.decision().outcome()));
      out.Key("reasons");
      out.BeginArray();
      for (const std::string& reason : response.decision().reasons()) out.String(reason);
      out.EndArray();
      out.EndObject();
    }
    WriteRun(response, out);
  } else {
    const evaluate::v1::EvaluationError& error = *record.error;
    out.Key("outcome");
    out.String(error.reason());
    out.Key("error");
    out.BeginObject();
    out.Key("reason");
    out.String(error.reason());
    out.Key("message");
    out.String(error.message());
    out.Key("field");
    out.String(error.field());
    out.Key("line");
    out.Int(error.line());
    out.Key("column");
    out.Int(error.column());
    out.Key("stack");
    out.String(error.stack());
    out.EndObject();
    WriteRun(error, out);
  }
  out.EndObject();
  return out.Take();
}

}  // namespace evaluatecode::service::observability
