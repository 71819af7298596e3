// loadgen: a gRPC load generator for EvaluateService (and for the Node peer, which serves the same
// proto). Callback-API client; closed loop at a fixed concurrency or open loop at a fixed rate; runs
// for a bounded duration and stops by itself; talks only to 127.0.0.1.
//
// Every response is checked: the gRPC status, and the result (EvaluateCode: the decision outcome
// and reasons; Echo: the payload; CompileCode: valid and the expected cache_hit). A response that
// is OK but wrong is counted under the error code "RESULT_MISMATCH".
//
// Output: one JSON object on stdout (and in --json_out), one human line on stderr.
//
//   loadgen --target=127.0.0.1:50051 --rpc=evaluate --code_file=s.js --input_file=in.json
//           --expect_outcome=APPROVE --concurrency=16 --duration=10s
//   loadgen --rpc=evaluate --code_file=s.js --input_file=in.json --write_body=req.bin   (h2load)
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "evaluate/v1/evaluate.grpc.pb.h"
#include "evaluate_answer.pb.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, target, "", "127.0.0.1:PORT of the server (no other host is accepted).");
ABSL_FLAG(std::string, rpc, "evaluate", "evaluate | echo | compile");
ABSL_FLAG(std::string, name, "", "Label of this run in the JSON output.");
ABSL_FLAG(std::string, code_file, "", "Script sent as `code` (evaluate, compile).");
ABSL_FLAG(std::string, input_file, "", "JSON object sent as `input` (evaluate).");
ABSL_FLAG(std::string, vary_token, "__VARY__",
          "Each occurrence in the code or in an input string is replaced by a value unique to "
          "each call (in the code: a fresh hash per call); without the token, sent unchanged.");
ABSL_FLAG(std::vector<std::string>, connectors, {}, "EvaluateCodeRequest.connectors.");
ABSL_FLAG(int, tenants, 1, "Calls cycle the `tenant` label over bench-0 .. bench-<N-1>.");
ABSL_FLAG(int, timeout_ms, 0, "limits.timeout_ms (0: the server default).");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(10), "gRPC deadline of each call.");
ABSL_FLAG(int, payload_bytes, 64, "Echo payload size.");
ABSL_FLAG(std::string, expect_outcome, "",
          "APPROVE | DECLINE | REVIEW: the decision every EvaluateCode response must carry.");
ABSL_FLAG(std::string, expect_reasons_json, "",
          "JSON array of strings: the exact reasons every EvaluateCode response must carry.");
ABSL_FLAG(std::string, expect_cache_hit, "any", "CompileCode: true | false | any.");
ABSL_FLAG(bool, skip_type_check, false, "CompileCode: compile only, without the type check.");
ABSL_FLAG(int, concurrency, 16, "Closed loop: calls kept in flight (ignored when --rate > 0).");
ABSL_FLAG(double, rate, 0, "Open loop: calls started per second (0: closed loop).");
ABSL_FLAG(int, max_in_flight, 4096,
          "Open loop: calls beyond this many in flight are not started and counted as "
          "CLIENT_SATURATED.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Measured time.");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Time before the measurement (not counted).");
ABSL_FLAG(int, channels, 2, "Separate HTTP/2 connections the calls are spread over.");
ABSL_FLAG(std::string, json_out, "", "Also write the JSON result here.");
ABSL_FLAG(std::string, write_body, "",
          "Write one gRPC-framed request body (0x00, 4-byte big-endian length, message) for h2load "
          "to this file and exit without connecting.");

