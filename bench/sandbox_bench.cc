// Per-evaluation cost of the sandbox designs, side by side in one run:
//   BM_BareHeapCreateDestroy   duk_create_heap + duk_destroy_heap, nothing else (the floor of "fresh")
//   BM_Engine/fresh            a prepared (stripped, frozen) heap per evaluation
//   BM_Engine/warm             a warm heap reused per tenant (the default)
//   BM_Sandbox/in_process      compile-cache lookup + warm engine, as a worker runs it
//   BM_Sandbox/workers         the same through a supervised worker process (IPC round trip)
//   BM_RuntimeHeap/*           the ES2015+ runtime (core-js) loaded per fresh heap, or once per warm one
//   BM_FirstSightCompile/*     a compile-cache miss: ES5, or TypeScript through the transpiler
// on the reference decision script (examples/document-selfie-decision.js, clean-approve input).
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/runfiles.h"
#include "benchmark/benchmark.h"
#include "common/time_source.h"
#include "duktape.h"
#include "google/protobuf/util/json_util.h"
#include "sandbox/duktape_compiler.h"
#include "sandbox/duktape_engine.h"
#include "sandbox/in_process_sandbox.h"
#include "sandbox/script_runtime.h"
#include "sandbox/typescript_transpiler.h"
#include "sandbox/warm_heap.h"
#include "sandbox/worker_sandbox.h"

