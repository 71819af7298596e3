#ifndef EVALUATECODE_SANDBOX_DUKTAPE_ENGINE_H_
#define EVALUATECODE_SANDBOX_DUKTAPE_ENGINE_H_

#include <memory>

#include "common/time_source.h"
#include "sandbox/engine.h"

namespace evaluatecode::sandbox {

struct EngineOptions {
  // Reads deadlines and log times. Not owned; must outlive the engine.
  const TimeSource* time_source = nullptr;
};

// An Engine that runs each evaluation in a fresh Duktape heap of its own, capped at the request's
// memory limit and stopped at its deadline.
absl::StatusOr<std::unique_ptr<Engine>> NewDuktapeEngine(const EngineOptions& options);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_DUKTAPE_ENGINE_H_
