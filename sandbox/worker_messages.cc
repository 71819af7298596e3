#include "sandbox/worker_messages.h"

#include <utility>

namespace evaluatecode::sandbox {
namespace {

// A reply to request `id`, carrying `status` when it is a failure.
ipc::FromWorker ReplyTo(uint64_t id, const absl::Status& status) {
  ipc::FromWorker reply;
  reply.set_id(id);
  if (!status.ok()) {
    reply.set_failure_code(static_cast<int>(status.code()));
    reply.set_failure_message(std::string(status.message()));
  }
  return reply;
}

}  // namespace

ipc::EvaluateRequest ToMessage(const SandboxRequest& request) {
  ipc::EvaluateRequest message;
  message.set_source(request.source);
  message.set_code_sha256(request.code_sha256);
  if (request.serialized_input != nullptr) {
    message.set_input(*request.serialized_input);
  } else if (request.input != nullptr) {
    request.input->SerializeToString(message.mutable_input());
  }
  message.mutable_limits()->set_memory_bytes(request.limits.memory_bytes);
  message.mutable_limits()->set_max_log_bytes(request.limits.max_log_bytes);
  message.mutable_limits()->set_max_output_bytes(request.limits.max_output_bytes);
  message.set_deadline_unix_nanos(request.deadline == absl::InfiniteFuture()
                                      ? INT64_MAX
                                      : absl::ToUnixNanos(request.deadline));
  message.set_partition(request.partition);
  message.set_clock_unix_nanos(request.clock == absl::InfiniteFuture()
                                   ? INT64_MAX
                                   : absl::ToUnixNanos(request.clock));
  message.set_random_seed(request.random_seed);
  return message;
}

SandboxRequest FromMessage(const ipc::EvaluateRequest& message) {
  SandboxRequest request;
  request.source = message.source();
  request.code_sha256 = message.code_sha256();
  request.serialized_input = &message.input();
  request.limits.memory_bytes = message.limits().memory_bytes();
  request.limits.max_log_bytes = message.limits().max_log_bytes();
  request.limits.max_output_bytes = message.limits().max_output_bytes();
  request.deadline = message.deadline_unix_nanos() == INT64_MAX
                         ? absl::InfiniteFuture()
                         : absl::FromUnixNanos(message.deadline_unix_nanos());
  request.partition = message.partition();
  request.clock = message.clock_unix_nanos() == INT64_MAX
                      ? absl::InfiniteFuture()
                      : absl::FromUnixNanos(message.clock_unix_nanos());
  request.random_seed = message.random_seed();
  return request;
}

ipc::CompileOutcome ToMessage(const CompileOutcome& outcome) {
  ipc::CompileOutcome message;
  message.set_code_sha256(outcome.code_sha256);
  message.set_cache_hit(outcome.cache_hit);
  for (const Diagnostic& diagnostic : outcome.diagnostics) {
    ipc::Diagnostic* out = message.add_diagnostics();
    out->set_error(diagnostic.severity == Diagnostic::Severity::kError);
    out->set_message(diagnostic.message);
    out->set_line(diagnostic.line);
    out->set_column(diagnostic.column);
  }
  return message;
}

CompileOutcome FromMessage(const ipc::CompileOutcome& message) {
  CompileOutcome outcome;
  outcome.code_sha256 = message.code_sha256();
  outcome.cache_hit = message.cache_hit();
  for (const ipc::Diagnostic& in : message.diagnostics()) {
    outcome.diagnostics.push_back(Diagnostic{
        in.error() ? Diagnostic::Severity::kError : Diagnostic::Severity::kWarning, in.message(),
        in.line(), in.column()});
  }
  return outcome;
}

ipc::EvaluationResult ToMessage(const EvaluationResult& result) {
  ipc::EvaluationResult message;
  *message.mutable_result() = result.result;
  if (result.error.has_value()) {
    ipc::ScriptError* error = message.mutable_error();
    error->set_kind(static_cast<int>(result.error->kind));
    error->set_message(result.error->message);
    error->set_line(result.error->line);
    error->set_column(result.error->column);
    error->set_stack(result.error->stack);
    error->set_connector_reason(result.error->connector_reason);
  }
  for (const LogEntry& entry : result.logs) {
    ipc::LogEntry* log = message.add_logs();
    log->set_level(static_cast<int>(entry.level));
    log->set_message(entry.message);
    log->set_time_unix_nanos(absl::ToUnixNanos(entry.time));
  }
  message.set_engine_time_nanos(absl::ToInt64Nanoseconds(result.engine_time));
  message.set_peak_heap_bytes(result.peak_heap_bytes);
  message.set_reused_heap(result.reused_heap);
  message.set_suspended(result.suspended);
  return message;
}

EvaluationResult FromMessage(const ipc::EvaluationResult& message) {
  EvaluationResult result;
  result.result = message.result();
  if (message.has_error()) {
    const ipc::ScriptError& in = message.error();
    ScriptError error{static_cast<ScriptError::Kind>(in.kind()), in.message()};
    error.line = in.line();
    error.column = in.column();
    error.stack = in.stack();
    error.connector_reason = in.connector_reason();
    result.error = std::move(error);
  }
  for (const ipc::LogEntry& in : message.logs()) {
    result.logs.push_back(LogEntry{static_cast<LogEntry::Level>(in.level()), in.message(),
                                   absl::FromUnixNanos(in.time_unix_nanos())});
  }
  result.engine_time = absl::Nanoseconds(message.engine_time_nanos());
  result.peak_heap_bytes = message.peak_heap_bytes();
  result.reused_heap = message.reused_heap();
  result.suspended = message.suspended();
  return result;
}

ipc::ConnectorReply ToMessage(ConnectorCallOutcome outcome) {
  ipc::ConnectorReply message;
  message.set_error_reason(std::move(outcome.error_reason));
  message.set_message(std::move(outcome.message));
  message.set_http_status(outcome.http_status);
  if (outcome.kept_body_bytes != nullptr) {
    message.set_body(*outcome.kept_body_bytes);
  } else {
    (outcome.kept_body != nullptr ? *outcome.kept_body : outcome.body)
        .SerializeToString(message.mutable_body());
  }
  return message;
}

ConnectorCallOutcome FromMessage(const ipc::ConnectorReply& message) {
  ConnectorCallOutcome outcome{message.error_reason(), message.message(), message.http_status()};
  // The supervisor serialized a Value nested at most kMaxJsonDepth deep, well within protobuf's
  // recursion limit; anything else would be a broken channel, and reads as no body.
  if (!outcome.body.ParseFromString(message.body())) outcome.body.Clear();
  return outcome;
}

ipc::FromWorker ToReply(uint64_t id, const absl::StatusOr<CompileOutcome>& outcome) {
  ipc::FromWorker reply = ReplyTo(id, outcome.status());
  if (outcome.ok()) *reply.mutable_compile() = ToMessage(*outcome);
  return reply;
}

ipc::FromWorker ToReply(uint64_t id, const absl::StatusOr<SandboxResult>& result) {
  ipc::FromWorker reply = ReplyTo(id, result.status());
  if (result.ok()) {
    *reply.mutable_compile() = ToMessage(result->compile);
    *reply.mutable_evaluation() = ToMessage(result->evaluation);
  }
  return reply;
}

}  // namespace evaluatecode::sandbox
