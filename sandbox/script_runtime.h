#ifndef EVALUATECODE_SANDBOX_SCRIPT_RUNTIME_H_
#define EVALUATECODE_SANDBOX_SCRIPT_RUNTIME_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "duktape.h"

namespace evaluatecode::sandbox {

// The JavaScript the service runs besides scripts, from the npm packages tools/setup installs:
// core-js (ES2015–2020 built-ins: Promise, Map, Set, WeakMap, Array.from, Object.entries, …) for
// evaluation heaps, and TypeScript's compiler for the transpile heap. Read once, before a worker
// locks itself down (it cannot open files afterwards). Immutable once loaded.
struct ScriptRuntime {
  // core-js compiled once by this process (Duktape bytecode): every evaluation heap with the
  // runtime loads it instead of parsing the source again, about a third of the heap's set-up.
  std::string core_js_bytecode;
  // TypeScript's compiler: its source, compiled when the transpiler loads (≈ 0.9 s), or bytecode
  // the supervisor compiled once for its workers (ScriptRuntimePaths::typescript_bytecode).
  std::string typescript;
  std::string typescript_bytecode;
  // TypeScript's declarations of the built-ins scripts have (ES2020, no DOM): file name → text,
  // lib.es5.d.ts and lib.es2015*…lib.es2020*.d.ts, for type checks.
  std::map<std::string, std::string> typescript_libs;
};

// Where the files are: in the running binary's Bazel runfiles (the @npm repository), or under
// <prefix>/share/evaluatecode/ for a binary installed as <prefix>/bin/evaluate_server.
struct ScriptRuntimePaths {
  std::string core_js;
  std::string typescript;
  // When not -1, TypeScript's compiler is read from this inherited SharedBytecode instead.
  int typescript_bytecode_fd = -1;
};
ScriptRuntimePaths DefaultScriptRuntimePaths();

// Reads both files, and the library declarations beside typescript.js, and compiles core-js.
// kNotFound naming the missing file (run tools/setup, or set the config keys); kInvalidArgument
// when core-js does not compile.
absl::StatusOr<std::shared_ptr<const ScriptRuntime>> LoadScriptRuntime(
    const ScriptRuntimePaths& paths);

// Compiles a trusted program (core-js, TypeScript) to bytecode that RunBytecode runs in any heap
// of this build. kInvalidArgument naming `name` when it does not compile.
absl::StatusOr<std::string> CompileProgramToBytecode(const std::string& source, const char* name);

// [...] → [...]: loads `bytecode` (from CompileProgramToBytecode) and runs it as a program; throws
// into `ctx` like duk_call. Bytecode is only ever what this process or its supervisor compiled.
void RunBytecode(duk_context* ctx, const std::string& bytecode);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_SCRIPT_RUNTIME_H_
