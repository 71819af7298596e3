#ifndef EVALUATECODE_SERVICE_YAML_SCALARS_H_
#define EVALUATECODE_SERVICE_YAML_SCALARS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "yaml-cpp/yaml.h"

namespace evaluatecode::service {

// The readers of one config value that every section of the config file uses, so that every
// error reads alike: "config: <path> (line N): expected …, got '…'".

// "config: <path> (line N)", where N is `node`'s line in the file.
std::string Where(const YAML::Node& node, const std::string& path);

absl::Status ReadString(const YAML::Node& node, const std::string& path, std::string* out);

// `true` or `false`, nothing else (YAML 1.1's yes/no/on/off included).
absl::Status ReadBool(const YAML::Node& node, const std::string& path, bool* out);

// A decimal integer from 0 to `max`.
absl::Status ReadUnsigned(const YAML::Node& node, const std::string& path, uint64_t max,
                          uint64_t* out);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_YAML_SCALARS_H_
