#ifndef EVALUATECODE_SERVICE_ERROR_STATUS_H_
#define EVALUATECODE_SERVICE_ERROR_STATUS_H_

#include <string>

#include "evaluate/v1/evaluate.pb.h"
#include "grpcpp/support/status.h"

namespace evaluatecode::service {

// An EvaluationError with `reason` set to the name of `reason` and `message` as given.
evaluate::v1::EvaluationError NewError(evaluate::v1::ErrorReason reason, std::string message);

// The gRPC code the API documents for `reason` (see ErrorReason in evaluate.proto).
grpc::StatusCode CodeForReason(evaluate::v1::ErrorReason reason);

// The status a caller receives for `error`: the reason's code, a message that starts with the
// reason ("SCRIPT_TIMEOUT: …") and says where, and two details every client can read: a
// google.rpc.ErrorInfo (domain "evaluate.v1", the reason, and line/column/field metadata) and
// `error` itself.
grpc::Status ToGrpcStatus(const evaluate::v1::EvaluationError& error);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_ERROR_STATUS_H_
