#include "service/observability/decision_record.h"

#include <cmath>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/sha256.h"
#include "service/observability/traceparent.h"

namespace evaluatecode::service::observability {
namespace {

using nlohmann::json;

// google.protobuf.Value → JSON by hand rather than through protobuf's JSON printer: the input comes
// from the caller's binary message, where NaN or Infinity is possible, and protobuf refuses to print
// those, which would lose the record. Like JSON.stringify, they become null.
json ValueToJson(const google::protobuf::Value& value);

json StructToJson(const google::protobuf::Struct& fields) {
  json object = json::object();
  for (const auto& [key, value] : fields.fields()) object[key] = ValueToJson(value);
  return object;
}

json ValueToJson(const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kNumberValue:
      return std::isfinite(value.number_value()) ? json(value.number_value()) : json(nullptr);
    case google::protobuf::Value::kStringValue:
      return value.string_value();
    case google::protobuf::Value::kBoolValue:
      return value.bool_value();
    case google::protobuf::Value::kStructValue:
      return StructToJson(value.struct_value());
    case google::protobuf::Value::kListValue: {
      json array = json::array();
      for (const auto& element : value.list_value().values()) array.push_back(ValueToJson(element));
      return array;
    }
    case google::protobuf::Value::kNullValue:
    case google::protobuf::Value::KIND_NOT_SET:
      break;
  }
  return nullptr;
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
    std::string digits = absl::StrFormat("%09d", fraction);
    while (digits.size() > 3 && digits.compare(digits.size() - 3, 3, "000") == 0) {
      digits.resize(digits.size() - 3);
    }
    absl::StrAppend(&text, ".", digits);
  }
  return text + "s";
}

std::string TimeToJson(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", time, absl::UTCTimeZone());
}

std::string TimestampToJson(const google::protobuf::Timestamp& timestamp) {
  return TimeToJson(absl::FromUnixSeconds(timestamp.seconds()) +
                    absl::Nanoseconds(timestamp.nanos()));
}

json LimitsToJson(const evaluate::v1::Limits& limits) {
  return {{"timeout_ms", limits.timeout_ms()},
          {"memory_bytes", limits.memory_bytes()},
          {"max_connector_calls", limits.max_connector_calls()},
          {"max_log_bytes", limits.max_log_bytes()},
          {"max_output_bytes", limits.max_output_bytes()}};
}

json LogsToJson(const google::protobuf::RepeatedPtrField<evaluate::v1::LogEntry>& logs) {
  json array = json::array();
  for (const evaluate::v1::LogEntry& entry : logs) {
    array.push_back({{"level", evaluate::v1::LogEntry::Level_Name(entry.level())},
                     {"message", entry.message()},
                     {"time", TimestampToJson(entry.time())}});
  }
  return array;
}

json ConnectorCallsToJson(
    const google::protobuf::RepeatedPtrField<evaluate::v1::ConnectorCall>& calls) {
  json array = json::array();
  for (const evaluate::v1::ConnectorCall& call : calls) {
    array.push_back({{"connector", call.connector()},
                     {"operation", call.operation()},
                     {"params", StructToJson(call.params())},
                     {"http_status", call.http_status()},
                     {"duration", DurationToJson(call.duration())},
                     {"attempts", call.attempts()},
                     {"from_cache", call.from_cache()},
                     {"error_reason", call.error_reason()},
                     {"response", ValueToJson(call.response())}});
  }
  return array;
}

json UsageToJson(const evaluate::v1::Usage& usage) {
  return {{"wall_time", DurationToJson(usage.wall_time())},
          {"engine_time", DurationToJson(usage.engine_time())},
          {"peak_heap_bytes", usage.peak_heap_bytes()},
          {"compile_cache_hit", usage.compile_cache_hit()},
          {"connector_calls", usage.connector_calls()}};
}

}  // namespace

absl::StatusOr<std::string> DecisionRecordToJson(const DecisionRecord& record,
                                                 const InputMask& mask) {
  if (record.request == nullptr || (record.response == nullptr) == (record.error == nullptr)) {
    return absl::InvalidArgumentError(
        "decision record: needs a request and exactly one of response and error");
  }
  const evaluate::v1::EvaluateCodeRequest& request = *record.request;
  json out = json::object();
  out["schema"] = kDecisionRecordSchema;
  out["decision_id"] = record.decision_id;
  out["time"] = TimeToJson(record.time);
  out["caller"] = record.caller;
  json labels = json::object();
  for (const auto& [key, value] : request.labels()) labels[key] = value;
  out["labels"] = std::move(labels);
  if (std::optional<TraceContext> trace = ParseTraceparent(record.traceparent)) {
    out["traceparent"] = record.traceparent;
    out["trace_id"] = trace->trace_id;
    out["span_id"] = trace->parent_id;
  }
  // Hashed here rather than taken from the outcome, which lacks it when the call failed early.
  out["code_sha256"] = Sha256Hex(request.code());
  out["connectors"] = json(std::vector<std::string>(request.connectors().begin(),
                                                    request.connectors().end()));
  out["limits"] = LimitsToJson(request.limits());

  json input = StructToJson(request.input());
  out["masked"] = mask.Apply(input);
  out["input"] = std::move(input);

  if (record.response != nullptr) {
    const evaluate::v1::EvaluateCodeResponse& response = *record.response;
    out["outcome"] = "OK";
    out["result"] = ValueToJson(response.result());
    if (response.has_decision()) {
      out["decision"] = {
          {"outcome", evaluate::v1::Decision::Outcome_Name(response.decision().outcome())},
          {"reasons", std::vector<std::string>(response.decision().reasons().begin(),
                                               response.decision().reasons().end())}};
    }
    out["logs"] = LogsToJson(response.logs());
    out["connector_calls"] = ConnectorCallsToJson(response.connector_calls());
    out["usage"] = UsageToJson(response.usage());
    out["evaluation_time"] = TimestampToJson(response.evaluation_time());
    out["random_seed"] = std::to_string(response.random_seed());
  } else {
    const evaluate::v1::EvaluationError& error = *record.error;
    out["outcome"] = error.reason();
    out["error"] = {{"reason", error.reason()}, {"message", error.message()},
                    {"field", error.field()},   {"line", error.line()},
                    {"column", error.column()}, {"stack", error.stack()}};
    out["logs"] = LogsToJson(error.logs());
    out["connector_calls"] = ConnectorCallsToJson(error.connector_calls());
    out["usage"] = UsageToJson(error.usage());
    out["evaluation_time"] = TimestampToJson(error.evaluation_time());
    out["random_seed"] = std::to_string(error.random_seed());
  }
  return out.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                  json::error_handler_t::replace);
}

}  // namespace evaluatecode::service::observability
