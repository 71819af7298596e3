#include "sandbox/duktape_engine.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
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
};

duk_ret_t RunScript(duk_context* ctx, void* udata) {
  Run* run = static_cast<Run*>(udata);
  run->heap->Bind(run->console, run->request->connector_host, run->connector_scratch);
  run->heap->PushScriptFunction(*run->script, absl::StrCat(run->script->id));
  if (run->request->input != nullptr) {
    run->bridge->PushStruct(ctx, *run->request->input);
  } else {
    duk_push_object(ctx);
  }
  duk_call(ctx, 1);
  run->result_invalid = !run->bridge->ToProto(ctx, -1, run->request->limits.max_output_bytes,
                                              run->result);
  return 0;
}

duk_ret_t Unbind(duk_context* ctx, void* udata) {
  static_cast<WarmHeap*>(udata)->Bind(nullptr, nullptr, nullptr);
  return 0;
}

class DuktapeEngine final : public Engine {
 public:
  explicit DuktapeEngine(const EngineOptions& options)
      : options_(options),
        time_source_(*options.time_source),
        pool_(options.pool, time_source_, options.connectors) {}

  // Engine
  absl::StatusOr<EvaluationResult> Evaluate(const CompiledScript& script,
                                            const EvaluationRequest& request) const override {
    EvaluationResult out;
    const absl::Time start = time_source_.Now();
    absl::StatusOr<std::unique_ptr<WarmHeap>> heap =
        options_.reuse_heaps ? pool_.Acquire(request.partition)
                             : WarmHeap::Create(time_source_, options_.connectors);
    if (!heap.ok()) return heap.status();
    WarmHeap& warm = **heap;
    out.reused_heap = warm.uses() > 0;
    DuktapeHeap& raw = warm.heap();
    duk_context* ctx = warm.context();

    Console console(request.limits.max_log_bytes, time_source_);
    ValueBridge bridge;
    ConnectorCallScratch connector_scratch;
    Run run{&script, &request, &warm, &console, &connector_scratch, &bridge, &out.result};
    raw.set_memory_cap(request.limits.memory_bytes);
    raw.ResetCounters();
    raw.Arm(request.deadline, request.cancellation);
    const duk_int_t status = duk_safe_call(ctx, RunScript, &run, 0, 1);
    if (status != DUK_EXEC_SUCCESS) {
      out.error = DescribeFailure(raw, script);
    } else if (run.result_invalid) {
      out.error = ScriptError{ScriptError::Kind::kResultInvalid, bridge.invalid_reason()};
    }
    raw.Disarm();
    raw.set_memory_cap(std::numeric_limits<size_t>::max());
    duk_pop(ctx);
    const bool unbound = duk_safe_call(ctx, Unbind, &warm, 0, 1) == DUK_EXEC_SUCCESS;
    duk_pop(ctx);

    if (out.error.has_value()) out.result.Clear();
    out.logs = console.TakeEntries();
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
        return ScriptError{ScriptError::Kind::kCancelled, "the evaluation was cancelled"};
      case DuktapeHeap::StopCause::kNone:
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
    error.line = std::min(thrown.line, script.source_lines);
    error.stack = std::move(thrown.stack);
    return error;
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
