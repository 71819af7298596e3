#ifndef EVALUATECODE_SERVICE_REQUEST_VALIDATOR_H_
#define EVALUATECODE_SERVICE_REQUEST_VALIDATOR_H_

#include <cstdint>
#include <variant>

#include "absl/time/time.h"
#include "evaluate/v1/evaluate.pb.h"
#include "sandbox/engine.h"
#include "service/config.h"

namespace evaluatecode::service {

// The limits one evaluation runs under: the request's, with absent or 0 fields taken from the
// server's defaults.
struct ResolvedLimits {
  absl::Duration timeout;
  uint32_t max_connector_calls = 0;
  sandbox::EvaluationLimits engine;
};

// Checks an EvaluateCodeRequest before any work is done for it. Thread-safe (immutable).
class RequestValidator {
 public:
  // `config` must outlive the validator.
  explicit RequestValidator(const ServerConfig& config) : config_(config) {}

  // The limits to run `request` with, or an INVALID_REQUEST error whose `field` names the offending
  // request field (e.g. "limits.timeout_ms", "labels[\"tenant\"]").
  std::variant<ResolvedLimits, evaluate::v1::EvaluationError> Validate(
      const evaluate::v1::EvaluateCodeRequest& request) const;

  // The same checks for the code of a CompileCodeRequest.
  std::variant<std::monostate, evaluate::v1::EvaluationError> ValidateCode(
      const std::string& code) const;

 private:
  const ServerConfig& config_;
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_REQUEST_VALIDATOR_H_
