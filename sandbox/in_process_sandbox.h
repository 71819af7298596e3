#ifndef EVALUATECODE_SANDBOX_IN_PROCESS_SANDBOX_H_
#define EVALUATECODE_SANDBOX_IN_PROCESS_SANDBOX_H_

#include <memory>
#include <string>

#include "common/time_source.h"
#include "sandbox/compiler.h"
#include "sandbox/duktape_engine.h"
#include "sandbox/sandbox.h"

namespace evaluatecode::sandbox {

struct InProcessSandboxOptions {
  CompilerOptions compiler;
  // engine.time_source is required; with engine.runtime set, modern JavaScript and TypeScript are
  // transpiled (by TypeScript's compiler, from the same runtime) and get the ES2015+ built-ins.
  EngineOptions engine;
  size_t compile_cache_entries = 1024;
  // Load TypeScript's compiler now (about a second) instead of on the first compile.
  bool preload_transpiler = false;
  // TypeScript declarations of the script API, which Compile's type check assumes
  // (TranspilerOptions::declarations).
  std::string script_api_declarations;
};

// Compiles through a ScriptCache and runs in this process's Duktape heaps: what a worker process
// runs inside, and what the CLI and unit tests use directly. Compile (CompileCode) also checks the
// types of a TypeScript source that compiled, as warnings; Evaluate never spends time on types.
// Thread-safe.
absl::StatusOr<std::unique_ptr<Sandbox>> NewInProcessSandbox(const InProcessSandboxOptions& options);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_IN_PROCESS_SANDBOX_H_
