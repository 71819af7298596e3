#include "service/error_status.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace evaluatecode::service {

using evaluate::v1::ErrorReason;

evaluate::v1::EvaluationError NewError(ErrorReason reason, std::string message) {
  evaluate::v1::EvaluationError error;
  error.set_reason(evaluate::v1::ErrorReason_Name(reason));
  error.set_message(std::move(message));
  return error;
}

grpc::StatusCode CodeForReason(ErrorReason reason) {
  switch (reason) {
    case evaluate::v1::INVALID_REQUEST:
    case evaluate::v1::SCRIPT_SYNTAX_ERROR:
    case evaluate::v1::SCRIPT_RUNTIME_ERROR:
    case evaluate::v1::SCRIPT_RESULT_INVALID:
    case evaluate::v1::SCRIPT_UNSETTLED_PROMISE:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case evaluate::v1::SCRIPT_TIMEOUT:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case evaluate::v1::SCRIPT_MEMORY_LIMIT:
    case evaluate::v1::SERVER_OVERLOADED:
    case evaluate::v1::QUOTA_EXCEEDED:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case evaluate::v1::SERVER_SHUTTING_DOWN:
    case evaluate::v1::DECISION_LOG_UNAVAILABLE:
      return grpc::StatusCode::UNAVAILABLE;
    case evaluate::v1::EVALUATION_CANCELLED:
      return grpc::StatusCode::CANCELLED;
    case evaluate::v1::SANDBOX_CRASHED:
      return grpc::StatusCode::ABORTED;
    case evaluate::v1::SCRIPT_QUARANTINED:
    case evaluate::v1::REPLAY_MISSING_RECORDING:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case evaluate::v1::CALLER_UNAUTHENTICATED:
      return grpc::StatusCode::UNAUTHENTICATED;
    case evaluate::v1::CALLER_NOT_AUTHORIZED:
    case evaluate::v1::CONNECTOR_NOT_ALLOWED:
    case evaluate::v1::EGRESS_DENIED:
      return grpc::StatusCode::PERMISSION_DENIED;
    case evaluate::v1::CONNECTOR_TIMEOUT:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case evaluate::v1::CONNECTOR_UNAVAILABLE:
    case evaluate::v1::VENDOR_ERROR:
      return grpc::StatusCode::UNAVAILABLE;
    case evaluate::v1::INVALID_PARAMS:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case evaluate::v1::RESPONSE_TOO_LARGE:
    case evaluate::v1::CONNECTOR_CALL_LIMIT:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    default:
      return grpc::StatusCode::INTERNAL;
  }
}

grpc::Status ToGrpcStatus(const evaluate::v1::EvaluationError& error) {
  ErrorReason reason = evaluate::v1::INTERNAL_ERROR;
  evaluate::v1::ErrorReason_Parse(error.reason(), &reason);

  std::string message = absl::StrCat(error.reason(), ": ", error.message());
  google::rpc::ErrorInfo info;
  info.set_reason(error.reason());
  info.set_domain("evaluate.v1");
  auto& metadata = *info.mutable_metadata();
  if (!error.field().empty()) {
    metadata["field"] = error.field();
    absl::StrAppend(&message, " (field ", error.field(), ")");
  }
  if (error.line() > 0) {
    metadata["line"] = absl::StrCat(error.line());
    absl::StrAppend(&message, " (line ", error.line());
    if (error.column() > 0) {
      metadata["column"] = absl::StrCat(error.column());
      absl::StrAppend(&message, ", column ", error.column());
    }
    absl::StrAppend(&message, ")");
  }
  if (!error.decision_id().empty()) metadata["decision_id"] = error.decision_id();

  google::rpc::Status status;
  status.set_code(static_cast<int>(CodeForReason(reason)));
  status.set_message(message);
  status.add_details()->PackFrom(info);
  status.add_details()->PackFrom(error);
  return grpc::Status(CodeForReason(reason), message, status.SerializeAsString());
}

}  // namespace evaluatecode::service
