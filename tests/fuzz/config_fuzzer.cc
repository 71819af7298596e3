// Fuzz target: the server config loader, service::ParseConfig (YAML text -> ServerConfig).
//
// Properties: it never crashes or lets an exception escape (yaml-cpp throws; config.cc must catch at
// its one YAML::Load and never call a throwing accessor elsewhere); it returns a config or a
// kInvalidArgument whose message starts with "config:" as documented; and a config it returns
// passes ValidateConfig (ParseConfig promises to apply the cross-field rules itself).
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "service/config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<evaluatecode::service::ServerConfig> config =
      evaluatecode::service::ParseConfig(text);
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument,
               "ParseConfig returned %s", config.status().ToString().c_str());
    FUZZ_CHECK(absl::StartsWith(config.status().message(), "config:"),
               "error message does not name the config: %s",
               config.status().ToString().c_str());
    return 0;
  }
  const absl::Status valid = evaluatecode::service::ValidateConfig(*config);
  FUZZ_CHECK(valid.ok(), "ParseConfig accepted a config that ValidateConfig rejects: %s",
             valid.ToString().c_str());
  return 0;
}