namespace evaluatecode::bench {
namespace {

using evaluate::v1::EvaluateService;

constexpr char kEvaluateCodeMethod[] = "/evaluate.v1.EvaluateService/EvaluateCode";

// One HTTP/2 connection: the service's stub, and EvaluateCode sent as bytes and read as
// EvaluateAnswer.
struct Connection {
  explicit Connection(const std::shared_ptr<grpc::Channel>& channel)
      : stub(EvaluateService::NewStub(channel)), answers(channel) {}
  std::unique_ptr<EvaluateService::Stub> stub;
  grpc::TemplatedGenericStub<grpc::ByteBuffer, EvaluateAnswer> answers;
};


std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "loadgen: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "loadgen: %s\n", message.c_str());
  std::exit(2);
}

// What to send and how to check the answer; immutable once built, shared by all calls.
grpc::ByteBuffer Serialized(const google::protobuf::MessageLite& message) {
  grpc::ByteBuffer bytes;
  bool own_buffer = false;
  if (!grpc::SerializationTraits<google::protobuf::MessageLite>::Serialize(message, &bytes,
                                                                          &own_buffer)
           .ok()) {
    Fail("cannot serialize the request");
  }
  return bytes;
}

struct Workload {
  std::string rpc;
  evaluate::v1::EvaluateCodeRequest evaluate;  // code without the vary token substituted
  // `evaluate` serialized once: a call that varies nothing sends these bytes (as h2load sends its
  // body), so that the client's share of the two cores is not a request's serialization per call.
  grpc::ByteBuffer evaluate_bytes;
  evaluate::v1::CompileCodeRequest compile;
  evaluate::v1::EchoRequest echo;
  bool varies = false;        // the code has the vary token
  bool input_varies = false;  // an input string has it
  std::string vary_token;
  std::string vary_prefix;  // unique per run, so hashes never repeat across runs
  int tenants = 1;
  std::string expect_outcome;
  bool check_reasons = false;
  std::vector<std::string> expect_reasons;
  std::string expect_cache_hit;
};

Workload BuildWorkload() {
  Workload w;
  w.rpc = absl::GetFlag(FLAGS_rpc);
  if (w.rpc != "evaluate" && w.rpc != "echo" && w.rpc != "compile") Fail("--rpc: evaluate|echo|compile");
  std::string code;
  if (w.rpc != "echo") {
    if (absl::GetFlag(FLAGS_code_file).empty()) Fail("--code_file is required");
    code = ReadFile(absl::GetFlag(FLAGS_code_file));
  }
  w.vary_token = absl::GetFlag(FLAGS_vary_token);
  w.varies = !w.vary_token.empty() && code.find(w.vary_token) != std::string::npos;
  w.vary_prefix = absl::StrCat(absl::ToUnixMicros(absl::Now()) % 1000000000, getpid());
  w.tenants = std::max(1, absl::GetFlag(FLAGS_tenants));
  if (w.rpc == "evaluate") {
    w.evaluate.set_code(code);
    if (!absl::GetFlag(FLAGS_input_file).empty()) {
      const std::string input = ReadFile(absl::GetFlag(FLAGS_input_file));
      const auto status = google::protobuf::util::JsonStringToMessage(input, w.evaluate.mutable_input());
      if (!status.ok()) Fail(absl::StrCat("--input_file: ", status.ToString()));
      w.input_varies = !w.vary_token.empty() && input.find(w.vary_token) != std::string::npos;
    }
    for (const std::string& c : absl::GetFlag(FLAGS_connectors)) w.evaluate.add_connectors(c);
    if (absl::GetFlag(FLAGS_timeout_ms) > 0) {
      w.evaluate.mutable_limits()->set_timeout_ms(absl::GetFlag(FLAGS_timeout_ms));
    }
    (*w.evaluate.mutable_labels())["tenant"] = "bench-0";
  } else if (w.rpc == "compile") {
    w.compile.set_code(code);
    w.compile.set_skip_type_check(absl::GetFlag(FLAGS_skip_type_check));
  } else {
    w.echo.set_payload(std::string(std::max(0, absl::GetFlag(FLAGS_payload_bytes)), 'e'));
  }
  w.expect_outcome = absl::GetFlag(FLAGS_expect_outcome);
  if (!w.expect_outcome.empty()) {
    evaluate::v1::Decision::Outcome outcome;
    if (!evaluate::v1::Decision::Outcome_Parse(w.expect_outcome, &outcome)) {
      Fail("--expect_outcome: APPROVE|DECLINE|REVIEW");
    }
  }
  if (const std::string reasons = absl::GetFlag(FLAGS_expect_reasons_json); !reasons.empty()) {
    nlohmann::json parsed = nlohmann::json::parse(reasons, nullptr, false);
    if (!parsed.is_array()) Fail("--expect_reasons_json: a JSON array of strings");
    for (const auto& r : parsed) {
      if (!r.is_string()) Fail("--expect_reasons_json: a JSON array of strings");
      w.expect_reasons.push_back(r.get<std::string>());
    }
    w.check_reasons = true;
  }
  w.expect_cache_hit = absl::GetFlag(FLAGS_expect_cache_hit);
  w.evaluate_bytes = Serialized(w.evaluate);
  return w;
}

std::string Varied(const Workload& w, const std::string& code, uint64_t n) {
  return absl::StrReplaceAll(code, {{w.vary_token, absl::StrCat(w.vary_prefix, n)}});
}

// Substitutes the vary token in every string of `value`, at any depth.
void VaryStrings(const Workload& w, uint64_t n, google::protobuf::Value* value) {
  if (value->has_string_value()) {
    value->set_string_value(Varied(w, value->string_value(), n));
  } else if (value->has_struct_value()) {
    for (auto& [key, field] : *value->mutable_struct_value()->mutable_fields()) {
      VaryStrings(w, n, &field);
    }
  } else if (value->has_list_value()) {
    for (google::protobuf::Value& item : *value->mutable_list_value()->mutable_values()) {
      VaryStrings(w, n, &item);
    }
  }
}

// Empty when the response is right; otherwise what is wrong.
std::string CheckEvaluate(const Workload& w, const EvaluateAnswer& r) {
  if (!w.expect_outcome.empty() &&
      evaluate::v1::Decision::Outcome_Name(r.decision().outcome()) != w.expect_outcome) {
    return absl::StrCat("outcome ", evaluate::v1::Decision::Outcome_Name(r.decision().outcome()),
                        ", expected ", w.expect_outcome);
  }
  if (w.check_reasons) {
    std::vector<std::string> got(r.decision().reasons().begin(), r.decision().reasons().end());
    if (got != w.expect_reasons) {
      return absl::StrCat("reasons [", absl::StrJoin(got, ","), "], expected [",
                          absl::StrJoin(w.expect_reasons, ","), "]");
    }
  }
  if (w.expect_outcome.empty() && !w.check_reasons && !r.has_result()) return "no result";
  return "";
}

std::string CheckCompile(const Workload& w, const evaluate::v1::CompileCodeResponse& r) {
  if (!r.valid()) {
    return absl::StrCat("not valid: ",
                        r.diagnostics_size() > 0 ? r.diagnostics(0).message() : std::string());
  }
  if (w.expect_cache_hit == "true" && !r.cache_hit()) return "cache miss, expected a hit";
  if (w.expect_cache_hit == "false" && r.cache_hit()) return "cache hit, expected a miss";
  return "";
}

// Latencies and outcomes of the calls that completed inside the measured window. Thread-safe.
class Recorder {
 public:
  void Record(absl::Time done, absl::Duration latency, const std::string& code,
              const std::string& problem) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (done < window_start_ || done > window_end_) return;
    if (code == "OK") {
      latencies_ns_.push_back(absl::ToInt64Nanoseconds(latency));
    } else {
      ++errors_[code];
      if (examples_.size() < 5) examples_.push_back(absl::StrCat(code, ": ", problem));
    }
  }
  void CountSaturated(absl::Time at) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (at >= window_start_ && at <= window_end_) ++errors_["CLIENT_SATURATED"];
  }
  void SetWindow(absl::Time start, absl::Time end) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    window_start_ = start;
    window_end_ = end;
  }

  nlohmann::json Report(absl::Duration measured) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    std::sort(latencies_ns_.begin(), latencies_ns_.end());
    auto pct = [&](double p) -> double {
      if (latencies_ns_.empty()) return 0;
      size_t i = static_cast<size_t>(std::ceil(p / 100.0 * latencies_ns_.size()));
      i = std::min(latencies_ns_.size(), std::max<size_t>(i, 1)) - 1;
      return latencies_ns_[i] / 1e6;
    };
    double sum = 0;
    for (int64_t ns : latencies_ns_) sum += ns;
    uint64_t errors = 0;
    nlohmann::json by_code = nlohmann::json::object();
    for (const auto& [code, n] : errors_) {
      by_code[code] = n;
      errors += n;
    }
    nlohmann::json out;
    out["ok"] = latencies_ns_.size();
    out["errors"] = errors;
    out["errors_by_code"] = by_code;
    out["error_examples"] = examples_;
    out["rps"] = latencies_ns_.size() / absl::ToDoubleSeconds(measured);
    out["latency_ms"] = {
        {"mean", latencies_ns_.empty() ? 0 : sum / latencies_ns_.size() / 1e6},
        {"p50", pct(50)},   {"p90", pct(90)},
        {"p99", pct(99)},   {"p99.9", pct(99.9)},
        {"max", latencies_ns_.empty() ? 0 : latencies_ns_.back() / 1e6},
    };
    return out;
  }

 private:
  absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Time window_end_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::vector<int64_t> latencies_ns_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> errors_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> examples_ ABSL_GUARDED_BY(mu_);
};

