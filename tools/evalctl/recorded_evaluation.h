#ifndef EVALUATECODE_TOOLS_EVALCTL_RECORDED_EVALUATION_H_
#define EVALUATECODE_TOOLS_EVALCTL_RECORDED_EVALUATION_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "evaluate/v1/evaluate.pb.h"

namespace evaluatecode::evalctl {

// Reads one recorded evaluation from a line of JSON: either a RecordedEvaluation as the Backtest
// RPC takes it ({"recordId", "request", "response" | "error"}), or a decision record as the
// decision log writes it (schema evaluatecode.decision_record.v1). A decision record holds the
// code's hash, not the code, and its input as masked when recorded.
absl::StatusOr<evaluate::v1::RecordedEvaluation> ParseRecordedEvaluation(absl::string_view json);

}  // namespace evaluatecode::evalctl

#endif  // EVALUATECODE_TOOLS_EVALCTL_RECORDED_EVALUATION_H_
