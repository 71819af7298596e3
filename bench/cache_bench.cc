// Compile-cache lookup cost (issue 8, workload 4: "cached ≤ 5 µs lookup"): ScriptCache::GetOrCompile
// of a source already cached — SHA-256 of the source, then the LRU hit — for the reference decision
// script (≈ 1.5 KB) and a 32 KiB one. The first-sight compile is measured end to end by bench/run
// (CompileCode of a fresh TypeScript script per call).
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/runfiles.h"
#include "benchmark/benchmark.h"
#include "common/time_source.h"
#include "sandbox/duktape_compiler.h"
#include "sandbox/script_cache.h"

namespace evaluatecode::sandbox {
namespace {

void BM_ScriptCacheHit(benchmark::State& state) {
  RealTimeSource time;
  std::unique_ptr<Compiler> compiler = NewDuktapeCompiler(CompilerOptions{}, time);
  ScriptCache cache(*compiler, 1024);
  std::string source = bench::ReadRunfile("bench/workloads/light/script.js");
  if (state.range(0) > 0) {
    std::string big;
    while (big.size() < static_cast<size_t>(state.range(0))) {
      absl::StrAppend(&big, "// padding line to make the source larger ............\n");
    }
    source = big + source;
  }
  state.SetLabel(absl::StrCat(source.size(), " bytes"));
  if (!cache.GetOrCompile(source).ok()) {
    state.SkipWithError("compile failed");
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<CacheLookup> lookup = cache.GetOrCompile(source);
    if (!lookup.ok() || !lookup->cache_hit) state.SkipWithError("not a cache hit");
    benchmark::DoNotOptimize(lookup);
  }
}
BENCHMARK(BM_ScriptCacheHit)->Arg(0)->Arg(32 << 10);

}  // namespace
}  // namespace evaluatecode::sandbox

BENCHMARK_MAIN();
