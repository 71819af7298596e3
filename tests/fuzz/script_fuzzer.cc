// Fuzz target: customer code, compiled and run by the real Duktape compiler and engine in a capped
// heap (8 MiB) with a short deadline (250 ms in this slow build), as the worker process does for every evaluation.
//
// Properties, beyond "no sanitizer report":
// - Compile and Evaluate return a non-OK Status only for our machinery (Compile: only
//   kResourceExhausted, for a compile over its own budget); a script that does not compile has at
//   least one diagnostic.
// - An in-process engine never reports kCrashed or kQuarantined (those are the worker supervisor's).
// - A successful result fits max_output_bytes, and survives a protobuf binary round trip (it leaves
//   a worker process that way); the heap's peak stays near its cap.
//
// Heaps are reused between successful evaluations of the one partition, as in production (the
// frozen world is the reuse path under test); set EVALUATECODE_FUZZ_FRESH_HEAPS=1 to give every
// input a fresh heap when a finding does not reproduce on its own. EVALUATECODE_FUZZ_VERBOSE=1 prints
// each outcome.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "common/time_source.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "sandbox/duktape_compiler.h"
#include "sandbox/duktape_engine.h"
#include "tests/fuzz/fuzz_check.h"

namespace evaluatecode::sandbox {
namespace {

constexpr size_t kMemoryBytes = 8 << 20;
// 50 ms of production time: the ASan/UBSan/coverage build runs Duktape ~5x slower, and the first
// evaluation of each new script in a heap deep-freezes its function (walking the frozen world),
// which alone took > 50 ms here — at 50 ms nearly every input ended as a timeout.
constexpr absl::Duration kDeadline = absl::Milliseconds(250);
constexpr size_t kMaxOutputBytes = 64 << 10;

struct Target {
  Target() {
    CompilerOptions compile_options;
    compile_options.timeout = absl::Seconds(1);
    compile_options.memory_bytes = 16 << 20;
    compiler = NewDuktapeCompiler(compile_options, time_source);
    EngineOptions engine_options;
    engine_options.time_source = &time_source;
    const char* fresh = std::getenv("EVALUATECODE_FUZZ_FRESH_HEAPS");
    engine_options.reuse_heaps = fresh == nullptr || std::string(fresh) != "1";
    auto created = NewDuktapeEngine(engine_options);
    FUZZ_CHECK(created.ok(), "NewDuktapeEngine: %s", created.status().ToString().c_str());
    engine = *std::move(created);
    // A small input like the examples', so scripts that read `input` get somewhere.
    const auto parsed = google::protobuf::util::JsonStringToMessage(
        R"({"user":{"id":"u1","age":37,"tags":["a","b"]},"amount":12.5,"flag":true,"none":null})",
        &input);
    FUZZ_CHECK(parsed.ok(), "input JSON");
  }

  RealTimeSource time_source;
  std::unique_ptr<Compiler> compiler;
  std::unique_ptr<Engine> engine;
  google::protobuf::Struct input;
};

void Run(const std::string& source) {
  static Target* target = new Target();  // never destroyed: libFuzzer exits without unwinding

  absl::StatusOr<CompileResult> compiled = target->compiler->Compile(source);
  if (!compiled.ok()) {
    FUZZ_CHECK(compiled.status().code() == absl::StatusCode::kResourceExhausted,
               "Compile failed with %s", compiled.status().ToString().c_str());
    return;
  }
  if (!compiled->ok()) {
    FUZZ_CHECK(!compiled->diagnostics.empty(), "a failed compile without a diagnostic");
    return;
  }

  EvaluationRequest request;
  request.input = &target->input;
  request.limits.memory_bytes = kMemoryBytes;
  request.limits.max_log_bytes = 4 << 10;
  request.limits.max_output_bytes = kMaxOutputBytes;
  request.deadline = absl::Now() + kDeadline;
  request.partition = "fuzz";
  absl::StatusOr<EvaluationResult> result = target->engine->Evaluate(*compiled->script, request);
  FUZZ_CHECK(result.ok(), "Evaluate failed (our machinery): %s",
             result.status().ToString().c_str());
  static const bool verbose = std::getenv("EVALUATECODE_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(result->result, &json);
    std::fprintf(stderr, "script: error kind %d (%s), result %.300s\n",
                 result->error.has_value() ? static_cast<int>(result->error->kind) : -1,
                 result->error.has_value() ? result->error->message.c_str() : "", json.c_str());
  }
  if (result->error.has_value()) {
    const ScriptError::Kind kind = result->error->kind;
    FUZZ_CHECK(kind != ScriptError::Kind::kCrashed && kind != ScriptError::Kind::kQuarantined,
               "in-process engine reported a worker-only error kind %d", static_cast<int>(kind));
    return;
  }
  std::string json;
  FUZZ_CHECK(google::protobuf::util::MessageToJsonString(result->result, &json).ok(),
             "a successful result that is not JSON");
  // The cap counts the compact encoding without escapes; escapes can at most sextuple a byte.
  FUZZ_CHECK(json.size() <= 6 * kMaxOutputBytes + 64, "result of %zu JSON bytes over the cap",
             json.size());
  // With isolation: workers (the default) the result crosses the worker IPC as protobuf
  // (sandbox/worker_protocol.proto), then the gRPC reply: what the engine accepts must parse back.
  std::string wire;
  FUZZ_CHECK(result->result.SerializeToString(&wire), "the result does not serialize");
  google::protobuf::Value reparsed;
  FUZZ_CHECK(reparsed.ParseFromString(wire),
             "a result the engine accepted (%zu wire bytes) does not parse back from protobuf",
             wire.size());
  FUZZ_CHECK(result->peak_heap_bytes <= kMemoryBytes + (1 << 20),
             "peak heap %zu bytes over the %zu cap", result->peak_heap_bytes, kMemoryBytes);
}

}  // namespace
}  // namespace evaluatecode::sandbox

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evaluatecode::sandbox::Run(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
