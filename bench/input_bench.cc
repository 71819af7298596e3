// Reading a workflow input from the request's bytes (issue 8's "input Struct" micro-benchmarks):
// the server reads every EvaluateCode input once, for the decision record, with WireStruct; the
// baseline is what that replaced, protobuf parsing the same bytes into a google.protobuf.Struct.
// Input: workload 1's (bench/workloads/light/input.json, ≈ 2 KB of JSON, 63 keys).
#include <optional>
#include <string>

#include "bench/runfiles.h"
#include "benchmark/benchmark.h"
#include "common/wire_struct.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace evaluatecode {
namespace {

// The reference input as a request carries it: a serialized Struct.
std::string InputBytes(benchmark::State& state) {
  google::protobuf::Struct input;
  if (!google::protobuf::util::JsonStringToMessage(
           bench::ReadRunfile("bench/workloads/light/input.json"), &input)
           .ok()) {
    state.SkipWithError("bench/workloads/light/input.json does not parse");
    return "";
  }
  const std::string bytes = input.SerializeAsString();
  state.SetLabel(std::to_string(bytes.size()) + " bytes");
  return bytes;
}

void BM_InputReadFromWire(benchmark::State& state) {
  const std::string bytes = InputBytes(state);
  for (auto _ : state) {
    std::optional<WireStruct> tree = WireStruct::Read(bytes);
    if (!tree.has_value()) state.SkipWithError("declined");
    benchmark::DoNotOptimize(tree);
  }
}
BENCHMARK(BM_InputReadFromWire);

void BM_InputParsedAsStruct(benchmark::State& state) {
  const std::string bytes = InputBytes(state);
  for (auto _ : state) {
    google::protobuf::Struct input;
    if (!input.ParseFromString(bytes)) state.SkipWithError("does not parse");
    benchmark::DoNotOptimize(input);
  }
}
BENCHMARK(BM_InputParsedAsStruct);

}  // namespace
}  // namespace evaluatecode

BENCHMARK_MAIN();
