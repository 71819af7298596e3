#include "service/evaluator.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/await_callback.h"
#include "google/protobuf/util/time_util.h"
#include "service/decision.h"
#include "service/recorded_connector_gateway.h"
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
    case Kind::kConnectorError: {
      EvaluationError error = NewError(evaluate::v1::ERROR_REASON_UNSPECIFIED, script_error.message);
      error.set_reason(script_error.connector_reason);
      error.set_line(script_error.line);
      error.set_stack(script_error.stack);
      return error;
    }
    case Kind::kUnsettledPromise:
      return NewError(evaluate::v1::SCRIPT_UNSETTLED_PROMISE, script_error.message);
    case Kind::kCrashed:
      return NewError(evaluate::v1::SANDBOX_CRASHED, script_error.message);
    case Kind::kQuarantined:
      return NewError(evaluate::v1::SCRIPT_QUARANTINED, script_error.message);
    case Kind::kNoWorker:
      // Not the script's fault: it may not even have started (or waits to run again after a
      // connector call), as when it waits in the evaluator queue past its deadline.
      return NewError(evaluate::v1::SERVER_OVERLOADED,
                      absl::StrCat(script_error.message, "; retry with backoff"));
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

// What the sandbox's answer means for the caller: the response (nullopt) or the error.
std::optional<EvaluationError> Interpret(absl::StatusOr<sandbox::SandboxResult> result,
                                         const CallContext& call, const ResolvedLimits& limits,
                                         evaluate::v1::EvaluateCodeResponse* response,
                                         evaluate::v1::Usage* usage) {
  if (!result.ok()) {
    return NewError(evaluate::v1::INTERNAL_ERROR,
                    absl::StrCat("the sandbox failed: ", result.status().ToString()));
  }
  response->set_code_sha256(result->compile.code_sha256);
  usage->set_compile_cache_hit(result->compile.cache_hit);
  if (!result->compile.compiled()) {
    const sandbox::Diagnostic& first = result->compile.diagnostics.front();
    EvaluationError error = NewError(evaluate::v1::SCRIPT_SYNTAX_ERROR, first.message);
    error.set_line(first.line);
    error.set_column(first.column);
    return error;
  }

  sandbox::EvaluationResult& evaluation = result->evaluation;
  *usage->mutable_engine_time() = ToProto(evaluation.engine_time);
  usage->set_peak_heap_bytes(evaluation.peak_heap_bytes);
  if (evaluation.error.has_value()) {
    EvaluationError error = ToError(*evaluation.error, call, limits);
    AppendLogs(evaluation.logs, error.mutable_logs());
    return error;
  }
  AppendLogs(evaluation.logs, response->mutable_logs());
  std::optional<evaluate::v1::Decision> decision;
  std::optional<EvaluationError> error = ExtractDecision(evaluation.result, &decision);
  if (decision.has_value()) *response->mutable_decision() = *std::move(decision);
  *response->mutable_result() = std::move(evaluation.result);
  return error;
}

}  // namespace

absl::Time EvaluationDeadline(const CallContext& call, const ResolvedLimits& limits) {
  return std::min(call.received + limits.timeout, call.deadline);
}

// One evaluation between its start and the sandbox's answer.
struct Evaluator::Running {
  Running(const ResolvedLimits& limits, const CallContext& call,
          evaluate::v1::EvaluateCodeResponse* response, EvaluationDone done)
      : limits(limits), call(call), response(response), done(std::move(done)) {}

  const ResolvedLimits limits;
  const CallContext call;
  evaluate::v1::EvaluateCodeResponse* const response;
  EvaluationDone done;
  uint64_t random_seed = 0;
  // Replays answer vendor calls from the recording and never touch the network.
  std::optional<RecordedConnectorGateway> replay;
  std::optional<GatewayConnectorHost> connector_host;
};

void Evaluator::EvaluateAsync(const evaluate::v1::EvaluateCodeRequest& request,
                              const ResolvedLimits& limits, const CallContext& call,
                              evaluate::v1::EvaluateCodeResponse* response,
                              EvaluationDone done) const {
  auto running = std::make_unique<Running>(limits, call, response, std::move(done));
  response->set_decision_id(call.decision_id);
  // The script's world: recorded in the answer so the evaluation can be replayed.
  const absl::Time clock =
      request.has_now()
          ? absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(request.now()))
          : call.received;
  running->random_seed = request.random_seed() != 0 ? request.random_seed() : call.random_seed;
  *response->mutable_evaluation_time() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(clock));
  response->set_random_seed(running->random_seed);
  if (request.has_replay()) {
    running->replay.emplace(std::vector<evaluate::v1::ConnectorCall>(
        request.replay().connector_calls().begin(), request.replay().connector_calls().end()));
  }
  const auto tenant = request.labels().find("tenant");
  const absl::Time deadline = EvaluationDeadline(call, limits);
  running->connector_host.emplace(
      running->replay.has_value() ? static_cast<connectors::ConnectorGateway&>(*running->replay)
                                  : gateway_,
      tenant != request.labels().end() ? tenant->second : "",
      std::vector<std::string>{request.connectors().begin(), request.connectors().end()},
      deadline, limits.max_connector_calls, response->mutable_connector_calls(), metrics_,
      call.answers);

  sandbox::SandboxRequest run;
  run.clock = clock;
  run.random_seed = running->random_seed;
  run.source = request.code();
  // Without the parsed input, the sandbox reads the bytes.
  run.input = call.wire_input != nullptr ? nullptr : &request.input();
  run.serialized_input = call.serialized_input;
  run.limits = limits.engine;
  run.deadline = deadline;
  run.cancellation = call.cancellation;
  if (tenant != request.labels().end()) run.partition = tenant->second;
  run.connector_host = &*running->connector_host;
  sandbox_.EvaluateAsync(
      run, [this, running = std::move(running)](absl::StatusOr<sandbox::SandboxResult> result) {
        std::optional<EvaluationError> error = Conclude(*running, std::move(result));
        std::move(running->done)(std::move(error));
      });
}

