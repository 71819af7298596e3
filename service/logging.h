#ifndef EVALUATECODE_SERVICE_LOGGING_H_
#define EVALUATECODE_SERVICE_LOGGING_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace evaluatecode::service {

// A logger writing one JSON object per line to stdout:
// {"time":"…Z","level":"info","event":{…}}. `level` is an spdlog level name; an unknown one is
// kInvalidArgument. Thread-safe.
absl::StatusOr<std::shared_ptr<spdlog::logger>> NewJsonLogger(const std::string& level);

// Logs `event` (a JSON object) at `level`.
inline void LogEvent(spdlog::logger& logger, spdlog::level::level_enum level,
                     const nlohmann::json& event) {
  if (logger.should_log(level)) logger.log(level, event.dump());
}

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_LOGGING_H_
