#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_DECISION_RECORD_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_DECISION_RECORD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/wire_struct.h"
#include "evaluate/v1/evaluate.pb.h"
#include "service/observability/input_mask.h"

namespace evaluatecode::service::observability {

// Version of the record's JSON layout, written into every record as "schema".
inline constexpr char kDecisionRecordSchema[] = "evaluatecode.decision_record.v1";

// Everything the audit trail keeps about one evaluation. The messages are not owned: they must stay
// valid until DecisionLog::Record (or DecisionRecordToJson) returns, which copies what it needs.
struct DecisionRecord {
  std::string decision_id;
  // When the request arrived (CallContext::received).
  absl::Time time;
  // The authenticated caller (certificate SAN or mesh header); empty when the server has none.
  std::string caller;
  // The call's `traceparent` metadata as received; empty when absent. Recorded with its trace and
  // span ids only when it is well-formed.
  std::string traceparent;
  // Required.
  const evaluate::v1::EvaluateCodeRequest* request = nullptr;
  // The request's input when it was read from its bytes (common/wire_struct.h) and not parsed into
  // `request`; null: the input is `request->input()`.
  const WireStruct* wire_input = nullptr;
  // Exactly one of `response` (the evaluation succeeded) and `error` is set.
  const evaluate::v1::EvaluateCodeResponse* response = nullptr;
  const evaluate::v1::EvaluationError* error = nullptr;
};

// The record as one line of JSON (no trailing newline), keys in this order:
//   schema, decision_id, time (RFC 3339, UTC, µs), caller, labels, traceparent / trace_id /
//   span_id (when well-formed), code_sha256 (of the request's code, always present: the
//   evaluator's hash, or hashed here when the call failed before it had one), connectors,
//   limits (as requested), input (masked by `mask`), masked (the paths masked), outcome ("OK" or
//   the ErrorInfo reason), result and decision (success), error {reason, message, field, line,
//   column, stack} (failure), logs, connector_calls (responses included, for replay), usage.
// Every field is written, defaults included, under its proto field name; enums by name, 64-bit
// integers as numbers, durations and timestamps as in the protobuf JSON mapping ("0.000125s",
// RFC 3339). Input numbers that are NaN or infinite (possible in a binary request) become null.
// The keys of labels and of every object in input, result and connector calls are sorted.
// @return kInvalidArgument if `request` is null or not exactly one of response / error is set.
absl::StatusOr<std::string> DecisionRecordToJson(const DecisionRecord& record,
                                                 const InputMask& mask);

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_DECISION_RECORD_H_
