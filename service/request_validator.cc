#include "service/request_validator.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "service/error_status.h"

namespace evaluatecode::service {
namespace {

constexpr uint64_t kMinMemoryBytes = 1 << 20;
constexpr int kMaxLabels = 32;
constexpr size_t kMaxLabelKeyBytes = 63;
constexpr size_t kMaxLabelValueBytes = 256;

evaluate::v1::EvaluationError InvalidField(std::string field, std::string message) {
  evaluate::v1::EvaluationError error = NewError(evaluate::v1::INVALID_REQUEST, std::move(message));
  error.set_field(std::move(field));
  return error;
}

// `requested` (0 = use the default) checked against the server maximum.
template <typename T>
std::optional<evaluate::v1::EvaluationError> Resolve(const char* field, T requested, T default_value,
                                                     T maximum, T* resolved) {
  if (requested > maximum) {
    return InvalidField(absl::StrCat("limits.", field),
                        absl::StrCat("limits.", field, " is ", requested,
                                     "; the server maximum is ", maximum));
  }
  *resolved = requested == 0 ? default_value : requested;
  return std::nullopt;
}

}  // namespace

std::variant<std::monostate, evaluate::v1::EvaluationError> RequestValidator::ValidateCode(
    const std::string& code) const {
  if (code.empty()) return InvalidField("code", "code is required: the body of the script to run");
  if (code.size() > config_.max_code_bytes) {
    return InvalidField("code", absl::StrCat("code is ", code.size(),
                                             " bytes; the server accepts at most ",
                                             config_.max_code_bytes));
  }
  return std::monostate{};
}

std::variant<ResolvedLimits, evaluate::v1::EvaluationError> RequestValidator::Validate(
    const evaluate::v1::EvaluateCodeRequest& request) const {
  if (auto code = ValidateCode(request.code());
      std::holds_alternative<evaluate::v1::EvaluationError>(code)) {
    return std::get<evaluate::v1::EvaluationError>(std::move(code));
  }

  const evaluate::v1::Limits& requested = request.limits();
  const LimitValues& defaults = config_.default_limits;
  const LimitValues& maxima = config_.max_limits;
  ResolvedLimits limits;
  uint64_t timeout_ms = 0;
  uint64_t memory_bytes = 0;
  uint64_t max_log_bytes = 0;
  uint64_t max_output_bytes = 0;
  std::optional<evaluate::v1::EvaluationError> error;
  if ((error = Resolve<uint64_t>("timeout_ms", requested.timeout_ms(),
                                 absl::ToInt64Milliseconds(defaults.timeout),
                                 absl::ToInt64Milliseconds(maxima.timeout), &timeout_ms)) ||
      (error = Resolve<uint64_t>("memory_bytes", requested.memory_bytes(), defaults.memory_bytes,
                                 maxima.memory_bytes, &memory_bytes)) ||
      (error = Resolve<uint32_t>("max_connector_calls", requested.max_connector_calls(),
                                 defaults.max_connector_calls, maxima.max_connector_calls,
                                 &limits.max_connector_calls)) ||
      (error = Resolve<uint64_t>("max_log_bytes", requested.max_log_bytes(),
                                 defaults.max_log_bytes, maxima.max_log_bytes, &max_log_bytes)) ||
      (error = Resolve<uint64_t>("max_output_bytes", requested.max_output_bytes(),
                                 defaults.max_output_bytes, maxima.max_output_bytes,
                                 &max_output_bytes))) {
    return *std::move(error);
  }
  if (memory_bytes < kMinMemoryBytes) {
    return InvalidField("limits.memory_bytes",
                        absl::StrCat("limits.memory_bytes is ", memory_bytes,
                                     "; the minimum is ", kMinMemoryBytes));
  }
  limits.timeout = absl::Milliseconds(timeout_ms);
  limits.engine.memory_bytes = memory_bytes;
  limits.engine.max_log_bytes = max_log_bytes;
  limits.engine.max_output_bytes = max_output_bytes;

  if (request.labels_size() > kMaxLabels) {
    return InvalidField("labels", absl::StrCat("labels has ", request.labels_size(),
                                               " entries; at most ", kMaxLabels, " are accepted"));
  }
  for (const auto& [key, value] : request.labels()) {
    const std::string field = absl::StrCat("labels[\"", key.substr(0, 64), "\"]");
    if (key.empty() || key.size() > kMaxLabelKeyBytes) {
      return InvalidField(field, absl::StrCat("label keys must be 1 to ", kMaxLabelKeyBytes,
                                              " bytes"));
    }
    if (value.size() > kMaxLabelValueBytes) {
      return InvalidField(field, absl::StrCat("label values must be at most ",
                                              kMaxLabelValueBytes, " bytes"));
    }
  }

  if (request.has_now() &&
      (request.now().seconds() < google::protobuf::util::TimeUtil::kTimestampMinSeconds ||
       request.now().seconds() > google::protobuf::util::TimeUtil::kTimestampMaxSeconds ||
       request.now().nanos() < 0 || request.now().nanos() > 999999999)) {
    return InvalidField("now", "now is not a valid timestamp (0001-01-01 to 9999-12-31)");
  }
  // A replay answers every connector call from its recording: the connectors need not exist here.
  for (int i = 0; !request.has_replay() && i < request.connectors_size(); ++i) {
    const std::string& name = request.connectors(i);
    const bool offered = std::any_of(
        config_.connectors.begin(), config_.connectors.end(),
        [&name](const connectors::ConnectorConfig& c) { return c.enabled && c.name == name; });
    if (!offered) {
      return InvalidField(absl::StrCat("connectors[", i, "]"),
                          absl::StrCat("unknown connector '", name.substr(0, 64),
                                       "'; ListConnectors shows what this server offers"));
    }
  }
  return limits;
}

}  // namespace evaluatecode::service
