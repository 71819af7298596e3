#include "service/observability/decision_record.h"

#include <cmath>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "google/protobuf/util/json_util.h"
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

// A message in the protobuf JSON mapping, as a JSON tree.
std::optional<json> MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) {
    return std::nullopt;
  }
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

// Copies `keys` of `from` (those present: proto JSON omits default values) into `to`.
void CopyFields(const json& from, const std::vector<const char*>& keys, json& to) {
  for (const char* key : keys) {
    auto it = from.find(key);
    if (it != from.end()) to[key] = *it;
  }
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
  out["time"] = absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", record.time, absl::UTCTimeZone());
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
  if (std::optional<json> limits = MessageToJson(request.limits())) out["limits"] = *limits;

  json input = StructToJson(request.input());
  out["masked"] = mask.Apply(input);
  out["input"] = std::move(input);

  const google::protobuf::Message& outcome =
      record.response != nullptr ? static_cast<const google::protobuf::Message&>(*record.response)
                                 : *record.error;
  std::optional<json> fields = MessageToJson(outcome);
  if (record.response != nullptr) {
    out["outcome"] = "OK";
    out["result"] = ValueToJson(record.response->result());
  } else {
    out["outcome"] = record.error->reason();
    json error = json::object();
    if (fields) CopyFields(*fields, {"reason", "message", "field", "line", "column", "stack"}, error);
    error["reason"] = record.error->reason();
    out["error"] = std::move(error);
  }
  if (fields) {
    CopyFields(*fields, {"decision", "logs", "connector_calls", "usage"}, out);
  } else {
    // Never drop the record for a part that will not print: say so in it.
    out["record_error"] = "logs, connector_calls and usage could not be converted to JSON";
  }
  return out.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                  json::error_handler_t::replace);
}

}  // namespace evaluatecode::service::observability
