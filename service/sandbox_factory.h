#ifndef EVALUATECODE_SERVICE_SANDBOX_FACTORY_H_
#define EVALUATECODE_SERVICE_SANDBOX_FACTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/time_source.h"
#include "sandbox/shared_bytecode.h"
#include "connectors/connector_gateway.h"
#include "sandbox/connector_host.h"
#include "sandbox/sandbox.h"
#include "sandbox/worker_sandbox.h"
#include "service/config.h"
#include "service/script_api.h"

namespace evaluatecode::service {

// TypeScript's compiler compiled once, for the worker processes of `config` to load instead of
// compiling it each (≈ 0.9 s per worker start); null with isolation: in_process.
absl::StatusOr<std::unique_ptr<sandbox::SharedBytecode>> CompileRuntimeForWorkers(
    const ServerConfig& config);

// The sandbox `config` asks for (evaluator.isolation): supervised worker processes, or this
// process's own heaps, giving scripts `api` and the script runtime loaded from the config's paths
// (workers: TypeScript from `typescript_bytecode` when not null). `time_source`, `observer` (may
// be null) and `typescript_bytecode` must outlive the sandbox.
absl::StatusOr<std::unique_ptr<sandbox::Sandbox>> NewSandbox(
    const ServerConfig& config, const ScriptApi& api, const TimeSource& time_source,
    sandbox::WorkerObserver* observer,
    const sandbox::SharedBytecode* typescript_bytecode = nullptr);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_SANDBOX_FACTORY_H_
