#include "sandbox/duktape_engine.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "sandbox/console.h"
#include "sandbox/thrown_error.h"
#include "sandbox/value_bridge.h"
#include "sandbox/warm_heap.h"

namespace evaluatecode::sandbox {
namespace {

// Everything one run needs, reached from the safe-call callback through its udata. Lives in
// Evaluate()'s frame, outside any Duktape call.
struct Run {
  const CompiledScript* script = nullptr;
  const EvaluationRequest* request = nullptr;
  WarmHeap* heap = nullptr;
  Console* console = nullptr;
  ConnectorCallScratch* connector_scratch = nullptr;
  ValueBridge* bridge = nullptr;
  google::protobuf::Value* result = nullptr;
  bool result_invalid = false;
  bool unsettled = false;
};

duk_ret_t RunScript(duk_context* ctx, void* udata) {
  Run* run = static_cast<Run*>(udata);
  run->heap->Bind(run->console, run->request->connector_host, run->connector_scratch);
  run->heap->PushScriptFunction(*run->script, absl::StrCat(run->script->id));
  if (run->request->wire_input != nullptr) {
    run->bridge->PushWireStruct(ctx, *run->request->wire_input);
  } else if (run->request->input != nullptr) {
    run->bridge->PushStruct(ctx, *run->request->input);
  } else {
    duk_push_object(ctx);
  }
  duk_call(ctx, 1);
  if (run->heap->has_runtime()) {
    // An async script returns a promise: run its jobs until it settles (a rejection is thrown).
    run->heap->DrainJobs();
    if (!run->heap->SettleTop()) {
      run->unsettled = true;
      return 0;
    }
  }
  run->result_invalid = !run->bridge->ToProto(ctx, -1, run->request->limits.max_output_bytes,
                                              run->result);
  return 0;
}

struct UnbindCall {
  WarmHeap* heap;
  // After a suspension the job queues may hold the stopped script's jobs; after a success they are
  // empty already, and after a failure the heap is discarded.
  bool drop_jobs;
};

// Detaches the evaluation from the heap.
duk_ret_t Unbind(duk_context* ctx, void* udata) {
  auto* call = static_cast<UnbindCall*>(udata);
  if (call->drop_jobs) call->heap->DropJobs();
  call->heap->Bind(nullptr, nullptr, nullptr);
  return 0;
}

class DuktapeEngine final : public Engine {
 public:
  explicit DuktapeEngine(const EngineOptions& options)
      : options_(options),
        time_source_(*options.time_source),
        pool_(options.pool, time_source_, options.connectors, options.runtime) {}

  // Engine
  absl::StatusOr<EvaluationResult> Evaluate(const CompiledScript& script,
                                            const EvaluationRequest& request) const override {
    EvaluationResult out;
    const absl::Time start = time_source_.Now();
    absl::StatusOr<std::unique_ptr<WarmHeap>> heap =
        options_.reuse_heaps ? pool_.Acquire(request.partition, script.needs_runtime)
                             : pool_.CreateHeap(script.needs_runtime);
    if (!heap.ok()) return heap.status();
    WarmHeap& warm = **heap;
    out.reused_heap = warm.uses() > 0;
    DuktapeHeap& raw = warm.heap();
    duk_context* ctx = warm.context();

    // Console entries carry the evaluation's clock too, so that a replay logs identically.
    const FixedTimeSource frozen(request.clock);
    Console console(request.limits.max_log_bytes,
                    request.clock == absl::InfiniteFuture() ? time_source_ : frozen);
    ValueBridge bridge;
    ConnectorCallScratch connector_scratch;
    Run run{&script, &request, &warm, &console, &connector_scratch, &bridge, &out.result};
    raw.set_memory_cap(request.limits.memory_bytes);
    raw.ResetCounters();
    raw.SetWorld(request.clock, request.random_seed);
    raw.Arm(request.deadline, request.cancellation, &connector_scratch.suspended);
    const duk_int_t status = duk_safe_call(ctx, RunScript, &run, 0, 1);
    if (connector_scratch.suspended) {
      // Whatever the script did after the call (caught the error, returned) does not count.
      out.suspended = true;
    } else if (status != DUK_EXEC_SUCCESS) {
      out.error = DescribeFailure(raw, script);
    } else if (run.unsettled) {
      out.error = ScriptError{ScriptError::Kind::kUnsettledPromise,
                              "the script's promise never settled: it awaits something that "
                              "nothing will ever resolve"};
    } else if (run.result_invalid) {
      out.error = ScriptError{ScriptError::Kind::kResultInvalid, bridge.invalid_reason()};
    }
    raw.Disarm();
    raw.set_memory_cap(std::numeric_limits<size_t>::max());
    duk_pop(ctx);
    UnbindCall unbind{&warm, out.suspended};
    const bool unbound = duk_safe_call(ctx, Unbind, &unbind, 0, 1) == DUK_EXEC_SUCCESS;
    duk_pop(ctx);

    if (out.error.has_value() || out.suspended) out.result.Clear();
    // A suspended run is run again from the top, which logs everything again.
    if (!out.suspended) out.logs = console.TakeEntries();
    out.peak_heap_bytes = raw.peak_bytes();
    if (options_.reuse_heaps && unbound && !out.error.has_value()) {
      warm.FinishUse(options_.gc_threshold_bytes);
      pool_.Release(request.partition, *std::move(heap));
    }
    out.engine_time = time_source_.Now() - start;
    return out;
  }

