#include "service/evaluator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "service/decision.h"
#include "service/error_status.h"

namespace evaluatecode::service {
namespace {

using evaluate::v1::EvaluationError;
using google::protobuf::util::TimeUtil;

google::protobuf::Duration ToProto(absl::Duration duration) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(duration));
}

evaluate::v1::LogEntry::Level ToProto(sandbox::LogEntry::Level level) {
  switch (level) {
    case sandbox::LogEntry::Level::kLog:
      return evaluate::v1::LogEntry::LOG;
    case sandbox::LogEntry::Level::kInfo:
      return evaluate::v1::LogEntry::INFO;
    case sandbox::LogEntry::Level::kWarn:
      return evaluate::v1::LogEntry::WARN;
    case sandbox::LogEntry::Level::kError:
      return evaluate::v1::LogEntry::ERROR;
  }
  return evaluate::v1::LogEntry::LEVEL_UNSPECIFIED;
}

void AppendLogs(const std::vector<sandbox::LogEntry>& logs,
                google::protobuf::RepeatedPtrField<evaluate::v1::LogEntry>* out) {
  for (const sandbox::LogEntry& entry : logs) {
    evaluate::v1::LogEntry* log = out->Add();
    log->set_level(ToProto(entry.level));
    log->set_message(entry.message);
    *log->mutable_time() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(entry.time));
  }
}

// The API's reason (and message) for what the script did.
EvaluationError ToError(const sandbox::ScriptError& script_error, const CallContext& call,
                        const ResolvedLimits& limits) {
  using Kind = sandbox::ScriptError::Kind;
  switch (script_error.kind) {
    case Kind::kRuntimeError: {
      EvaluationError error = NewError(evaluate::v1::SCRIPT_RUNTIME_ERROR, script_error.message);
      error.set_line(script_error.line);
      error.set_column(script_error.column);
      error.set_stack(script_error.stack);
      return error;
    }
    case Kind::kTimeout:
      return NewError(evaluate::v1::SCRIPT_TIMEOUT,
                      call.deadline < call.received + limits.timeout
                          ? "the script was stopped at the call's gRPC deadline"
                          : absl::StrCat("the script was stopped at its timeout of ",
                                         absl::ToInt64Milliseconds(limits.timeout), " ms"));
    case Kind::kMemoryLimit:
      return NewError(evaluate::v1::SCRIPT_MEMORY_LIMIT,
                      absl::StrCat("the script reached its memory limit of ",
                                   limits.engine.memory_bytes, " bytes"));
    case Kind::kResultInvalid:
      return NewError(evaluate::v1::SCRIPT_RESULT_INVALID, script_error.message);
    case Kind::kCancelled:
      if (call.cancellation != nullptr &&
          call.cancellation->cause() == CancellationCause::kServerShutdown) {
        return NewError(evaluate::v1::SERVER_SHUTTING_DOWN,
                        "the server is shutting down and stopped this evaluation; retry elsewhere");
      }
      return NewError(evaluate::v1::EVALUATION_CANCELLED, "the caller cancelled the evaluation");
  }
  return NewError(evaluate::v1::INTERNAL_ERROR, "unknown script error kind");
}

}  // namespace

std::optional<EvaluationError> Evaluator::Evaluate(
    const evaluate::v1::EvaluateCodeRequest& request, const ResolvedLimits& limits,
    const CallContext& call, evaluate::v1::EvaluateCodeResponse* response) const {
  response->set_decision_id(call.decision_id);
  evaluate::v1::Usage usage;
  std::optional<EvaluationError> error = CompileAndRun(request, limits, call, response, &usage);
  *usage.mutable_wall_time() = ToProto(time_source_.Now() - call.received);
  if (!error.has_value()) {
    *response->mutable_usage() = std::move(usage);
    return std::nullopt;
  }
  if (error->logs().empty()) *error->mutable_logs() = std::move(*response->mutable_logs());
  *error->mutable_usage() = std::move(usage);
  error->set_decision_id(call.decision_id);
  error->set_code_sha256(response->code_sha256());
  return error;
}

std::optional<EvaluationError> Evaluator::CompileAndRun(
    const evaluate::v1::EvaluateCodeRequest& request, const ResolvedLimits& limits,
    const CallContext& call, evaluate::v1::EvaluateCodeResponse* response,
    evaluate::v1::Usage* usage) const {
  absl::StatusOr<sandbox::CacheLookup> lookup = cache_.GetOrCompile(request.code());
  if (!lookup.ok()) {
    return NewError(evaluate::v1::INTERNAL_ERROR,
                    absl::StrCat("compiling failed: ", lookup.status().ToString()));
  }
  response->set_code_sha256(lookup->code_sha256);
  usage->set_compile_cache_hit(lookup->cache_hit);
  const sandbox::CompileResult& compiled = *lookup->compiled;
  if (!compiled.ok()) {
    const sandbox::Diagnostic& first = compiled.diagnostics.front();
    EvaluationError error = NewError(evaluate::v1::SCRIPT_SYNTAX_ERROR, first.message);
    error.set_line(first.line);
    error.set_column(first.column);
    return error;
  }

  sandbox::EvaluationRequest run;
  run.input = &request.input();
  run.limits = limits.engine;
  run.deadline = std::min(call.received + limits.timeout, call.deadline);
  run.cancellation = call.cancellation;
  absl::StatusOr<sandbox::EvaluationResult> result = engine_.Evaluate(*compiled.script, run);
  if (!result.ok()) {
    return NewError(evaluate::v1::INTERNAL_ERROR,
                    absl::StrCat("the script engine failed: ", result.status().ToString()));
  }
  *usage->mutable_engine_time() = ToProto(result->engine_time);
  usage->set_peak_heap_bytes(result->peak_heap_bytes);
  if (result->error.has_value()) {
    EvaluationError error = ToError(*result->error, call, limits);
    AppendLogs(result->logs, error.mutable_logs());
    return error;
  }
  AppendLogs(result->logs, response->mutable_logs());
  std::optional<evaluate::v1::Decision> decision;
  std::optional<EvaluationError> error = ExtractDecision(result->result, &decision);
  if (decision.has_value()) *response->mutable_decision() = *std::move(decision);
  *response->mutable_result() = std::move(result->result);
  return error;
}

std::optional<EvaluationError> Evaluator::Compile(const evaluate::v1::CompileCodeRequest& request,
                                                  evaluate::v1::CompileCodeResponse* response) const {
  absl::StatusOr<sandbox::CacheLookup> lookup = cache_.GetOrCompile(request.code());
  if (!lookup.ok()) {
    return NewError(evaluate::v1::INTERNAL_ERROR,
                    absl::StrCat("compiling failed: ", lookup.status().ToString()));
  }
  response->set_code_sha256(lookup->code_sha256);
  response->set_cache_hit(lookup->cache_hit);
  response->set_valid(lookup->compiled->ok());
  for (const sandbox::Diagnostic& diagnostic : lookup->compiled->diagnostics) {
    evaluate::v1::Diagnostic* out = response->add_diagnostics();
    out->set_severity(diagnostic.severity == sandbox::Diagnostic::Severity::kError
                          ? evaluate::v1::Diagnostic::ERROR
                          : evaluate::v1::Diagnostic::WARNING);
    out->set_message(diagnostic.message);
    out->set_line(diagnostic.line);
    out->set_column(diagnostic.column);
  }
  return std::nullopt;
}

}  // namespace evaluatecode::service
