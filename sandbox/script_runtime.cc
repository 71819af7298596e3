#include "sandbox/script_runtime.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "duktape.h"
#include "sandbox/shared_bytecode.h"

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

// The declarations of what core-js gives scripts: ES2020's built-ins, without the DOM (.full.).
bool DeclaresScriptBuiltIns(const std::string& name) {
  if (!absl::EndsWith(name, ".d.ts") || absl::StrContains(name, ".full.")) return false;
  if (absl::StartsWith(name, "lib.es5.")) return true;
  for (int year = 2015; year <= 2020; ++year) {
    if (absl::StartsWith(name, absl::StrCat("lib.es", year, "."))) return true;
  }
  return false;
}

absl::StatusOr<std::map<std::string, std::string>> ReadTypeScriptLibs(
    const std::string& typescript_js) {
  const std::filesystem::path directory = std::filesystem::path(typescript_js).parent_path();
  std::map<std::string, std::string> libs;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (!DeclaresScriptBuiltIns(name)) continue;
    absl::StatusOr<std::string> text = ReadFile(entry.path().string());
    if (!text.ok()) return text.status();
    libs.emplace(name, *std::move(text));
  }
  if (libs.count("lib.es2020.d.ts") == 0) {
    return absl::NotFoundError(absl::StrCat(
        "cannot read ", (directory / "lib.es2020.d.ts").string(), " (installed by tools/setup)"));
  }
  return libs;
}

struct CompileCall {
  const std::string* source;
  const char* name;
};

duk_ret_t CompileAndDump(duk_context* ctx, void* udata) {
  const auto* call = static_cast<const CompileCall*>(udata);
  duk_push_string(ctx, call->name);
  // As a program: it runs with the global object as `this`, like the source would.
  duk_compile_lstring_filename(ctx, 0, call->source->data(), call->source->size());
  duk_dump_function(ctx);
  return 1;
}

}  // namespace

ScriptRuntimePaths DefaultScriptRuntimePaths() {
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  const std::string exe(self, length > 0 ? length : 0);
  // Bazel's runfiles: those of whoever started us (a test's tree holds the binary's data too), then
  // the binary's own tree (Bazel may not have built it yet when a test starts the binary); else an
  // installed layout: <prefix>/bin/evaluate_server with the files under
  // <prefix>/share/evaluatecode/ (as the container image has them).
  const char* runfiles_dir = std::getenv("RUNFILES_DIR");
  const char* test_srcdir = std::getenv("TEST_SRCDIR");
  const std::string candidates[] = {
      runfiles_dir != nullptr ? absl::StrCat(runfiles_dir, "/npm/") : "",
      test_srcdir != nullptr ? absl::StrCat(test_srcdir, "/npm/") : "",
      absl::StrCat(exe, ".runfiles/npm/"),
      absl::StrCat(exe.substr(0, exe.rfind('/')), "/../share/evaluatecode/"),
  };
  for (const std::string& root : candidates) {
    if (root.empty()) continue;
    ScriptRuntimePaths paths{root + "core-js-bundle/minified.js",
                             root + "typescript/lib/typescript.js"};
    if (access(paths.core_js.c_str(), R_OK) == 0 && access(paths.typescript.c_str(), R_OK) == 0) {
      return paths;
    }
  }
  return {candidates[2] + "core-js-bundle/minified.js", candidates[2] + "typescript/lib/typescript.js"};
}

absl::StatusOr<std::string> CompileProgramToBytecode(const std::string& source, const char* name) {
  duk_context* ctx = duk_create_heap_default();
  if (ctx == nullptr) return absl::ResourceExhaustedError("cannot create a Duktape heap");
  std::string bytecode;
  absl::Status status;
  CompileCall call{&source, name};
  if (duk_safe_call(ctx, CompileAndDump, &call, 0, 1) == DUK_EXEC_SUCCESS) {
    duk_size_t size = 0;
    const void* data = duk_get_buffer_data(ctx, -1, &size);
    bytecode.assign(static_cast<const char*>(data), size);
  } else {
    status = absl::InvalidArgumentError(
        absl::StrCat(name, " does not compile: ", duk_safe_to_string(ctx, -1)));
  }
  duk_destroy_heap(ctx);
  if (!status.ok()) return status;
  return bytecode;
}

void RunBytecode(duk_context* ctx, const std::string& bytecode) {
  void* buffer = duk_push_fixed_buffer(ctx, bytecode.size());
  std::memcpy(buffer, bytecode.data(), bytecode.size());
  duk_load_function(ctx);
  duk_call(ctx, 0);
  duk_pop(ctx);
}

absl::StatusOr<std::shared_ptr<const ScriptRuntime>> LoadScriptRuntime(
    const ScriptRuntimePaths& paths) {
  auto runtime = std::make_shared<ScriptRuntime>();
  absl::StatusOr<std::string> core_js = ReadFile(paths.core_js);
  if (!core_js.ok()) return core_js.status();
  absl::StatusOr<std::string> bytecode = CompileProgramToBytecode(*core_js, "core-js");
  if (!bytecode.ok()) {
    return absl::Status(bytecode.status().code(),
                        absl::StrCat(paths.core_js, ": ", bytecode.status().message()));
  }
  runtime->core_js_bytecode = *std::move(bytecode);
  const bool shared = paths.typescript_bytecode_fd >= 0;
  absl::StatusOr<std::string> typescript = shared
                                               ? ReadSharedBytecode(paths.typescript_bytecode_fd)
                                               : ReadFile(paths.typescript);
  if (!typescript.ok()) return typescript.status();
  (shared ? runtime->typescript_bytecode : runtime->typescript) = *std::move(typescript);
  absl::StatusOr<std::map<std::string, std::string>> libs = ReadTypeScriptLibs(paths.typescript);
  if (!libs.ok()) return libs.status();
  runtime->typescript_libs = *std::move(libs);
  return runtime;
}

}  // namespace evaluatecode::sandbox
