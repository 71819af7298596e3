#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_INPUT_MASK_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_INPUT_MASK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace evaluatecode::service::observability {

// Which fields of a recorded `input` are replaced by "***" (the `decision_log.mask` config list).
//
// Path syntax. A path names fields of the request's `input` object (the value the script sees as
// `input`; do not write the "input." prefix), one segment per level, separated by '.':
//   - `name` matches the key `name` exactly (case-sensitive);
//   - `*` matches any one key;
//   - `**` matches any number of levels, zero included; it cannot be the last segment;
//   - `\.`, `\*` and `\\` put a literal '.', '*' or '\' into a key.
// Arrays are transparent: a segment reaching an array applies to each element, so
// `applicant.emails.address` masks `address` in every element of `emails`. The matched value is
// replaced whole, whatever its type. Examples:
//   trigger.inquiry.attributes.birthdate   that one field
//   trigger.*.email-address                `email-address` two levels below `trigger`
//   **.email-address                       every `email-address`, at any depth
//
// Immutable once created; thread-safe.
class InputMask {
 public:
  // An empty mask masks nothing.
  InputMask() = default;

  // @return kInvalidArgument naming the path that is empty, has an empty segment, a dangling '\'
  //     or ends in `**`.
  static absl::StatusOr<InputMask> Create(const std::vector<std::string>& paths);

  // Masks `input` (a copy: never what the script saw) in place.
  // @return the concrete paths masked, sorted and unique, e.g. "applicant.emails[1].address"
  //     (key names are not sensitive; the values are gone).
  std::vector<std::string> Apply(nlohmann::json& input) const;

  bool empty() const { return patterns_.empty(); }

  // One parsed segment of a path (defined below; an implementation detail).
  struct Segment;

 private:
  explicit InputMask(std::vector<std::vector<Segment>> patterns);

  std::vector<std::vector<Segment>> patterns_;
};

// A wildcard or a literal key (a literal "*" key, written `\*`, is not a wildcard).
struct InputMask::Segment {
  enum class Kind { kKey, kAnyKey, kAnyDepth };
  Kind kind = Kind::kKey;
  std::string key;
};

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_INPUT_MASK_H_
