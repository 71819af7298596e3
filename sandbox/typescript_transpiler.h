#ifndef EVALUATECODE_SANDBOX_TYPESCRIPT_TRANSPILER_H_
#define EVALUATECODE_SANDBOX_TYPESCRIPT_TRANSPILER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/time_source.h"
#include "sandbox/diagnostic.h"
#include "sandbox/script_runtime.h"

namespace evaluatecode::sandbox {

// A script body lowered to ECMAScript 5.
struct TranspileOutput {
  // ES5 statements defining `__script(input)` (an async function: it returns a promise) and the
  // helpers it needs. Empty when `diagnostics` has an error.
  std::string javascript;
  // 1-based line of `javascript` → 1-based line of the author's source (0 = no source line).
  std::vector<int> original_lines;
  // Syntax errors at the author's own line and column.
  std::vector<Diagnostic> diagnostics;
};

// Lowers modern JavaScript and TypeScript (ES2015–2022 syntax, type annotations, interfaces,
// generics, enums, classes with private fields, async/await, top-level await and return) to ES5
// with TypeScript 4.9's compiler, running inside a Duktape heap of its own. Transpiling is per
// file and reports syntax errors only; CheckTypes runs the type checker on request. Thread-safe
// (calls are serialized: one compiler heap).
class Transpiler {
 public:
  virtual ~Transpiler() = default;
  // A non-OK Status only when our machinery fails (the compiler could not be loaded); a source
  // that does not parse, or takes longer than the budget, is diagnostics.
  virtual absl::StatusOr<TranspileOutput> Transpile(absl::string_view source) = 0;

  // Type errors in `source` as warnings at the author's line and column, checked against the
  // ES2020 built-ins and TranspilerOptions::declarations; none for a source without TypeScript
  // syntax (plain JavaScript is not type checked). A check that cannot finish is one warning
  // saying so: types never decide whether a script runs. The first call on a TypeScript source
  // loads the declarations (≈ 2 s, within load_timeout); later ones take ≈ 60 ms for a small
  // script.
  virtual absl::StatusOr<std::vector<Diagnostic>> CheckTypes(absl::string_view source) = 0;

  // Loads the compiler now rather than on first use (about a second), e.g. while a worker starts.
  virtual absl::Status Load() = 0;
};

struct TranspilerOptions {
  // Required; must outlive the transpiler.
  std::shared_ptr<const ScriptRuntime> runtime;
  const TimeSource* time_source = nullptr;
  // Budget of one transpile (the source is untrusted).
  absl::Duration timeout = absl::Seconds(2);
  // Budget of loading the compiler (once, on first use).
  absl::Duration load_timeout = absl::Seconds(30);
  // Cap on the compiler heap.
  size_t memory_bytes = size_t{512} << 20;
  // TypeScript declarations of what scripts are given (`input`, `console`, `connectors`), which
  // CheckTypes assumes (the service writes them from its connector config).
  std::string declarations;
};

std::unique_ptr<Transpiler> NewTypeScriptTranspiler(const TranspilerOptions& options);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_TYPESCRIPT_TRANSPILER_H_
