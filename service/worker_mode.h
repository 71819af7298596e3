#ifndef EVALUATECODE_SERVICE_WORKER_MODE_H_
#define EVALUATECODE_SERVICE_WORKER_MODE_H_

#include <optional>
#include <string>
#include <vector>

#include "sandbox/connector_host.h"
#include "sandbox/script_runtime.h"
#include "service/config.h"
#include "service/script_api.h"

namespace evaluatecode::service {

// The server binary doubles as its own sandbox worker: the supervisor starts it again with these
// arguments (never fork() a process that runs gRPC threads). Both directions live here so that the
// flags the supervisor passes and the flags the worker reads cannot drift apart.

// The arguments a worker for `config` is started with; scripts in it are given `api`. With
// `shared_typescript`, the worker reads TypeScript's compiler from the SharedBytecode it inherits
// (sandbox::kWorkerInheritedFd) instead of compiling it.
std::vector<std::string> WorkerArguments(const ServerConfig& config, const ScriptApi& api,
                                         bool shared_typescript);

// Where the script runtime's files are for `config` (its keys, else the binary's runfiles).
sandbox::ScriptRuntimePaths RuntimePaths(const ServerConfig& config);

// When this process was started as a worker (after absl::ParseCommandLine), runs it and returns
// its exit code; otherwise nullopt.
std::optional<int> MaybeRunAsSandboxWorker();

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_WORKER_MODE_H_
