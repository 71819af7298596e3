#include "tools/evalctl/recorded_evaluation.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace evaluatecode::evalctl {

absl::StatusOr<evaluate::v1::RecordedEvaluation> ParseRecordedEvaluation(absl::string_view json) {
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError("a record must be a JSON object");
  }
  nlohmann::json recorded = parsed;
  if (parsed.contains("schema") && !parsed.contains("request")) {
    // A decision record: the request's fields and the outcome's, side by side.
    recorded = nlohmann::json::object();
    recorded["record_id"] = parsed.value("decision_id", "");
    nlohmann::json& request = recorded["request"];
    for (const char* key : {"input", "labels", "connectors", "limits"}) {
      if (parsed.contains(key)) request[key] = parsed[key];
    }
    const bool failed = parsed.contains("error");
    nlohmann::json outcome = failed ? parsed["error"] : nlohmann::json::object();
    if (!failed) {
      for (const char* key : {"result", "decision", "logs"}) {
        if (parsed.contains(key)) outcome[key] = parsed[key];
      }
    }
    for (const char* key : {"connector_calls", "evaluation_time", "random_seed", "code_sha256"}) {
      if (parsed.contains(key)) outcome[key] = parsed[key];
    }
    recorded[failed ? "error" : "response"] = std::move(outcome);
  }
  evaluate::v1::RecordedEvaluation out;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(recorded.dump(), &out, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a recorded evaluation: ", std::string(status.message())));
  }
  return out;
}

}  // namespace evaluatecode::evalctl
