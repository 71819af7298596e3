#include "service/decision.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "service/error_status.h"

namespace evaluatecode::service {
namespace {

evaluate::v1::EvaluationError Invalid(std::string message) {
  return NewError(evaluate::v1::SCRIPT_RESULT_INVALID, std::move(message));
}

}  // namespace

std::optional<evaluate::v1::EvaluationError> ExtractDecision(
    const google::protobuf::Value& result, std::optional<evaluate::v1::Decision>* decision) {
  if (!result.has_struct_value()) return std::nullopt;
  const auto& fields = result.struct_value().fields();
  const auto found = fields.find("decision");
  if (found == fields.end()) return std::nullopt;

  const google::protobuf::Value& value = found->second;
  const std::string name = value.has_string_value() ? absl::AsciiStrToLower(value.string_value()) : "";
  evaluate::v1::Decision::Outcome outcome;
  if (name == "approve") {
    outcome = evaluate::v1::Decision::APPROVE;
  } else if (name == "decline") {
    outcome = evaluate::v1::Decision::DECLINE;
  } else if (name == "review") {
    outcome = evaluate::v1::Decision::REVIEW;
  } else {
    return Invalid(absl::StrCat(
        "result.decision must be \"approve\", \"decline\" or \"review\"; got ",
        value.has_string_value() ? absl::StrCat("\"", value.string_value().substr(0, 64), "\"")
                                 : "a non-string value"));
  }

  evaluate::v1::Decision typed;
  typed.set_outcome(outcome);
  const auto reasons = fields.find("reasons");
  if (reasons != fields.end() && !reasons->second.has_null_value()) {
    if (!reasons->second.has_list_value()) {
      return Invalid("result.reasons must be a list of strings");
    }
    const auto& list = reasons->second.list_value().values();
    for (int i = 0; i < list.size(); ++i) {
      if (!list[i].has_string_value()) {
        return Invalid(absl::StrCat("result.reasons[", i, "] must be a string"));
      }
      typed.add_reasons(list[i].string_value());
    }
  }
  *decision = std::move(typed);
  return std::nullopt;
}

}  // namespace evaluatecode::service
