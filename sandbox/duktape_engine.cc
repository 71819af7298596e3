#include "sandbox/duktape_engine.h"

#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "sandbox/console.h"
#include "sandbox/duktape_heap.h"
#include "sandbox/thrown_error.h"
#include "sandbox/value_bridge.h"

namespace evaluatecode::sandbox {
namespace {

// Globals a script must not reach: engine internals (Duktape.act/fin/dec/Thread/info can inspect
// and resurrect objects), CBOR (buffer forging) and the loaders and printers of Duktape's extras.
constexpr const char* kRemovedGlobals[] = {"Duktape", "CBOR", "require", "print", "alert"};

// Everything one run needs, reached from the safe-call callback through its udata. Lives in
// Evaluate()'s frame, outside any Duktape call.
struct Run {
  const CompiledScript* script = nullptr;
  const EvaluationRequest* request = nullptr;
  Console* console = nullptr;
  ValueBridge* bridge = nullptr;
  google::protobuf::Value* result = nullptr;
  bool result_invalid = false;
};

duk_ret_t PrepareAndRun(duk_context* ctx, void* udata) {
  Run* run = static_cast<Run*>(udata);
  for (const char* name : kRemovedGlobals) {
    duk_push_global_object(ctx);
    duk_del_prop_string(ctx, -1, name);
    duk_pop(ctx);
  }
  run->console->Install(ctx);

  void* buffer = duk_push_fixed_buffer(ctx, run->script->bytecode.size());
  std::memcpy(buffer, run->script->bytecode.data(), run->script->bytecode.size());
  duk_load_function(ctx);
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

class DuktapeEngine final : public Engine {
 public:
  explicit DuktapeEngine(const TimeSource& time_source) : time_source_(time_source) {}

  // Engine
  absl::StatusOr<EvaluationResult> Evaluate(const CompiledScript& script,
                                            const EvaluationRequest& request) const override {
    EvaluationResult out;
    const absl::Time start = time_source_.Now();
    absl::StatusOr<std::unique_ptr<DuktapeHeap>> heap =
        DuktapeHeap::Create(request.limits.memory_bytes, time_source_);
    if (!heap.ok()) {
      // A cap too small for even an empty heap is the script's limit, not our failure.
      if (absl::IsResourceExhausted(heap.status())) {
        out.error = ScriptError{ScriptError::Kind::kMemoryLimit,
                                absl::StrCat("memory limit of ", request.limits.memory_bytes,
                                             " bytes is too small for a script heap")};
        return out;
      }
      return heap.status();
    }

    Console console(request.limits.max_log_bytes, time_source_);
    ValueBridge bridge;
    Run run{&script, &request, &console, &bridge, &out.result};
    duk_context* ctx = (*heap)->context();
    (*heap)->Arm(request.deadline, request.cancellation);
    const duk_int_t status = duk_safe_call(ctx, PrepareAndRun, &run, 0, 1);
    if (status != DUK_EXEC_SUCCESS) {
      out.error = DescribeFailure(**heap, script);
    } else if (run.result_invalid) {
      out.error = ScriptError{ScriptError::Kind::kResultInvalid, bridge.invalid_reason()};
    }
    (*heap)->Disarm();
    if (out.error.has_value()) out.result.Clear();
    out.logs = console.TakeEntries();
    out.peak_heap_bytes = (*heap)->peak_bytes();
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
      return ScriptError{ScriptError::Kind::kMemoryLimit,
                         "the script reached its memory limit"};
    }
    ThrownError thrown = ReadThrownError(heap.context());
    ScriptError error{ScriptError::Kind::kRuntimeError, std::move(thrown.message)};
    error.line = std::min(thrown.line, script.source_lines);
    error.stack = std::move(thrown.stack);
    return error;
  }

  const TimeSource& time_source_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> NewDuktapeEngine(const EngineOptions& options) {
  if (options.time_source == nullptr) {
    return absl::InvalidArgumentError("EngineOptions.time_source is required");
  }
  return std::make_unique<DuktapeEngine>(*options.time_source);
}

}  // namespace evaluatecode::sandbox
