#ifndef EVALUATECODE_SANDBOX_WORKER_MESSAGES_H_
#define EVALUATECODE_SANDBOX_WORKER_MESSAGES_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "sandbox/sandbox.h"
#include "sandbox/worker_protocol.pb.h"

namespace evaluatecode::sandbox {

// Conversions between the sandbox's C++ types and the worker protocol's messages.

ipc::EvaluateRequest ToMessage(const SandboxRequest& request);
// The request's input stays `message`'s bytes (`serialized_input`, read by the sandbox, which
// answers kInvalidArgument when they do not parse): `message` must outlive the request.
SandboxRequest FromMessage(const ipc::EvaluateRequest& message);

ipc::CompileOutcome ToMessage(const CompileOutcome& outcome);
CompileOutcome FromMessage(const ipc::CompileOutcome& message);

ipc::EvaluationResult ToMessage(const EvaluationResult& result);
EvaluationResult FromMessage(const ipc::EvaluationResult& message);

// A connector call's answer, as the supervisor sends it with the evaluation run again.
ipc::ConnectorReply ToMessage(ConnectorCallOutcome outcome);
ConnectorCallOutcome FromMessage(const ipc::ConnectorReply& message);

// A worker's final reply to request `id`: what the compile or evaluation gave, or the failure of
// the worker's machinery.
ipc::FromWorker ToReply(uint64_t id, const absl::StatusOr<CompileOutcome>& outcome);
ipc::FromWorker ToReply(uint64_t id, const absl::StatusOr<SandboxResult>& result);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_WORKER_MESSAGES_H_
