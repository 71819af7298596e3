#include "service/observability/observability_config.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/observability/input_mask.h"
#include "service/yaml_scalars.h"

namespace evaluatecode::service::observability {
namespace {

template <typename Int>
absl::Status ReadInteger(const YAML::Node& node, const std::string& path, Int* out) {
  uint64_t value = 0;
  absl::Status status = ReadUnsigned(node, path, std::numeric_limits<Int>::max(), &value);
  if (status.ok()) *out = static_cast<Int>(value);
  return status;
}

absl::Status ReadMilliseconds(const YAML::Node& node, const std::string& path,
                              absl::Duration* out) {
  uint64_t value = 0;
  absl::Status status = ReadUnsigned(node, path, uint64_t{1} << 40, &value);
  if (status.ok()) *out = absl::Milliseconds(value);
  return status;
}

using KeyReader = std::function<absl::Status(const YAML::Node&, const std::string&)>;

// Reads the mapping `node` (absent or null: nothing to do), each key by its reader; a key without
// one is an error listing the known keys.
absl::Status ReadMapping(const YAML::Node& node, const std::string& path,
                         const std::vector<std::pair<const char*, KeyReader>>& keys) {
  if (!node.IsDefined() || node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(Where(node, path), ": expected a mapping"));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    const std::string key_path = absl::StrCat(path, ".", key);
    const KeyReader* reader = nullptr;
    for (const auto& [name, read] : keys) {
      if (key == name) reader = &read;
    }
    if (reader == nullptr) {
      std::vector<std::string> names;
      for (const auto& entry : keys) names.push_back(entry.first);
      return absl::InvalidArgumentError(absl::StrCat(Where(it->first, key_path),
                                                     ": unknown key; expected one of ",
                                                     absl::StrJoin(names, ", ")));
    }
    absl::Status status = (*reader)(it->second, key_path);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ReadMask(const YAML::Node& node, const std::string& path,
                      std::vector<std::string>* mask) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsSequence()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(node, path), ": expected a list of input paths"));
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = absl::StrCat(path, "[", i, "]");
    std::string entry;
    absl::Status status = ReadString(node[i], item_path, &entry);
    if (!status.ok()) return status;
    // Checked one by one so that the message points at the bad entry's line.
    absl::StatusOr<InputMask> checked = InputMask::Create({entry});
    if (!checked.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(node[i], item_path), ": ", checked.status().message()));
    }
    mask->push_back(std::move(entry));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MetricsOptions> ParseMetricsOptions(const YAML::Node& node,
                                                   const std::string& path) {
  MetricsOptions options;
  absl::Status status = ReadMapping(
      node, path,
      {{"enabled",
        [&](const YAML::Node& n, const std::string& p) { return ReadBool(n, p, &options.enabled); }},
       {"listen", [&](const YAML::Node& n, const std::string& p) {
          return ReadString(n, p, &options.listen_address);
        }}});
  if (!status.ok()) return status;
  if (options.enabled && options.listen_address.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: ", path, ".listen: must be HOST:PORT when metrics are enabled"));
  }
  return options;
}

absl::StatusOr<DecisionLogOptions> ParseDecisionLogOptions(const YAML::Node& node,
                                                           const std::string& path) {
  DecisionLogOptions options;
  FileSinkOptions& file = options.file;
  absl::Status status = ReadMapping(
      node, path,
      {{"sink",
        [&](const YAML::Node& n, const std::string& p) {
          std::string sink;
          absl::Status read = ReadString(n, p, &sink);
          if (!read.ok()) return read;
          if (sink == "stdout") {
            options.sink = DecisionLogOptions::Sink::kStdout;
          } else if (sink == "file") {
            options.sink = DecisionLogOptions::Sink::kFile;
          } else {
            return absl::InvalidArgumentError(absl::StrCat(
                Where(n, p), ": expected \"stdout\" or \"file\", got '", sink, "'"));
          }
          return absl::OkStatus();
        }},
       {"path",
        [&](const YAML::Node& n, const std::string& p) { return ReadString(n, p, &file.path); }},
       {"durable",
        [&](const YAML::Node& n, const std::string& p) { return ReadBool(n, p, &file.durable); }},
       {"fsync_interval_ms",
        [&](const YAML::Node& n, const std::string& p) {
          return ReadMilliseconds(n, p, &file.fsync_interval);
        }},
       {"max_batch",
        [&](const YAML::Node& n, const std::string& p) {
          return ReadInteger(n, p, &options.batching.max_batch);
        }},
       {"rotate_bytes",
        [&](const YAML::Node& n, const std::string& p) {
          return ReadInteger(n, p, &file.rotate_bytes);
        }},
       {"keep_files",
        [&](const YAML::Node& n, const std::string& p) {
          return ReadInteger(n, p, &file.keep_files);
        }},
       {"max_pending_bytes",
        [&](const YAML::Node& n, const std::string& p) {
          return ReadInteger(n, p, &options.batching.max_pending_bytes);
        }},
       {"mask", [&](const YAML::Node& n, const std::string& p) {
          return ReadMask(n, p, &options.mask);
        }}});
  if (!status.ok()) return status;

  const bool is_file = options.sink == DecisionLogOptions::Sink::kFile;
  const struct {
    const char* key;
    bool ok;
    const char* rule;
  } rules[] = {
      {"path", !is_file || !file.path.empty(), "required with sink: file"},
      {"durable", is_file || !file.durable,
       "needs sink: file (stdout cannot tell when a record is on disk)"},
      {"max_batch", options.batching.max_batch >= 1, "must be at least 1"},
      {"keep_files", file.rotate_bytes == 0 || file.keep_files >= 1,
       "must be at least 1 when rotate_bytes is set"},
  };
  for (const auto& rule : rules) {
    if (!rule.ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: ", path, ".", rule.key, ": ", rule.rule));
    }
  }
  return options;
}

}  // namespace evaluatecode::service::observability