namespace evaluatecode::sandbox {
namespace {

struct Reference {
  Reference() {
    code = bench::ReadRunfile("examples/document-selfie-decision.js");
    if (!google::protobuf::util::JsonStringToMessage(
             bench::ReadRunfile("examples/inputs/clean-approve.json"), &input)
             .ok()) {
      std::abort();
    }
  }
  std::string code;
  google::protobuf::Struct input;
};

const Reference& GetReference() {
  static const Reference* reference = new Reference();
  return *reference;
}

// The script runtime from the runfiles (loaded once), or null with the benchmark skipped.
std::shared_ptr<const ScriptRuntime> RuntimeOrSkip(benchmark::State& state) {
  static const absl::StatusOr<std::shared_ptr<const ScriptRuntime>> runtime =
      LoadScriptRuntime(DefaultScriptRuntimePaths());
  if (runtime.ok()) return *runtime;
  state.SkipWithError("the script runtime is not in the runfiles");
  return nullptr;
}

// The benchmark loop: `script` on the reference input, in an engine made with `options`.
void EvaluateRepeatedly(benchmark::State& state, const EngineOptions& options,
                        const CompiledScript& script) {
  std::unique_ptr<Engine> engine = *NewDuktapeEngine(options);
  EvaluationRequest request;
  request.input = &GetReference().input;
  request.partition = "bench";
  for (auto _ : state) {
    request.deadline = options.time_source->Now() + absl::Seconds(5);
    absl::StatusOr<EvaluationResult> result = engine->Evaluate(script, request);
    if (!result.ok() || result->error.has_value()) state.SkipWithError("evaluation failed");
    benchmark::DoNotOptimize(result);
  }
}

void BM_BareHeapCreateDestroy(benchmark::State& state) {
  for (auto _ : state) {
    duk_context* ctx = duk_create_heap_default();
    duk_destroy_heap(ctx);
  }
}
BENCHMARK(BM_BareHeapCreateDestroy);

void BM_Engine(benchmark::State& state) {
  RealTimeSource time;
  const bool warm = state.range(0) == 1;
  state.SetLabel(warm ? "warm" : "fresh");
  std::unique_ptr<Compiler> compiler = NewDuktapeCompiler(CompilerOptions{}, time);
  CompileResult compiled = *compiler->Compile(GetReference().code);
  EngineOptions options{&time};
  options.reuse_heaps = warm;
  EvaluateRepeatedly(state, options, *compiled.script);
}
BENCHMARK(BM_Engine)->Arg(0)->Arg(1);

// The ES2015+ runtime's cost per heap: the reference script made to need it (it names Map, as a
// transpiled script does), run in a fresh heap with and without core-js loaded, and in a warm heap
// with it. fresh+runtime minus fresh is what loading the runtime into one heap costs; warm shows it
// is paid once per warm heap, not per call.
void BM_RuntimeHeap(benchmark::State& state) {
  const std::shared_ptr<const ScriptRuntime> runtime = RuntimeOrSkip(state);
  if (runtime == nullptr) return;
  RealTimeSource time;
  const bool with_runtime = state.range(0) >= 1;
  const bool warm = state.range(0) == 2;
  state.SetLabel(warm ? "warm+runtime" : with_runtime ? "fresh+runtime" : "fresh");
  std::unique_ptr<Compiler> compiler = NewDuktapeCompiler(CompilerOptions{}, time);
  CompileResult compiled =
      *compiler->Compile(absl::StrCat("var seen = typeof Map;\n", GetReference().code));
  if (compiled.script == nullptr || !compiled.script->needs_runtime) {
    state.SkipWithError("the script should need the runtime");
    return;
  }
  EngineOptions options{&time};
  options.reuse_heaps = warm;
  if (with_runtime) options.runtime = runtime;
  // What one prepared heap holds (the memory each warm heap, or each evaluation in flight, costs).
  state.counters["heap_bytes"] = static_cast<double>(
      (*WarmHeap::Create(time, {}, with_runtime ? &runtime->core_js_bytecode : nullptr))
          ->baseline_bytes());
  EvaluateRepeatedly(state, options, *compiled.script);
}
BENCHMARK(BM_RuntimeHeap)->Arg(0)->Arg(1)->Arg(2);

// Workload 4 in process: a first-sight compile of bench/workloads/compile/script.ts (a new variant
// each iteration, as the compile cache would miss), through the compiler and TypeScript's
// transpiler loaded beforehand; and, for comparison, an ES5 script's first sight, which also asks
// the transpiler for its structure check.
void BM_FirstSightCompile(benchmark::State& state) {
  const std::shared_ptr<const ScriptRuntime> runtime = RuntimeOrSkip(state);
  if (runtime == nullptr) return;
  const bool typescript = state.range(0) == 1;
  state.SetLabel(typescript ? "typescript" : "es5");
  RealTimeSource time;
  TranspilerOptions transpiler_options;
  transpiler_options.runtime = runtime;
  transpiler_options.time_source = &time;
  std::unique_ptr<Transpiler> transpiler = NewTypeScriptTranspiler(transpiler_options);
  if (!transpiler->Load().ok()) {
    state.SkipWithError("TypeScript did not load");
    return;
  }
  std::unique_ptr<Compiler> compiler = NewDuktapeCompiler(CompilerOptions{}, time, transpiler.get());
  const std::string source = typescript
                                 ? bench::ReadRunfile("bench/workloads/compile/script.ts")
                                 : GetReference().code;
  int variant = 0;
  for (auto _ : state) {
    absl::StatusOr<CompileResult> compiled =
        compiler->Compile(absl::StrCat("var variant = ", ++variant, ";\n", source));
    if (!compiled.ok() || compiled->script == nullptr) state.SkipWithError("compile failed");
    benchmark::DoNotOptimize(compiled);
  }
}
BENCHMARK(BM_FirstSightCompile)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_Sandbox(benchmark::State& state) {
  RealTimeSource time;
  std::unique_ptr<Sandbox> sandbox;
  if (state.range(0) == 0) {
    state.SetLabel("in_process");
    InProcessSandboxOptions options;
    options.engine.time_source = &time;
    sandbox = *NewInProcessSandbox(options);
  } else {
    state.SetLabel("workers");
    WorkerSandboxOptions options;
    options.worker_binary = bench::RunfilePath("service/evaluate_server");
    options.worker_args = {"--sandbox_worker"};
    options.workers = 1;
    options.time_source = &time;
    absl::StatusOr<std::unique_ptr<WorkerSandbox>> workers = NewWorkerSandbox(options);
    if (!workers.ok()) {
      state.SkipWithError("workers did not start");
      return;
    }
    sandbox = *std::move(workers);
  }
  SandboxRequest request;
  request.source = GetReference().code;
  request.input = &GetReference().input;
  request.partition = "bench";
  for (auto _ : state) {
    request.deadline = time.Now() + absl::Seconds(1);
    absl::StatusOr<SandboxResult> result = sandbox->Evaluate(request);
    if (!result.ok() || result->evaluation.error.has_value()) {
      state.SkipWithError("evaluation failed");
    }
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_Sandbox)->Arg(0)->Arg(1);

}  // namespace
}  // namespace evaluatecode::sandbox

BENCHMARK_MAIN();
