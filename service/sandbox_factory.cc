#include "service/sandbox_factory.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "common/cpu_affinity.h"
#include "common/usable_cpus.h"
#include "sandbox/in_process_sandbox.h"
#include "service/worker_mode.h"

namespace evaluatecode::service {
namespace {

// evaluator.workers, with 0 resolved: one per thread, at most one per CPU the server may use.
int WorkerCount(const ServerConfig& config) {
  if (config.evaluator_workers > 0) return config.evaluator_workers;
  return std::min(config.evaluator_threads, UsableCpuCount());
}

}  // namespace

absl::StatusOr<std::unique_ptr<sandbox::SharedBytecode>> CompileRuntimeForWorkers(
    const ServerConfig& config) {
  if (config.isolation == "in_process") return nullptr;
  absl::StatusOr<std::shared_ptr<const sandbox::ScriptRuntime>> runtime =
      sandbox::LoadScriptRuntime(RuntimePaths(config));
  if (!runtime.ok()) return runtime.status();
  absl::StatusOr<std::string> bytecode =
      sandbox::CompileProgramToBytecode((*runtime)->typescript, "typescript.js");
  if (!bytecode.ok()) return bytecode.status();
  return sandbox::SharedBytecode::Create(*bytecode);
}

absl::StatusOr<std::unique_ptr<sandbox::Sandbox>> NewSandbox(
    const ServerConfig& config, const ScriptApi& api, const TimeSource& time_source,
    sandbox::WorkerObserver* observer, const sandbox::SharedBytecode* typescript_bytecode) {
  if (config.isolation == "in_process") {
    absl::StatusOr<std::shared_ptr<const sandbox::ScriptRuntime>> runtime =
        sandbox::LoadScriptRuntime(RuntimePaths(config));
    if (!runtime.ok()) return runtime.status();
    sandbox::InProcessSandboxOptions options;
    options.engine.runtime = *std::move(runtime);
    options.compiler.timeout = config.compile_timeout;
    options.compiler.memory_bytes = config.compile_memory_bytes;
    options.compile_cache_entries = config.compile_cache_entries;
    options.engine.time_source = &time_source;
    options.engine.connectors = api.catalog;
    options.script_api_declarations = api.declarations;
    // Load the TypeScript compiler before any evaluation needs it: its ~1 s must not count
    // against an evaluation's timeout.
    options.preload_transpiler = true;
    return sandbox::NewInProcessSandbox(options);
  }
  sandbox::WorkerSandboxOptions options;
  options.worker_binary = config.worker_binary;
  if (options.worker_binary.empty()) {
    char path[4096];
    const ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (length <= 0) return absl::InternalError("cannot find this program's own path");
    options.worker_binary.assign(path, static_cast<size_t>(length));
  }
  options.worker_args = WorkerArguments(config, api, typescript_bytecode != nullptr);
  if (typescript_bytecode != nullptr) options.inherited_fd = typescript_bytecode->fd();
  options.retire_after_cpu = config.worker_cpu_limit * 0.9;
  options.workers = WorkerCount(config);
  if (config.pin_workers) {
    absl::StatusOr<std::vector<int>> cpus = AllowedCpus();
    if (!cpus.ok()) return cpus.status();
    options.cpus = *std::move(cpus);
  }
  options.kill_grace = config.worker_kill_grace;
  options.write_ahead_patience = config.write_ahead_patience;
  options.time_source = &time_source;
  options.observer = observer;
  absl::StatusOr<std::unique_ptr<sandbox::WorkerSandbox>> workers =
      sandbox::NewWorkerSandbox(options);
  if (!workers.ok()) return workers.status();
  return std::unique_ptr<sandbox::Sandbox>(*std::move(workers));
}

}  // namespace evaluatecode::service
