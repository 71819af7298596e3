#include "service/observability/input_mask.h"

#include <algorithm>
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

// Positions are small sets kept as vectors: a few live paths at most.
void AddOnce(std::pair<uint32_t, uint32_t> entry, InputMask::Position* position) {
  if (std::find(position->begin(), position->end(), entry) == position->end()) {
    position->push_back(entry);
  }
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

InputMask::Position InputMask::Root() const {
  Position root;
  for (uint32_t path = 0; path < patterns_.size(); ++path) root.emplace_back(path, 0);
  Close(&root);
  return root;
}

void InputMask::Close(Position* position) const {
  // Appended entries are visited too: `**.**.x` reaches `x` by two zero-level steps.
  for (size_t k = 0; k < position->size(); ++k) {
    const auto [path, segment] = (*position)[k];
    if (patterns_[path][segment].kind != Segment::Kind::kAnyDepth) continue;
    AddOnce({path, segment + 1}, position);
  }
}

bool InputMask::Enter(const Position& at, absl::string_view key, Position* inside) const {
  inside->clear();
  bool masked = false;
  for (const auto& [path, segment] : at) {
    const Segment& current = patterns_[path][segment];
    if (current.kind == Segment::Kind::kAnyDepth) {
      AddOnce({path, segment}, inside);  // `**` matches this key and may match more below it
    } else if (current.kind == Segment::Kind::kAnyKey || current.key == key) {
      if (segment + 1 == patterns_[path].size()) {
        masked = true;
      } else {
        AddOnce({path, segment + 1}, inside);
      }
    }
  }
  if (masked) {
    inside->clear();
    return true;
  }
  Close(inside);
  return false;
}

void InputMask::AppendKeyToPath(absl::string_view key, std::string* parent) {
  if (!parent->empty()) *parent += '.';
  for (char c : key) {
    if (c == '.' || c == '*' || c == '\\') *parent += '\\';
    *parent += c;
  }
}

}  // namespace evaluatecode::service::observability