// Issues calls and hands their outcomes to the Recorder. Thread-safe.
class Driver {
 public:
  Driver(const Workload& workload, std::vector<std::unique_ptr<Connection>> connections,
         Recorder& recorder, absl::Time stop_at)
      : workload_(workload),
        connections_(std::move(connections)),
        recorder_(recorder),
        stop_at_(stop_at) {}

  // Starts one call whose latency counts from `intended_start` (the open loop's schedule).
  // `chain`: start the next call when this one completes, until stop_at (the closed loop).
  void Start(absl::Time intended_start, bool chain) {
    const uint64_t n = sequence_.fetch_add(1);
    in_flight_.fetch_add(1);
    auto* call = new Call;
    call->intended_start = intended_start;
    call->chain = chain;
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::GetFlag(FLAGS_deadline)));
    Connection& channel = *connections_[n % connections_.size()];
    EvaluateService::Stub& stub = *channel.stub;
    if (workload_.rpc == "evaluate") {
      const grpc::ByteBuffer* request = &workload_.evaluate_bytes;
      if (workload_.varies || workload_.input_varies || workload_.tenants > 1) {
        call->evaluate_request = workload_.evaluate;
        if (workload_.varies) {
          call->evaluate_request.set_code(Varied(workload_, workload_.evaluate.code(), n));
        }
        if (workload_.input_varies) {
          for (auto& [key, field] : *call->evaluate_request.mutable_input()->mutable_fields()) {
            VaryStrings(workload_, n, &field);
          }
        }
        (*call->evaluate_request.mutable_labels())["tenant"] =
            absl::StrCat("bench-", n % workload_.tenants);
        call->evaluate_bytes = Serialized(call->evaluate_request);
        request = &call->evaluate_bytes;
      }
      channel.answers.UnaryCall(&call->context, kEvaluateCodeMethod, grpc::StubOptions(), request,
                                &call->evaluate_answer,
                                [this, call](grpc::Status s) { Done(call, std::move(s)); });
    } else if (workload_.rpc == "compile") {
      const evaluate::v1::CompileCodeRequest* request = &workload_.compile;
      if (workload_.varies) {
        call->compile_request = workload_.compile;
        call->compile_request.set_code(Varied(workload_, workload_.compile.code(), n));
        request = &call->compile_request;
      }
      stub.async()->CompileCode(&call->context, request, &call->compile_response,
                                [this, call](grpc::Status s) { Done(call, std::move(s)); });
    } else {
      stub.async()->Echo(&call->context, &workload_.echo, &call->echo_response,
                         [this, call](grpc::Status s) { Done(call, std::move(s)); });
    }
  }

  int in_flight() const { return in_flight_.load(); }

  // Waits until no call is in flight, or `deadline`; true when none is.
  bool WaitIdle(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithDeadline(absl::Condition(
                                     +[](std::atomic<int>* n) { return n->load() == 0; },
                                     &in_flight_),
                                 deadline);
  }

 private:
  struct Call {
    grpc::ClientContext context;
    absl::Time intended_start;
    bool chain = false;
    // A call's messages live on its own arena, as the server's do: parsing an I/O-bound answer's
    // connector records (the vendor's whole answer, as protobuf maps) onto the heap and freeing
    // them cost this client more than the rest of the call, on the cores it shares with the server.
    google::protobuf::Arena arena;
    evaluate::v1::EvaluateCodeRequest& evaluate_request = New<evaluate::v1::EvaluateCodeRequest>();
    grpc::ByteBuffer evaluate_bytes;
    EvaluateAnswer& evaluate_answer = New<EvaluateAnswer>();
    evaluate::v1::CompileCodeRequest& compile_request = New<evaluate::v1::CompileCodeRequest>();
    evaluate::v1::CompileCodeResponse& compile_response = New<evaluate::v1::CompileCodeResponse>();
    evaluate::v1::EchoResponse& echo_response = New<evaluate::v1::EchoResponse>();

    template <typename Message>
    Message& New() {
      return *google::protobuf::Arena::CreateMessage<Message>(&arena);
    }
  };

  void Done(Call* call, grpc::Status status) {
    const absl::Time done = absl::Now();
    std::string code = "OK";
    std::string problem;
    if (!status.ok()) {
      code = GrpcCodeName(status.error_code());
      problem = status.error_message();
    } else if (workload_.rpc == "evaluate") {
      problem = CheckEvaluate(workload_, call->evaluate_answer);
    } else if (workload_.rpc == "compile") {
      problem = CheckCompile(workload_, call->compile_response);
    } else if (call->echo_response.payload() != workload_.echo.payload()) {
      problem = "payload differs";
    }
    if (code == "OK" && !problem.empty()) code = "RESULT_MISMATCH";
    recorder_.Record(done, done - call->intended_start, code, problem);
    const bool chain = call->chain;
    delete call;
    if (chain && done < stop_at_) Start(absl::Now(), true);
    absl::MutexLock lock(&mu_);  // WaitIdle's condition is re-evaluated under mu_
    in_flight_.fetch_sub(1);
  }

  static std::string GrpcCodeName(grpc::StatusCode code) {
    static const char* const kNames[] = {
        "OK",       "CANCELLED",          "UNKNOWN",          "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL",      "UNAVAILABLE",      "DATA_LOSS",
        "UNAUTHENTICATED"};
    const int i = static_cast<int>(code);
    return i >= 0 && i < 17 ? kNames[i] : absl::StrCat("CODE_", i);
  }

  const Workload& workload_;
  const std::vector<std::unique_ptr<Connection>> connections_;
  Recorder& recorder_;
  const absl::Time stop_at_;
  std::atomic<uint64_t> sequence_{0};
  std::atomic<int> in_flight_{0};
  absl::Mutex mu_;
};

