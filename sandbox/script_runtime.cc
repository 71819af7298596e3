#include "sandbox/script_runtime.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace evaluatecode::sandbox {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, " (installed by tools/setup)"));
  }
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

ScriptRuntimePaths DefaultScriptRuntimePaths() {
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  const std::string exe(self, length > 0 ? length : 0);
  // Bazel's runfiles next to the binary, else an installed layout: <prefix>/bin/evaluate_server
  // with the files under <prefix>/share/evaluatecode/ (as the container image has them).
  const std::string candidates[] = {
      absl::StrCat(exe, ".runfiles/npm/"),
      absl::StrCat(exe.substr(0, exe.rfind('/')), "/../share/evaluatecode/"),
  };
  for (const std::string& root : candidates) {
    ScriptRuntimePaths paths{root + "core-js-bundle/minified.js",
                             root + "typescript/lib/typescript.js"};
    if (access(paths.core_js.c_str(), R_OK) == 0 && access(paths.typescript.c_str(), R_OK) == 0) {
      return paths;
    }
  }
  return {candidates[0] + "core-js-bundle/minified.js", candidates[0] + "typescript/lib/typescript.js"};
}

absl::StatusOr<std::shared_ptr<const ScriptRuntime>> LoadScriptRuntime(
    const ScriptRuntimePaths& paths) {
  auto runtime = std::make_shared<ScriptRuntime>();
  absl::StatusOr<std::string> core_js = ReadFile(paths.core_js);
  if (!core_js.ok()) return core_js.status();
  absl::StatusOr<std::string> typescript = ReadFile(paths.typescript);
  if (!typescript.ok()) return typescript.status();
  runtime->core_js = *std::move(core_js);
  runtime->typescript = *std::move(typescript);
  return runtime;
}

}  // namespace evaluatecode::sandbox
