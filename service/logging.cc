#include "service/logging.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace evaluatecode::service {

absl::StatusOr<std::shared_ptr<spdlog::logger>> NewJsonLogger(const std::string& level) {
  const spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(
        absl::StrCat("config: logging.level: unknown level '", level,
                     "'; expected trace, debug, info, warn, error, critical or off"));
  }
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("evaluatecode", sink);
  logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","event":%v})",
                      spdlog::pattern_time_type::utc);
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);
  return logger;
}

}  // namespace evaluatecode::service
