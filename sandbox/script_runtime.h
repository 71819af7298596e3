#ifndef EVALUATECODE_SANDBOX_SCRIPT_RUNTIME_H_
#define EVALUATECODE_SANDBOX_SCRIPT_RUNTIME_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace evaluatecode::sandbox {

// The JavaScript the service runs besides scripts, from the npm packages tools/setup installs:
// core-js (ES2015–2020 built-ins: Promise, Map, Set, WeakMap, Array.from, Object.entries, …) for
// evaluation heaps, and TypeScript's compiler for the transpile heap. Read once, before a worker
// locks itself down (it cannot open files afterwards). Immutable once loaded.
struct ScriptRuntime {
  std::string core_js;
  std::string typescript;
  // core_js compiled once by this process (Duktape bytecode): every evaluation heap with the
  // runtime loads it instead of parsing the source again, about a third of the heap's set-up.
  std::string core_js_bytecode;
};

// Where the files are: in the running binary's Bazel runfiles (the @npm repository), or under
// <prefix>/share/evaluatecode/ for a binary installed as <prefix>/bin/evaluate_server.
struct ScriptRuntimePaths {
  std::string core_js;
  std::string typescript;
};
ScriptRuntimePaths DefaultScriptRuntimePaths();

// Reads both files and compiles core-js. kNotFound naming the missing file (run tools/setup, or
// set the config keys); kInvalidArgument when core-js does not compile.
absl::StatusOr<std::shared_ptr<const ScriptRuntime>> LoadScriptRuntime(
    const ScriptRuntimePaths& paths);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_SCRIPT_RUNTIME_H_
