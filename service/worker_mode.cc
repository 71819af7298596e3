#include "service/worker_mode.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/time_source.h"
#include "sandbox/sandbox_worker.h"
#include "sandbox/worker_sandbox.h"

ABSL_FLAG(bool, sandbox_worker, false,
          "Internal: run as a sandbox worker on file descriptors 3 and 5.");
ABSL_FLAG(uint64_t, sandbox_worker_address_space_bytes, uint64_t{4} << 30,
          "Internal: RLIMIT_AS of a sandbox worker.");
ABSL_FLAG(int64_t, sandbox_worker_compile_timeout_ms, 2000, "Internal: compile budget.");
ABSL_FLAG(uint64_t, sandbox_worker_cpu_limit_s, 0, "Internal: RLIMIT_CPU in seconds (0: none).");
ABSL_FLAG(uint64_t, sandbox_worker_compile_memory_bytes, 64 << 20, "Internal: compile heap cap.");
ABSL_FLAG(uint64_t, sandbox_worker_cache_entries, 1024, "Internal: compile cache entries.");
ABSL_FLAG(std::string, sandbox_worker_core_js, "", "Internal: path of core-js-bundle's minified.js.");
ABSL_FLAG(std::string, sandbox_worker_typescript_js, "", "Internal: path of typescript.js.");
ABSL_FLAG(int, sandbox_worker_typescript_bytecode_fd, -1,
          "Internal: descriptor of typescript.js compiled by the supervisor (-1: compile it).");
ABSL_FLAG(std::string, sandbox_worker_connectors, "",
          "Internal: the connector catalog, as name:type=operation,operation;….");
ABSL_FLAG(std::string, sandbox_worker_declarations, "",
          "Internal: TypeScript declarations of the script API, for type checks.");

namespace evaluatecode::service {

namespace {

// Connector, type and operation names are identifiers (the connector config checks them), so ':',
// '=', ',' and ';' cannot occur in them: name:type=operation,operation;…
std::string EncodeCatalog(const std::vector<sandbox::ConnectorCatalogEntry>& catalog) {
  std::vector<std::string> entries;
  for (const sandbox::ConnectorCatalogEntry& entry : catalog) {
    entries.push_back(absl::StrCat(entry.name, ":", entry.type, "=",
                                   absl::StrJoin(entry.operations, ",")));
  }
  return absl::StrJoin(entries, ";");
}

std::vector<sandbox::ConnectorCatalogEntry> DecodeCatalog(absl::string_view text) {
  std::vector<sandbox::ConnectorCatalogEntry> catalog;
  for (absl::string_view entry : absl::StrSplit(text, ';', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(entry, '=');
    std::pair<absl::string_view, absl::string_view> name_and_type =
        absl::StrSplit(parts.first, ':');
    sandbox::ConnectorCatalogEntry decoded;
    decoded.name = std::string(name_and_type.first);
    decoded.type = std::string(name_and_type.second);
    for (absl::string_view operation : absl::StrSplit(parts.second, ',', absl::SkipEmpty())) {
      decoded.operations.emplace_back(operation);
    }
    catalog.push_back(std::move(decoded));
  }
  return catalog;
}

}  // namespace

sandbox::ScriptRuntimePaths RuntimePaths(const ServerConfig& config) {
  sandbox::ScriptRuntimePaths paths = sandbox::DefaultScriptRuntimePaths();
  if (!config.core_js_path.empty()) paths.core_js = config.core_js_path;
  if (!config.typescript_js_path.empty()) paths.typescript = config.typescript_js_path;
  return paths;
}

std::vector<std::string> WorkerArguments(const ServerConfig& config, const ScriptApi& api,
                                         bool shared_typescript) {
  const sandbox::ScriptRuntimePaths paths = RuntimePaths(config);
  return {
      absl::StrCat("--sandbox_worker_core_js=", paths.core_js),
      absl::StrCat("--sandbox_worker_typescript_js=", paths.typescript),
      absl::StrCat("--sandbox_worker_typescript_bytecode_fd=",
                   shared_typescript ? sandbox::kWorkerInheritedFd : -1),
      absl::StrCat("--sandbox_worker_connectors=", EncodeCatalog(api.catalog)),
      absl::StrCat("--sandbox_worker_declarations=", api.declarations),
      "--sandbox_worker",
      absl::StrCat("--sandbox_worker_address_space_bytes=", config.worker_address_space_bytes),
      absl::StrCat("--sandbox_worker_cpu_limit_s=",
                   absl::ToInt64Seconds(absl::Ceil(config.worker_cpu_limit, absl::Seconds(1)))),
      absl::StrCat("--sandbox_worker_compile_timeout_ms=",
                   absl::ToInt64Milliseconds(config.compile_timeout)),
      absl::StrCat("--sandbox_worker_compile_memory_bytes=", config.compile_memory_bytes),
      absl::StrCat("--sandbox_worker_cache_entries=", config.compile_cache_entries),
  };
}

std::optional<int> MaybeRunAsSandboxWorker() {
  if (!absl::GetFlag(FLAGS_sandbox_worker)) return std::nullopt;
  RealTimeSource time_source;
  sandbox::SandboxWorkerOptions options;
  options.fd = sandbox::kWorkerChannelFd;
  options.cancel_fd = sandbox::kWorkerCancelFd;
  options.address_space_bytes = absl::GetFlag(FLAGS_sandbox_worker_address_space_bytes);
  options.cpu_limit_seconds = absl::GetFlag(FLAGS_sandbox_worker_cpu_limit_s);
  options.sandbox.compiler.timeout =
      absl::Milliseconds(absl::GetFlag(FLAGS_sandbox_worker_compile_timeout_ms));
  options.sandbox.compiler.memory_bytes = absl::GetFlag(FLAGS_sandbox_worker_compile_memory_bytes);
  options.sandbox.compile_cache_entries = absl::GetFlag(FLAGS_sandbox_worker_cache_entries);
  options.sandbox.engine.time_source = &time_source;
  // Read now: once locked down, the worker cannot open files.
  sandbox::ScriptRuntimePaths paths = sandbox::DefaultScriptRuntimePaths();
  if (const std::string core_js = absl::GetFlag(FLAGS_sandbox_worker_core_js); !core_js.empty()) {
    paths.core_js = core_js;
  }
  if (const std::string typescript = absl::GetFlag(FLAGS_sandbox_worker_typescript_js);
      !typescript.empty()) {
    paths.typescript = typescript;
  }
  paths.typescript_bytecode_fd = absl::GetFlag(FLAGS_sandbox_worker_typescript_bytecode_fd);
  absl::StatusOr<std::shared_ptr<const sandbox::ScriptRuntime>> runtime =
      sandbox::LoadScriptRuntime(paths);
  if (paths.typescript_bytecode_fd >= 0) close(paths.typescript_bytecode_fd);
  if (!runtime.ok()) {
    std::fprintf(stderr, "sandbox worker: %s\n", runtime.status().ToString().c_str());
    return 2;
  }
  options.sandbox.engine.runtime = *std::move(runtime);
  // Before saying "ready": no evaluation should wait for the compiler to load.
  options.sandbox.preload_transpiler = true;
  options.sandbox.engine.connectors = DecodeCatalog(absl::GetFlag(FLAGS_sandbox_worker_connectors));
  options.sandbox.script_api_declarations = absl::GetFlag(FLAGS_sandbox_worker_declarations);
  return sandbox::RunSandboxWorker(options);
}

}  // namespace evaluatecode::service
