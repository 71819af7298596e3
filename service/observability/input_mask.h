#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_INPUT_MASK_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_INPUT_MASK_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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
// Applied during a walk of the input (the decision record is written without building a tree):
// the walk carries a Position per node, starting from Root(); Enter tells, for each member of an
// object, whether it is masked or at which Position its own members are. Arrays are transparent:
// their elements stand at the array's Position, so Enter is called for object members only.
//
// Immutable once created; thread-safe.
class InputMask {
 public:
  // One parsed segment of a path (defined below; an implementation detail).
  struct Segment;
  // The (path, segment) pairs still alive at a node. Empty: nothing below the node is masked, and
  // the walk need not ask again there.
  using Position = std::vector<std::pair<uint32_t, uint32_t>>;

  // An empty mask masks nothing.
  InputMask() = default;
  // @return kInvalidArgument naming the path that is empty, has an empty segment, a dangling '\'
  //     or ends in `**`.
  static absl::StatusOr<InputMask> Create(const std::vector<std::string>& paths);

  // The position at the input object itself.
  Position Root() const;
  // Whether member `key` of an object at `at` is masked; if not, `*inside` is its position.
  bool Enter(const Position& at, absl::string_view key, Position* inside) const;
  // The concrete path of `key` below `parent` as reported in the record's "masked" list, e.g.
  // "applicant.emails[1].address" ('.', '*' and '\' in keys escaped as in mask paths; key names
  // are not sensitive, the values are gone). Elements are appended as "[index]" by the caller.
  static void AppendKeyToPath(absl::string_view key, std::string* parent);

  bool empty() const { return patterns_.empty(); }

 private:
  explicit InputMask(std::vector<std::vector<Segment>> patterns);
  // Adds to `position` the positions a `**` at it reaches by matching zero levels.
  void Close(Position* position) const;

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
