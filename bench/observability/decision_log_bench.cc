// What the decision log costs: rendering one record (JSON, masking), and appending it through each
// sink with `window` appends outstanding at once, as `window` concurrent calls waiting for their
// record before replying would. Durable mode syncs once per batch (group commit), so its
// throughput grows with the window. Figures are records per second (items_per_second).
// Run: bazel run -c opt //bench/observability:decision_log_bench
// The file goes to $TMPDIR (default /tmp): put it on the disk you want measured.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "common/time_source.h"
#include "evaluate/v1/evaluate.pb.h"
#include "google/protobuf/util/json_util.h"
#include "service/observability/decision_record.h"
#include "service/observability/file_decision_log_sink.h"
#include "service/observability/input_mask.h"
#include "service/observability/stdout_decision_log_sink.h"

namespace evaluatecode::service::observability {
namespace {

// A typical evaluation: a nested input of a few dozen fields, one connector call, a decision.
struct Sample {
  evaluate::v1::EvaluateCodeRequest request;
  evaluate::v1::EvaluateCodeResponse response;

  Sample() {
    request.set_code(
        "const s = connectors.sift.score({user_id: input.user.id});\n"
        "return s.score > 0.8 ? {decision: 'decline', reasons: ['high_score']}\n"
        "                     : {decision: 'approve', reasons: []};");
    const std::string input = R"json({"trigger": {"inquiry": {"id": "inq_ABC123", "status": "completed",
      "attributes": {"name-first": "Ada", "name-last": "Lovelace", "birthdate": "1990-02-03",
      "email-address": "ada@example.com", "phone-number": "+15555550123",
      "address-street-1": "1 Main St", "address-city": "San Francisco", "address-subdivision": "CA",
      "address-postal-code": "94105", "country-code": "US"}},
      "verifications": [{"type": "government-id", "status": "passed", "checks": 12},
                        {"type": "selfie", "status": "passed", "checks": 8}]},
      "user": {"id": "usr_42", "created_at": "2026-01-01T00:00:00Z", "risk_tier": 2},
      "device": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"}})json";
    // A sample that does not parse would measure nothing: stop at once.
    if (!google::protobuf::util::JsonStringToMessage(input, request.mutable_input()).ok()) {
      std::abort();
    }
    request.add_connectors("sift");
    (*request.mutable_labels())["tenant"] = "acme";
    (*request.mutable_labels())["workflow"] = "kyc-v3";
    const std::string response_json = R"json({"result": {"decision": "approve", "reasons": []},
      "decision": {"outcome": "APPROVE"},
      "logs": [{"level": "INFO", "message": "score 0.12"}],
      "connectorCalls": [{"connector": "sift", "operation": "score", "httpStatus": 200,
        "duration": "0.120s", "attempts": 1,
        "response": {"status": 0, "score": 0.12, "reasons": [{"name": "velocity", "value": "low"}]}}],
      "usage": {"wallTime": "0.125s", "engineTime": "0.000060s", "peakHeapBytes": "180000",
                "compileCacheHit": true, "connectorCalls": 1}, "decisionId": "d-1"})json";
    if (!google::protobuf::util::JsonStringToMessage(response_json, &response).ok()) std::abort();
  }

  DecisionRecord Record() const {
    DecisionRecord record;
    record.decision_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    record.caller = "spiffe://cluster.local/ns/workflows/sa/engine";
    record.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    record.request = &request;
    record.response = &response;
    return record;
  }
};

InputMask Mask() {
  return *InputMask::Create({"trigger.inquiry.attributes.birthdate", "**.email-address",
                             "**.phone-number"});
}

void BM_RenderRecord(benchmark::State& state) {
  const Sample sample;
  const InputMask mask = Mask();
  const DecisionRecord record = sample.Record();
  size_t bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> line = DecisionRecordToJson(record, mask);
    bytes = line->size();
    benchmark::DoNotOptimize(line);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["record_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderRecord);

// At most `window` appends outstanding; Append blocks the loop while the window is full.
class Window {
 public:
  explicit Window(int size) : free_(size) {}
  void Acquire() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &Window::HasFree));
    --free_;
  }
  DecisionLogSink::Done Release() {
    return [this](absl::Status status) {
      absl::MutexLock lock(&mu_);
      ++free_;
      if (!status.ok()) failed_ = true;
    };
  }
  bool failed() {
    absl::MutexLock lock(&mu_);
    return failed_;
  }

 private:
  bool HasFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return free_ > 0; }

  absl::Mutex mu_;
  int free_ ABSL_GUARDED_BY(mu_);
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
};

std::string BenchPath() {
  const char* dir = std::getenv("TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/decision_log_bench.jsonl");
}

// Arguments: sink (0 = stdout to /dev/null, 1 = file, 2 = durable file), window.
void BM_Append(benchmark::State& state) {
  const std::string line = *DecisionRecordToJson(Sample().Record(), Mask());
  const int kind = static_cast<int>(state.range(0));
  RealTimeSource time;
  FILE* devnull = nullptr;
  absl::StatusOr<std::unique_ptr<DecisionLogSink>> sink;
  if (kind == 0) {
    devnull = std::fopen("/dev/null", "w");
    sink = NewStdoutDecisionLogSink(BatchOptions(), devnull);
  } else {
    FileSinkOptions options;
    options.path = BenchPath();
    std::remove(options.path.c_str());
    options.durable = kind == 2;
    options.rotate_bytes = 0;
    sink = NewFileDecisionLogSink(options, BatchOptions(), time);
  }
  if (!sink.ok()) {
    state.SkipWithError(std::string(sink.status().message()).c_str());
    return;
  }
  Window window(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    window.Acquire();
    (*sink)->Append(line, window.Release());
  }
  sink->reset();  // waits for the last appends (and, durable, their sync)
  if (window.failed()) state.SkipWithError("an append failed");
  if (devnull != nullptr) std::fclose(devnull);
  std::remove(BenchPath().c_str());
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(kind == 0 ? "stdout(/dev/null)" : kind == 1 ? "file" : "file durable");
}
BENCHMARK(BM_Append)
    ->ArgNames({"sink", "window"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({1, 64})
    ->Args({2, 1})
    ->Args({2, 8})
    ->Args({2, 64})
    ->Args({2, 512})
    ->UseRealTime();

}  // namespace
}  // namespace evaluatecode::service::observability

BENCHMARK_MAIN();