void CheckTarget(const std::string& target) {
  std::pair<std::string, std::string> host_port = absl::StrSplit(target, absl::MaxSplits(':', 1));
  int port = 0;
  if (host_port.first != "127.0.0.1" || !absl::SimpleAtoi(host_port.second, &port) || port <= 0 ||
      port > 65535) {
    Fail(absl::StrCat("--target must be 127.0.0.1:PORT (loopback only), got \"", target, "\""));
  }
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

int Main() {
  const Workload workload = BuildWorkload();

  if (const std::string body_path = absl::GetFlag(FLAGS_write_body); !body_path.empty()) {
    std::string message;
    if (workload.rpc == "evaluate") {
      workload.evaluate.SerializeToString(&message);
    } else if (workload.rpc == "compile") {
      workload.compile.SerializeToString(&message);
    } else {
      workload.echo.SerializeToString(&message);
    }
    std::string framed(5, '\0');
    const uint32_t n = message.size();
    framed[1] = static_cast<char>(n >> 24);
    framed[2] = static_cast<char>(n >> 16);
    framed[3] = static_cast<char>(n >> 8);
    framed[4] = static_cast<char>(n);
    framed += message;
    std::ofstream(body_path, std::ios::binary) << framed;
    return 0;
  }

  const std::string target = absl::GetFlag(FLAGS_target);
  CheckTarget(target);
  const int channels = std::max(1, absl::GetFlag(FLAGS_channels));
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    args.SetInt("loadgen.channel", i);
    args.SetMaxReceiveMessageSize(64 << 20);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
      Fail(absl::StrCat("cannot connect to ", target));
    }
    connections.push_back(std::make_unique<Connection>(channel));
  }

  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  if (duration <= absl::ZeroDuration() || duration > absl::Minutes(10)) {
    Fail("--duration must be in (0, 10m]");
  }
  const double rate = absl::GetFlag(FLAGS_rate);
  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  const absl::Time begin = absl::Now();
  const absl::Time window_start = begin + warmup;
  const absl::Time stop_at = window_start + duration;
  Recorder recorder;
  recorder.SetWindow(window_start, stop_at);
  Driver driver(workload, std::move(connections), recorder, stop_at);
  const double cpu_before = CpuSeconds();

  if (rate > 0) {
    const absl::Duration interval = absl::Seconds(1) / rate;
    const int max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
    for (int64_t i = 0;; ++i) {
      const absl::Time at = begin + interval * i;
      if (at >= stop_at) break;
      const absl::Duration wait = at - absl::Now();
      if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
      if (driver.in_flight() >= max_in_flight) {
        recorder.CountSaturated(at);
      } else {
        driver.Start(at, false);
      }
    }
  } else {
    for (int i = 0; i < concurrency; ++i) driver.Start(absl::Now(), true);
    absl::SleepFor(stop_at - absl::Now());
  }
  // Calls still in flight finish (or hit their deadline); a stuck server cannot keep us here.
  const bool idle = driver.WaitIdle(absl::Now() + absl::GetFlag(FLAGS_deadline) + absl::Seconds(2));
  const double cpu = CpuSeconds() - cpu_before;

  nlohmann::json report = recorder.Report(duration);
  report["name"] = absl::GetFlag(FLAGS_name);
  report["rpc"] = workload.rpc;
  report["target"] = target;
  report["mode"] = rate > 0 ? "rate" : "concurrency";
  if (rate > 0) {
    report["rate"] = rate;
  } else {
    report["concurrency"] = concurrency;
  }
  report["duration_s"] = absl::ToDoubleSeconds(duration);
  report["warmup_s"] = absl::ToDoubleSeconds(warmup);
  report["channels"] = channels;
  report["loadgen_cpu_s"] = cpu;
  report["unfinished_calls"] = idle ? 0 : driver.in_flight();

  const nlohmann::json& l = report["latency_ms"];
  std::string errors;
  for (const auto& [code, n] : report["errors_by_code"].items()) {
    absl::StrAppend(&errors, " ", code, "=", n.get<uint64_t>());
  }
  std::fprintf(stderr,
               "loadgen %s %s %s: %.1f rps, p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f ms, ok %llu, "
               "errors %llu%s\n",
               report["name"].get<std::string>().c_str(), workload.rpc.c_str(),
               rate > 0 ? absl::StrCat("rate=", rate).c_str()
                        : absl::StrCat("c=", concurrency).c_str(),
               report["rps"].get<double>(), l["p50"].get<double>(), l["p90"].get<double>(),
               l["p99"].get<double>(), l["p99.9"].get<double>(),
               static_cast<unsigned long long>(report["ok"].get<uint64_t>()),
               static_cast<unsigned long long>(report["errors"].get<uint64_t>()), errors.c_str());
  for (const auto& example : report["error_examples"]) {
    std::fprintf(stderr, "  e.g. %s\n", example.get<std::string>().substr(0, 300).c_str());
  }
  const std::string text = report.dump();
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    std::ofstream(path) << text << "\n";
  }
  // Calls left unfinished still reference the driver: leave without running destructors.
  std::_Exit(idle ? 0 : 3);
}

}  // namespace
}  // namespace evaluatecode::bench

int main(int argc, char** argv) {
  // Off, as in the server (service/main.cc): this process shares the cores with the server it
  // measures, and the lock graph cost it ≈ 2 % of its CPU under W3.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::ParseCommandLine(argc, argv);
  return evaluatecode::bench::Main();
}
