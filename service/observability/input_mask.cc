#include "service/observability/input_mask.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace evaluatecode::service::observability {
namespace {

using Segment = InputMask::Segment;

absl::StatusOr<std::vector<Segment>> ParsePath(const std::string& path) {
  auto invalid = [&path](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask path '", path, "': ", why));
  };
  std::vector<Segment> segments;
  std::string key;
  bool escaped_any = false;  // a segment with an escape is a literal key, even "\*"
  auto end_segment = [&]() -> absl::Status {
    if (key.empty()) return invalid("empty segment");
    Segment segment;
    if (!escaped_any && key == "*") {
      segment.kind = Segment::Kind::kAnyKey;
    } else if (!escaped_any && key == "**") {
      segment.kind = Segment::Kind::kAnyDepth;
    } else {
      segment.key = key;
    }
    segments.push_back(std::move(segment));
    key.clear();
    escaped_any = false;
    return absl::OkStatus();
  };
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '\\') {
      if (i + 1 == path.size()) return invalid("dangling '\\'");
      key += path[++i];
      escaped_any = true;
    } else if (path[i] == '.') {
      absl::Status status = end_segment();
      if (!status.ok()) return status;
    } else {
      key += path[i];
    }
  }
  absl::Status status = end_segment();
  if (!status.ok()) return status;
  if (segments.back().kind == Segment::Kind::kAnyDepth) return invalid("cannot end in '**'");
  return segments;
}

std::string EscapeKey(const std::string& key) {
  std::string escaped;
  for (char c : key) {
    if (c == '.' || c == '*' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return escaped;
}

std::string Child(const std::string& parent, const std::string& key) {
  return parent.empty() ? EscapeKey(key) : absl::StrCat(parent, ".", EscapeKey(key));
}

// Applies segments[i..] at `node`, whose path is `where`.
void MaskAt(nlohmann::json& node, const std::vector<Segment>& segments, size_t i,
            const std::string& where, std::set<std::string>& masked) {
  if (node.is_array()) {
    for (size_t k = 0; k < node.size(); ++k) {
      MaskAt(node[k], segments, i, absl::StrCat(where, "[", k, "]"), masked);
    }
    return;
  }
  if (!node.is_object()) return;
  const Segment& segment = segments[i];
  if (segment.kind == Segment::Kind::kAnyDepth) {
    MaskAt(node, segments, i + 1, where, masked);
    for (auto& [key, child] : node.items()) MaskAt(child, segments, i, Child(where, key), masked);
    return;
  }
  const bool last = i + 1 == segments.size();
  auto mask_child = [&](const std::string& key, nlohmann::json& child) {
    if (last) {
      child = "***";
      masked.insert(Child(where, key));
    } else {
      MaskAt(child, segments, i + 1, Child(where, key), masked);
    }
  };
  if (segment.kind == Segment::Kind::kKey) {
    auto it = node.find(segment.key);
    if (it != node.end()) mask_child(segment.key, *it);
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) mask_child(it.key(), it.value());
}

}  // namespace

InputMask::InputMask(std::vector<std::vector<Segment>> patterns) : patterns_(std::move(patterns)) {}

absl::StatusOr<InputMask> InputMask::Create(const std::vector<std::string>& paths) {
  std::vector<std::vector<Segment>> patterns;
  for (const std::string& path : paths) {
    absl::StatusOr<std::vector<Segment>> segments = ParsePath(path);
    if (!segments.ok()) return segments.status();
    patterns.push_back(*std::move(segments));
  }
  return InputMask(std::move(patterns));
}

std::vector<std::string> InputMask::Apply(nlohmann::json& input) const {
  std::set<std::string> masked;
  for (const std::vector<Segment>& pattern : patterns_) MaskAt(input, pattern, 0, "", masked);
  return {masked.begin(), masked.end()};
}

}  // namespace evaluatecode::service::observability