std::optional<EvaluationError> Evaluator::Evaluate(
    const evaluate::v1::EvaluateCodeRequest& request, const ResolvedLimits& limits,
    const CallContext& call, evaluate::v1::EvaluateCodeResponse* response) const {
  return AwaitCallback<std::optional<EvaluationError>>([&](EvaluationDone done) {
    EvaluateAsync(request, limits, call, response, std::move(done));
  });
}

std::optional<EvaluationError> Evaluator::Conclude(
    Running& running, absl::StatusOr<sandbox::SandboxResult> result) const {
  const CallContext& call = running.call;
  evaluate::v1::EvaluateCodeResponse* response = running.response;
  evaluate::v1::Usage usage;
  std::optional<EvaluationError> error = Interpret(std::move(result), call, running.limits,
                                                   response, &usage);
  usage.set_connector_calls(static_cast<uint32_t>(response->connector_calls_size()));
  if (error.has_value()) {
    error->mutable_connector_calls()->Swap(response->mutable_connector_calls());
  }
  const absl::Duration wall_time = time_source_.Now() - call.received;
  *usage.mutable_wall_time() = ToProto(wall_time);
  if (metrics_ != nullptr) {
    metrics_->RecordEvaluation(
        error.has_value() ? error->reason() : "OK", wall_time,
        absl::Nanoseconds(google::protobuf::util::TimeUtil::DurationToNanoseconds(
            usage.engine_time())),
        usage.peak_heap_bytes(), usage.compile_cache_hit());
  }
  if (!error.has_value()) {
    *response->mutable_usage() = std::move(usage);
    return std::nullopt;
  }
  if (error->logs().empty()) *error->mutable_logs() = std::move(*response->mutable_logs());
  *error->mutable_usage() = std::move(usage);
  error->set_decision_id(call.decision_id);
  error->set_code_sha256(response->code_sha256());
  *error->mutable_evaluation_time() = response->evaluation_time();
  error->set_random_seed(running.random_seed);
  return error;
}

void Evaluator::CompileAsync(const evaluate::v1::CompileCodeRequest& request,
                             evaluate::v1::CompileCodeResponse* response,
                             EvaluationDone done) const {
  sandbox_.CompileAsync(
      request.code(),
      request.skip_type_check() ? sandbox::TypeCheck::kSkip : sandbox::TypeCheck::kRun,
      [this, response,
       done = std::move(done)](absl::StatusOr<sandbox::CompileOutcome> outcome) mutable {
        if (!outcome.ok()) {
          return std::move(done)(
              NewError(evaluate::v1::INTERNAL_ERROR,
                       absl::StrCat("compiling failed: ", outcome.status().ToString())));
        }
        response->set_code_sha256(outcome->code_sha256);
        response->set_cache_hit(outcome->cache_hit);
        if (metrics_ != nullptr) metrics_->RecordCompileCache(outcome->cache_hit);
        response->set_valid(outcome->compiled());
        for (const sandbox::Diagnostic& diagnostic : outcome->diagnostics) {
          evaluate::v1::Diagnostic* out = response->add_diagnostics();
          out->set_severity(diagnostic.severity == sandbox::Diagnostic::Severity::kError
                                ? evaluate::v1::Diagnostic::ERROR
                                : evaluate::v1::Diagnostic::WARNING);
          out->set_message(diagnostic.message);
          out->set_line(diagnostic.line);
          out->set_column(diagnostic.column);
        }
        std::move(done)(std::nullopt);
      });
}

std::optional<EvaluationError> Evaluator::Compile(const evaluate::v1::CompileCodeRequest& request,
                                                  evaluate::v1::CompileCodeResponse* response) const {
  return AwaitCallback<std::optional<EvaluationError>>(
      [&](EvaluationDone done) { CompileAsync(request, response, std::move(done)); });
}

}  // namespace evaluatecode::service
