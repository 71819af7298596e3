#include "connectors/request_builder.h"

#include <cmath>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "connectors/path_template.h"
#include "connectors/secret_scrubber.h"
#include "nlohmann/json.hpp"

namespace evaluatecode::connectors {
namespace {

constexpr size_t kMaxValueBytes = 4096;
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

absl::Status TypeError(const ParameterSpec& spec, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("parameter '", spec.name, "' must be ",
                                                 ParameterTypeName(spec.type), what));
}

// Parameter names that look like credentials are redacted even when config forgot `sensitive`.
bool LooksSecret(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (absl::string_view word : {"key", "token", "secret", "password", "passwd", "auth"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

// One checked parameter: its text for the URL (unescaped; a list keeps items apart) and its JSON
// value for a body.
struct CheckedValue {
  std::vector<std::string> texts;
  nlohmann::json json;
};

absl::StatusOr<CheckedValue> Check(const ParameterSpec& spec, const google::protobuf::Value& value) {
  CheckedValue out;
  switch (spec.type) {
    case ParameterType::kString:
      if (value.kind_case() != google::protobuf::Value::kStringValue) return TypeError(spec, "");
      out.texts.push_back(value.string_value());
      out.json = value.string_value();
      break;
    case ParameterType::kNumber:
      if (value.kind_case() != google::protobuf::Value::kNumberValue ||
          !std::isfinite(value.number_value())) {
        return TypeError(spec, " (a finite number)");
      }
      out.json = value.number_value();
      out.texts.push_back(out.json.dump());
      break;
    case ParameterType::kInteger: {
      const double number = value.number_value();
      if (value.kind_case() != google::protobuf::Value::kNumberValue || !std::isfinite(number) ||
          std::trunc(number) != number || std::fabs(number) > kMaxExactInteger) {
        return TypeError(spec, " (a whole number within ±2^53)");
      }
      out.json = static_cast<int64_t>(number);
      out.texts.push_back(absl::StrCat(static_cast<int64_t>(number)));
      break;
    }
    case ParameterType::kBoolean:
      if (value.kind_case() != google::protobuf::Value::kBoolValue) return TypeError(spec, "");
      out.json = value.bool_value();
      out.texts.push_back(value.bool_value() ? "true" : "false");
      break;
    case ParameterType::kStringList:
      if (value.kind_case() != google::protobuf::Value::kListValue) {
        return TypeError(spec, " (a list of strings)");
      }
      out.json = nlohmann::json::array();
      for (const google::protobuf::Value& item : value.list_value().values()) {
        if (item.kind_case() != google::protobuf::Value::kStringValue) {
          return TypeError(spec, " (a list of strings)");
        }
        out.texts.push_back(item.string_value());
        out.json.push_back(item.string_value());
      }
      break;
  }
  size_t bytes = 0;
  for (const std::string& text : out.texts) bytes += text.size();
  if (bytes > kMaxValueBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter '", spec.name, "' is longer than ", kMaxValueBytes, " bytes"));
  }
  return out;
}

std::string EscapeJoined(const std::vector<std::string>& texts) {
  std::vector<std::string> escaped;
  escaped.reserve(texts.size());
  for (const std::string& text : texts) escaped.push_back(EscapeUrlComponent(text));
  return absl::StrJoin(escaped, ",");
}

}  // namespace

absl::StatusOr<PreparedRequest> PrepareRequest(const ConnectorConfig& connector,
                                               const OperationSpec& operation,
                                               const google::protobuf::Struct& params) {
  for (const auto& [name, unused] : params.fields()) {
    bool known = false;
    for (const ParameterSpec& spec : operation.parameters) known = known || spec.name == name;
    if (!known) {
      std::vector<std::string> names;
      for (const ParameterSpec& spec : operation.parameters) names.push_back(spec.name);
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown parameter '", name, "' for ", connector.name, ".", operation.name,
          names.empty() ? "; it takes none" : "; expected one of ", absl::StrJoin(names, ", ")));
    }
  }
  PreparedRequest out;
  out.method = operation.method;
  std::map<std::string, std::string> path_values;
  std::vector<std::string> query;
  nlohmann::json body = nlohmann::json::object();
  for (const ParameterSpec& spec : operation.parameters) {
    auto it = params.fields().find(spec.name);
    // JSON null counts as absent: scripts often pass `undefined` fields through.
    if (it == params.fields().end() ||
        it->second.kind_case() == google::protobuf::Value::kNullValue ||
        it->second.kind_case() == google::protobuf::Value::KIND_NOT_SET) {
      if (spec.required) {
        return absl::InvalidArgumentError(
            absl::StrCat("parameter '", spec.name, "' is required"));
      }
      continue;
    }
    absl::StatusOr<CheckedValue> checked = Check(spec, it->second);
    if (!checked.ok()) return checked.status();
    google::protobuf::Value recorded = it->second;
    if (spec.sensitive || LooksSecret(spec.name)) recorded.set_string_value(std::string(kRedacted));
    (*out.redacted_params.mutable_fields())[spec.name] = std::move(recorded);
    switch (spec.location) {
      case ParameterLocation::kPath: {
        const std::string joined = absl::StrJoin(checked->texts, ",");
        // "." and ".." would be read as dot-segments and move the request to another resource.
        if (joined.empty() || joined == "." || joined == "..") {
          return absl::InvalidArgumentError(
              absl::StrCat("parameter '", spec.name, "' must not be empty, '.' or '..'"));
        }
        path_values[spec.name] = EscapeJoined(checked->texts);
        break;
      }
      case ParameterLocation::kQuery:
        query.push_back(
            absl::StrCat(EscapeUrlComponent(spec.name), "=", EscapeJoined(checked->texts)));
        break;
      case ParameterLocation::kBody:
        body[spec.name] = std::move(checked->json);
        break;
    }
  }
  absl::StatusOr<std::string> path = ExpandPathTemplate(operation.path, path_values);
  if (!path.ok()) return path.status();
  absl::string_view base = connector.base_url;
  while (absl::ConsumeSuffix(&base, "/")) {
  }
  out.url = absl::StrCat(base, *path);
  if (!query.empty()) absl::StrAppend(&out.url, "?", absl::StrJoin(query, "&"));
  if (!body.empty()) out.body = body.dump();
  return out;
}

}  // namespace evaluatecode::connectors
