#ifndef EVALUATECODE_SANDBOX_DUKTAPE_ENGINE_H_
#define EVALUATECODE_SANDBOX_DUKTAPE_ENGINE_H_

#include <memory>
#include <vector>

#include "common/time_source.h"
#include "sandbox/connector_host.h"
#include "sandbox/engine.h"
#include "sandbox/heap_pool.h"
#include "sandbox/script_runtime.h"

namespace evaluatecode::sandbox {

struct EngineOptions {
  // Reads deadlines and log times. Not owned; must outlive the engine.
  const TimeSource* time_source = nullptr;
  // Reuse prepared, frozen heaps across the successful evaluations of one partition (see WarmHeap);
  // false prepares a new heap for every evaluation (the same isolation, at a fresh heap's cost).
  bool reuse_heaps = true;
  HeapPool::Options pool;
  // After a success, a warm heap that grew by more than this over its baseline is collected.
  size_t gc_threshold_bytes = 1 << 20;
  // The connectors scripts see as `connectors.<name>.<operation>`.
  std::vector<ConnectorCatalogEntry> connectors;
  // The ES2015+ runtime for scripts that need it (CompiledScript::needs_runtime); may be null.
  std::shared_ptr<const ScriptRuntime> runtime;
};

// An Engine that runs each evaluation in a prepared Duktape heap (strict mode, frozen built-ins and
// global object, no engine internals), capped at the request's memory limit and stopped at its
// deadline. A heap in which anything went wrong is destroyed, never reused.
absl::StatusOr<std::unique_ptr<Engine>> NewDuktapeEngine(const EngineOptions& options);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_DUKTAPE_ENGINE_H_
