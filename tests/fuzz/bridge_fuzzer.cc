// Fuzz target: the input Struct <-> JS bridge (sandbox/value_bridge.cc) through the real engine.
// The fuzz bytes are parsed as JSON into a google.protobuf.Struct with protobuf's
// JsonStringToMessage, exactly as a JSON caller's `input` arrives; inputs protobuf rejects are
// skipped. The script `return input;` then hands the value back through the bridge.
//
// Property (a real one, not just "no crash"): the result equals the input exactly (every key,
// string byte, number bit pattern up to -0 == 0, list order), unless the input nests a container
// 64 levels deep or more, which the bridge documents as invalid (kResultInvalid); any other error is
// a failure; so is an input holding a non-finite number (protobuf reads 1e999 as infinity), which
// the bridge documents as not JSON (kResultInvalid) too. And a result the bridge accepts must
// survive a protobuf binary round trip, as it does on its way out of a worker process. The same
// input read from its bytes as a WireStruct (as a worker reads it) gives the same answer.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "common/time_source.h"
#include "common/wire_struct.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "sandbox/duktape_compiler.h"
#include "sandbox/duktape_engine.h"
#include "sandbox/value_bridge.h"
#include "tests/fuzz/fuzz_check.h"

namespace evaluatecode::sandbox {
namespace {

struct Target {
  Target() {
    compiler = NewDuktapeCompiler(CompilerOptions(), time_source);
    absl::StatusOr<CompileResult> compiled = compiler->Compile("return input;");
    FUZZ_CHECK(compiled.ok() && compiled->ok(), "compile of `return input;`");
    script = compiled->script;
    EngineOptions engine_options;
    engine_options.time_source = &time_source;
    auto created = NewDuktapeEngine(engine_options);
    FUZZ_CHECK(created.ok(), "NewDuktapeEngine: %s", created.status().ToString().c_str());
    engine = *std::move(created);
  }

  RealTimeSource time_source;
  std::unique_ptr<Compiler> compiler;
  std::shared_ptr<const CompiledScript> script;
  std::unique_ptr<Engine> engine;
};

bool HasNonFinite(const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kNumberValue:
      return !std::isfinite(value.number_value());
    case google::protobuf::Value::kStructValue:
      for (const auto& [key, item] : value.struct_value().fields()) {
        if (HasNonFinite(item)) return true;
      }
      return false;
    case google::protobuf::Value::kListValue:
      for (const auto& item : value.list_value().values()) {
        if (HasNonFinite(item)) return true;
      }
      return false;
    default:
      return false;
  }
}

// Deepest container level in `value`, the root being level 0; -1 for a scalar.
int ContainerDepth(const google::protobuf::Value& value, int level) {
  int deepest = -1;
  switch (value.kind_case()) {
    case google::protobuf::Value::kStructValue:
      deepest = level;
      for (const auto& [key, item] : value.struct_value().fields()) {
        deepest = std::max(deepest, ContainerDepth(item, level + 1));
      }
      break;
    case google::protobuf::Value::kListValue:
      deepest = level;
      for (const auto& item : value.list_value().values()) {
        deepest = std::max(deepest, ContainerDepth(item, level + 1));
      }
      break;
    default:
      break;
  }
  return deepest;
}

void Run(const std::string& json) {
  static Target* target = new Target();

  google::protobuf::Struct input;
  if (!google::protobuf::util::JsonStringToMessage(json, &input).ok()) return;
  google::protobuf::Value wrapped;
  *wrapped.mutable_struct_value() = input;
  const bool invalid =
      ContainerDepth(wrapped, 0) >= ValueBridge::kMaxResultDepth || HasNonFinite(wrapped);

  EvaluationRequest request;
  request.input = &input;
  request.limits.memory_bytes = 64 << 20;
  request.limits.max_output_bytes = 16 << 20;
  request.deadline = absl::Now() + absl::Seconds(2);
  request.partition = "fuzz";
  absl::StatusOr<EvaluationResult> result = target->engine->Evaluate(*target->script, request);
  FUZZ_CHECK(result.ok(), "Evaluate failed (our machinery): %s",
             result.status().ToString().c_str());
  // A worker's way in: the same input read from its bytes (common/wire_struct.h, when they read
  // plainly) must give the same answer.
  const std::string bytes = input.SerializeAsString();
  if (const std::optional<WireStruct> tree = WireStruct::Read(bytes)) {
    EvaluationRequest from_bytes = request;
    from_bytes.input = nullptr;
    from_bytes.wire_input = &*tree;
    absl::StatusOr<EvaluationResult> again =
        target->engine->Evaluate(*target->script, from_bytes);
    FUZZ_CHECK(again.ok() && again->error.has_value() == result->error.has_value() &&
                   (!again->error.has_value() || again->error->kind == result->error->kind) &&
                   google::protobuf::util::MessageDifferencer::Equals(again->result,
                                                                      result->result),
               "the input read from its bytes gave another answer than its Struct");
  }
  if (invalid) {
    FUZZ_CHECK(result->error.has_value() &&
                   result->error->kind == ScriptError::Kind::kResultInvalid,
               "an input nested 64+ levels deep or holding infinity must be an invalid result");
    return;
  }
  FUZZ_CHECK(!result->error.has_value(), "`return input;` failed: kind %d: %s",
             result->error.has_value() ? static_cast<int>(result->error->kind) : -1,
             result->error.has_value() ? result->error->message.c_str() : "");
  FUZZ_CHECK(result->result.kind_case() == google::protobuf::Value::kStructValue,
             "`return input;` did not return an object");
  if (!google::protobuf::util::MessageDifferencer::Equals(result->result.struct_value(), input)) {
    std::string out;
    (void)google::protobuf::util::MessageToJsonString(result->result, &out);
    std::string in;
    (void)google::protobuf::util::MessageToJsonString(input, &in);
    FUZZ_CHECK(false, "round trip changed the value:\n  in:  %.2000s\n  out: %.2000s", in.c_str(),
               out.c_str());
  }
  // With isolation: workers (the default) the result crosses the worker IPC as protobuf
  // (sandbox/worker_protocol.proto) and then the gRPC reply: whatever the bridge accepts must parse
  // back with protobuf's default limits.
  std::string wire;
  FUZZ_CHECK(result->result.SerializeToString(&wire), "the result does not serialize");
  google::protobuf::Value reparsed;
  FUZZ_CHECK(reparsed.ParseFromString(wire) &&
                 google::protobuf::util::MessageDifferencer::Equals(reparsed, result->result),
             "a result the bridge accepted (%zu wire bytes) does not parse back from protobuf",
             wire.size());
}

}  // namespace
}  // namespace evaluatecode::sandbox

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evaluatecode::sandbox::Run(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