 private:
  // Classifies the error on top of the heap's stack. The hook's own stop and the memory cap come
  // first: the script may have caught the RangeError they raised and thrown something else.
  static ScriptError DescribeFailure(const DuktapeHeap& heap, const CompiledScript& script) {
    switch (heap.stop_cause()) {
      case DuktapeHeap::StopCause::kDeadline:
        return ScriptError{ScriptError::Kind::kTimeout, "the script ran past its time limit"};
      case DuktapeHeap::StopCause::kCancelled:
        return ScriptError::Cancelled();
      case DuktapeHeap::StopCause::kNone:
      case DuktapeHeap::StopCause::kSuspended:  // not a failure; Evaluate checks for it first
        break;
    }
    if (heap.memory_limit_hit()) {
      return ScriptError{ScriptError::Kind::kMemoryLimit, "the script reached its memory limit"};
    }
    ThrownError thrown = ReadThrownError(heap.context());
    ScriptError error{thrown.connector_reason.empty() ? ScriptError::Kind::kRuntimeError
                                                      : ScriptError::Kind::kConnectorError,
                      std::move(thrown.message)};
    error.connector_reason = std::move(thrown.connector_reason);
    // The innermost frame in the script is where it failed; `lineNumber` is the fallback (a value
    // thrown from native code, such as a rejection re-thrown by SettleTop, may carry none).
    const int innermost = InnermostScriptLine(thrown.stack);
    error.line = OriginalLine(script, innermost > 0 ? innermost : thrown.line);
    error.stack = OriginalStack(script, thrown.stack);
    return error;
  }

  static constexpr absl::string_view kFrameMarker = "(script:";

  // The line of the first "(script:N)" frame of `stack`, 0 if none.
  static int InnermostScriptLine(absl::string_view stack) {
    const size_t found = stack.find(kFrameMarker);
    if (found == absl::string_view::npos) return 0;
    const size_t digits = found + kFrameMarker.size();
    size_t end = digits;
    while (end < stack.size() && absl::ascii_isdigit(stack[end])) ++end;
    int line = 0;
    absl::SimpleAtoi(stack.substr(digits, end - digits), &line);
    return line;
  }

  // The author's line for a line of the compiled code (transpiled code maps through its map).
  static int OriginalLine(const CompiledScript& script, int line) {
    if (script.original_lines.empty()) return std::min(line, script.source_lines);
    if (line <= 0 || line >= static_cast<int>(script.original_lines.size())) return 0;
    return script.original_lines[line];
  }

  // The stack with each "(script:N)" frame position mapped to the author's line.
  static std::string OriginalStack(const CompiledScript& script, const std::string& stack) {
    if (script.original_lines.empty()) return stack;
    const absl::string_view text(stack);
    std::string mapped;
    size_t at = 0;
    for (size_t found; (found = text.find(kFrameMarker, at)) != absl::string_view::npos;) {
      const size_t digits = found + kFrameMarker.size();
      const absl::string_view rest = text.substr(found);
      absl::StrAppend(&mapped, text.substr(at, digits - at),
                      OriginalLine(script, InnermostScriptLine(rest)));
      at = digits;
      while (at < text.size() && absl::ascii_isdigit(text[at])) ++at;
    }
    absl::StrAppend(&mapped, text.substr(at));
    return mapped;
  }

  const EngineOptions options_;
  const TimeSource& time_source_;
  mutable HeapPool pool_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> NewDuktapeEngine(const EngineOptions& options) {
  if (options.time_source == nullptr) {
    return absl::InvalidArgumentError("EngineOptions.time_source is required");
  }
  return std::make_unique<DuktapeEngine>(options);
}

}  // namespace evaluatecode::sandbox
