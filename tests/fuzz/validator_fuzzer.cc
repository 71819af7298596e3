// Fuzz target: the request validator (service/request_validator.h) with arbitrary
// EvaluateCodeRequest bytes (protobuf wire format, as gRPC hands them over; bytes that do not parse
// are skipped).
//
// Properties — the validator's documented contract, checked independently:
// - It never crashes, and every rejection is INVALID_REQUEST with a message and a `field` that is a
//   path into the request ("code", "limits.<name>", labels["…"], "connectors[i]", "now", …; checked
//   against the message descriptors).
// - An accepted request has 1..max_code_bytes of code, at most 32 labels with keys of 1..63 bytes
//   and values of at most 256, only connectors the server offers (any, for a replay), a `now` within
//   0001-01-01..9999-12-31, and resolved limits that are the
//   request's (or the default for 0), never above the server's maxima, with memory >= 1 MiB.
// - ValidateCode agrees with Validate about the code.
#include <cstdint>
#include <string>
#include <variant>

#include "absl/strings/match.h"
#include "evaluate/v1/evaluate.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "service/config.h"
#include "service/request_validator.h"
#include "tests/fuzz/fuzz_check.h"

namespace evaluatecode::service {
namespace {

const ServerConfig& Config() {
  static const ServerConfig* config = [] {
    auto* c = new ServerConfig();
    c->max_code_bytes = 64;  // small, so the fuzzer reaches the limit
    connectors::ConnectorConfig sift;
    sift.name = "sift";
    c->connectors.push_back(sift);
    connectors::ConnectorConfig off;
    off.name = "disabled";
    off.enabled = false;
    c->connectors.push_back(off);
    return c;
  }();
  return *config;
}

// True if `field` is a path into EvaluateCodeRequest: its first component ("limits" of
// "limits.timeout_ms", "labels" of labels["k"]) is a field of the message, and a sub-field of
// `limits` is a field of Limits.
bool NamesAField(const std::string& field) {
  const size_t end = field.find_first_of(".[");
  const std::string head = field.substr(0, end);
  const google::protobuf::FieldDescriptor* top =
      evaluate::v1::EvaluateCodeRequest::descriptor()->FindFieldByName(head);
  if (top == nullptr) return false;
  if (end == std::string::npos) return true;
  if (field[end] == '[') return top->is_repeated() && field.back() == ']';
  if (top->message_type() == nullptr) return false;
  const std::string rest = field.substr(end + 1);
  return top->message_type()->FindFieldByName(rest.substr(0, rest.find_first_of(".["))) != nullptr;
}

void Run(const std::string& bytes) {
  evaluate::v1::EvaluateCodeRequest request;
  if (!request.ParseFromString(bytes)) return;
  const ServerConfig& config = Config();
  const RequestValidator validator(config);
  const auto verdict = validator.Validate(request);
  const auto code_verdict = validator.ValidateCode(request.code());
  const bool code_ok = std::holds_alternative<std::monostate>(code_verdict);

  if (const auto* error = std::get_if<evaluate::v1::EvaluationError>(&verdict)) {
    FUZZ_CHECK(error->reason() == "INVALID_REQUEST", "rejection with reason %s",
               error->reason().c_str());
    FUZZ_CHECK(!error->message().empty(), "rejection without a message");
    FUZZ_CHECK(NamesAField(error->field()), "rejection names no request field: '%s' (%s)",
               error->field().c_str(), error->message().c_str());
    if (!code_ok) FUZZ_CHECK(error->field() == "code", "bad code reported as %s", error->field().c_str());
    return;
  }
  const ResolvedLimits& limits = std::get<ResolvedLimits>(verdict);
  FUZZ_CHECK(code_ok, "Validate accepted code that ValidateCode rejects");
  FUZZ_CHECK(!request.code().empty() && request.code().size() <= config.max_code_bytes,
             "accepted %zu bytes of code", request.code().size());
  FUZZ_CHECK(request.labels_size() <= 32, "accepted %d labels", request.labels_size());
  for (const auto& [key, value] : request.labels()) {
    FUZZ_CHECK(!key.empty() && key.size() <= 63 && value.size() <= 256,
               "accepted a label of %zu/%zu bytes", key.size(), value.size());
  }
  // A replay answers connector calls from its recording, so its connectors need not exist here.
  for (const std::string& name : request.connectors()) {
    FUZZ_CHECK(request.has_replay() || name == "sift", "accepted connector '%s'", name.c_str());
  }
  FUZZ_CHECK(!request.has_now() || (request.now().seconds() >= -62135596800 &&
                                    request.now().seconds() <= 253402300799 &&
                                    request.now().nanos() >= 0 &&
                                    request.now().nanos() <= 999999999),
             "accepted now = %lld s %d ns", static_cast<long long>(request.now().seconds()),
             request.now().nanos());
  const evaluate::v1::Limits& asked = request.limits();
  const LimitValues& defaults = config.default_limits;
  const LimitValues& maxima = config.max_limits;
  const absl::Duration timeout = asked.timeout_ms() == 0
                                     ? defaults.timeout
                                     : absl::Milliseconds(asked.timeout_ms());
  FUZZ_CHECK(limits.timeout == timeout && limits.timeout > absl::ZeroDuration() &&
                 limits.timeout <= maxima.timeout,
             "timeout resolved to %s", absl::FormatDuration(limits.timeout).c_str());
  const uint64_t memory = asked.memory_bytes() == 0 ? defaults.memory_bytes : asked.memory_bytes();
  FUZZ_CHECK(limits.engine.memory_bytes == memory && memory >= (1 << 20) &&
                 memory <= maxima.memory_bytes,
             "memory_bytes resolved to %zu", limits.engine.memory_bytes);
  const uint32_t calls = asked.max_connector_calls() == 0 ? defaults.max_connector_calls
                                                          : asked.max_connector_calls();
  FUZZ_CHECK(limits.max_connector_calls == calls && calls <= maxima.max_connector_calls,
             "max_connector_calls resolved to %u", limits.max_connector_calls);
  const uint64_t log = asked.max_log_bytes() == 0 ? defaults.max_log_bytes : asked.max_log_bytes();
  FUZZ_CHECK(limits.engine.max_log_bytes == log && log <= maxima.max_log_bytes,
             "max_log_bytes resolved to %zu", limits.engine.max_log_bytes);
  const uint64_t output =
      asked.max_output_bytes() == 0 ? defaults.max_output_bytes : asked.max_output_bytes();
  FUZZ_CHECK(limits.engine.max_output_bytes == output && output <= maxima.max_output_bytes,
             "max_output_bytes resolved to %zu", limits.engine.max_output_bytes);
}

}  // namespace
}  // namespace evaluatecode::service

// Most mutated inputs carry invalid UTF-8 in a string field, and protobuf logs an ERROR line for
// each: millions per minute, which filled the smoke test's log (1 GB) and crashed the test runner.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evaluatecode::service::Run(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
