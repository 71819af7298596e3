#include "sandbox/in_process_sandbox.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "sandbox/duktape_compiler.h"
#include "sandbox/script_cache.h"

namespace evaluatecode::sandbox {
namespace {

class InProcessSandbox final : public Sandbox {
 public:
  InProcessSandbox(std::unique_ptr<Transpiler> transpiler, std::unique_ptr<Compiler> compiler,
                   size_t cache_entries, std::unique_ptr<Engine> engine)
      : transpiler_(std::move(transpiler)),
        compiler_(std::move(compiler)),
        cache_(*compiler_, cache_entries),
        engine_(std::move(engine)) {}

  // Sandbox
  absl::StatusOr<SandboxResult> Evaluate(const SandboxRequest& request) override {
    SandboxResult result;
    // A run cancelled before it starts (its Cancel overtook it to a worker, or it was taken back
    // from a busy one) compiles nothing and takes no heap: a compile can take tens of
    // milliseconds, and a heap where a run stopped is discarded and paid for again by the next.
    if (request.cancellation != nullptr && request.cancellation->IsCancelled()) {
      result.compile.code_sha256 = request.code_sha256;
      result.evaluation.error = ScriptError::Cancelled();
      return result;
    }
    absl::StatusOr<std::shared_ptr<const CompileResult>> compiled =
        CompileInto(request.source, request.code_sha256, &result.compile);
    if (!compiled.ok()) return compiled.status();
    if (!(*compiled)->ok()) return result;

    EvaluationRequest run;
    // Input bytes alone are read as a WireStruct when they read plainly (a worker's input always
    // comes so), else parsed.
    std::optional<WireStruct> wire_input;
    google::protobuf::Struct parsed_input;
    run.input = request.input;
    if (run.input == nullptr && request.serialized_input != nullptr) {
      wire_input = WireStruct::Read(*request.serialized_input);
      if (wire_input.has_value()) {
        run.wire_input = &*wire_input;
      } else if (parsed_input.ParseFromString(*request.serialized_input)) {
        run.input = &parsed_input;
      } else {
        return absl::InvalidArgumentError("the evaluation's input does not parse as a Struct");
      }
    }
    run.limits = request.limits;
    run.deadline = request.deadline;
    run.cancellation = request.cancellation;
    run.partition = request.partition;
    run.connector_host = request.connector_host;
    run.clock = request.clock;
    run.random_seed = request.random_seed;
    absl::StatusOr<EvaluationResult> evaluation = engine_->Evaluate(*(*compiled)->script, run);
    if (!evaluation.ok()) return evaluation.status();
    result.evaluation = *std::move(evaluation);
    return result;
  }

  absl::StatusOr<CompileOutcome> Compile(const std::string& source,
                                         TypeCheck type_check) override {
    CompileOutcome outcome;
    absl::StatusOr<std::shared_ptr<const CompileResult>> compiled =
        CompileInto(source, /*code_sha256=*/{}, &outcome);
    if (!compiled.ok()) return compiled.status();
    // Only a source the transpiler lowered can be TypeScript; one that does not compile has its
    // errors to fix first.
    if (type_check == TypeCheck::kSkip || !(*compiled)->ok() ||
        (*compiled)->script->original_lines.empty()) {
      return outcome;
    }
    absl::StatusOr<std::vector<Diagnostic>> warnings = transpiler_->CheckTypes(source);
    if (!warnings.ok()) return warnings.status();
    outcome.diagnostics.insert(outcome.diagnostics.end(), warnings->begin(), warnings->end());
    return outcome;
  }

 private:
  absl::StatusOr<std::shared_ptr<const CompileResult>> CompileInto(const std::string& source,
                                                                  absl::string_view code_sha256,
                                                                  CompileOutcome* outcome) {
    absl::StatusOr<CacheLookup> lookup = cache_.GetOrCompile(source, code_sha256);
    if (!lookup.ok()) return lookup.status();
    outcome->code_sha256 = lookup->code_sha256;
    outcome->cache_hit = lookup->cache_hit;
    outcome->diagnostics = lookup->compiled->diagnostics;
    return lookup->compiled;
  }

  std::unique_ptr<Transpiler> transpiler_;
  std::unique_ptr<Compiler> compiler_;
  ScriptCache cache_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sandbox>> NewInProcessSandbox(
    const InProcessSandboxOptions& options) {
  if (options.engine.time_source == nullptr) {
    return absl::InvalidArgumentError("InProcessSandboxOptions.engine.time_source is required");
  }
  absl::StatusOr<std::unique_ptr<Engine>> engine = NewDuktapeEngine(options.engine);
  if (!engine.ok()) return engine.status();
  std::unique_ptr<Transpiler> transpiler;
  if (options.engine.runtime != nullptr) {
    TranspilerOptions transpiler_options;
    transpiler_options.runtime = options.engine.runtime;
    transpiler_options.time_source = options.engine.time_source;
    transpiler_options.timeout = options.compiler.timeout;
    transpiler_options.declarations = options.script_api_declarations;
    transpiler = NewTypeScriptTranspiler(transpiler_options);
    if (options.preload_transpiler) {
      absl::Status loaded = transpiler->Load();
      if (!loaded.ok()) return loaded;
    }
  }
  std::unique_ptr<Compiler> compiler =
      NewDuktapeCompiler(options.compiler, *options.engine.time_source, transpiler.get());
  return std::make_unique<InProcessSandbox>(std::move(transpiler), std::move(compiler),
                                            options.compile_cache_entries, *std::move(engine));
}

}  // namespace evaluatecode::sandbox
