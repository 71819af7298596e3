#ifndef EVALUATECODE_SANDBOX_WARM_HEAP_H_
#define EVALUATECODE_SANDBOX_WARM_HEAP_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/time_source.h"
#include "sandbox/compiled_script.h"
#include "sandbox/connector_host.h"
#include "sandbox/connectors_binding.h"
#include "sandbox/console.h"
#include "sandbox/duktape_heap.h"

namespace evaluatecode::sandbox {

// A Duktape heap prepared once and reused for many evaluations without letting one see another.
//
// Preparation strips the globals a script must not reach, installs `console`, and then deep-freezes
// everything reachable from the global object (the global object itself, every built-in, prototype,
// function and accessor), so that no evaluation can leave state behind: it cannot add globals,
// patch a prototype or stash a closure in a built-in. Scripts run in strict mode, so such attempts
// throw instead of failing silently. What a script creates is reachable only from its own call and
// is garbage once the call returns. Loaded script functions are cached per heap, frozen too.
//
// A heap in which anything went wrong (a throw, timeout, memory cap, invalid result, cancellation)
// must be discarded, never reused: its state is not trusted any more. A suspension (the script
// stopped at a connector call, EvaluationResult::suspended) is not such a failure: it stops the
// script the way a thrown error does, all of which is garbage once the call returns, and the jobs
// it left queued are dropped (DropJobs). Thread-compatible.
class WarmHeap {
 public:
  // Creates and prepares a heap with a `connectors` object for `catalog` and, when
  // `core_js_bytecode` (ScriptRuntime::core_js_bytecode) is not null, the ES2015+ runtime (core-js,
  // with a job queue the host drains). `time_source` must outlive it.
  static absl::StatusOr<std::unique_ptr<WarmHeap>> Create(
      const TimeSource& time_source, const std::vector<ConnectorCatalogEntry>& catalog = {},
      const std::string* core_js_bytecode = nullptr);

  bool has_runtime() const { return has_runtime_; }

  // Runs queued promise jobs until none is left. Call inside duk_safe_call; jobs may throw.
  void DrainJobs();
  // Forgets queued promise jobs and timers without running them. Call inside duk_safe_call.
  void DropJobs();

  // If the value on top of the stack is a thenable, waits for it by draining jobs and replaces it
  // with its value; a rejection is thrown; returns false (value left as is) when it stays pending.
  // Call inside duk_safe_call, only on heaps with the runtime.
  bool SettleTop();

  DuktapeHeap& heap() { return *heap_; }
  duk_context* context() { return heap_->context(); }

  // Bytes the prepared heap held before its first evaluation.
  size_t baseline_bytes() const { return baseline_bytes_; }
  int uses() const { return uses_; }

  // Makes `console` write to `console` and `connectors` call `host` with `scratch` for the next
  // evaluation (all may be null to detach). Call inside duk_safe_call.
  void Bind(Console* console, ConnectorHost* host, ConnectorCallScratch* scratch);

  // Pushes the frozen function for `script`, loading and freezing it on first use in this heap.
  // Call inside duk_safe_call.
  void PushScriptFunction(const CompiledScript& script, const std::string& cache_key);

  // Counts one evaluation; after a success, collects garbage when the heap has grown by more than
  // `gc_threshold_bytes` over its baseline.
  void FinishUse(size_t gc_threshold_bytes);

 private:
  explicit WarmHeap(std::unique_ptr<DuktapeHeap> heap) : heap_(std::move(heap)) {}
  void CallJobQueue(bool drop);

  std::unique_ptr<DuktapeHeap> heap_;
  size_t baseline_bytes_ = 0;
  int uses_ = 0;
  bool has_runtime_ = false;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_WARM_HEAP_H_
