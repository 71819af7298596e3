#include "service/yaml_scalars.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace evaluatecode::service {

std::string Where(const YAML::Node& node, const std::string& path) {
  return absl::StrCat("config: ", path, " (line ", node.Mark().line + 1, ")");
}

absl::Status ReadString(const YAML::Node& node, const std::string& path, std::string* out) {
  if (!node.IsScalar()) {
    return absl::InvalidArgumentError(absl::StrCat(Where(node, path), ": expected a string"));
  }
  *out = node.Scalar();
  return absl::OkStatus();
}

absl::Status ReadBool(const YAML::Node& node, const std::string& path, bool* out) {
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
    *out = node.Scalar() == "true";
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      Where(node, path), ": expected true or false, got '",
      node.IsScalar() ? node.Scalar() : "a non-scalar", "'"));
}

absl::Status ReadUnsigned(const YAML::Node& node, const std::string& path, uint64_t max,
                          uint64_t* out) {
  uint64_t value = 0;
  if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value) || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(node, path), ": expected an integer from 0 to ", max, ", got '",
                     node.IsScalar() ? node.Scalar() : "a non-scalar", "'"));
  }
  *out = value;
  return absl::OkStatus();
}

}  // namespace evaluatecode::service
