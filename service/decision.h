#ifndef EVALUATECODE_SERVICE_DECISION_H_
#define EVALUATECODE_SERVICE_DECISION_H_

#include <optional>

#include "evaluate/v1/evaluate.pb.h"
#include "google/protobuf/struct.pb.h"

namespace evaluatecode::service {

// Reads the typed decision out of a decision-shaped result: an object with a `decision` key
// ("approve", "decline" or "review", any case) and optional `reasons` (a list of strings).
// Sets `decision` only for such a result. Returns a SCRIPT_RESULT_INVALID error for an unknown
// decision value or malformed reasons.
std::optional<evaluate::v1::EvaluationError> ExtractDecision(
    const google::protobuf::Value& result, std::optional<evaluate::v1::Decision>* decision);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_DECISION_H_
