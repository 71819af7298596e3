#ifndef EVALUATECODE_COMMON_WIRE_STRUCT_H_
#define EVALUATECODE_COMMON_WIRE_STRUCT_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace evaluatecode {

// A google.protobuf.Struct read from its wire bytes as a tree of views into them, without
// protobuf's map per object: parsing a workflow input into a Struct was ≈ a quarter of the
// server's instructions per light evaluation, and the server only reads the input once, to write
// it into the decision record (a sandbox worker gets the bytes as they came).
//
// Read takes only bytes whose meaning needs none of protobuf's merge rules: each object's keys
// unique, each Value with at most one of its fields, no unknown field, every field with its
// declared wire type, strings valid UTF-8, nesting well within protobuf's recursion limit. For
// anything else it declines, and the caller parses the bytes with protobuf, which decides: so
// whatever Read accepts, protobuf accepts with the same meaning.
//
// The views point into the bytes given to Read, which must outlive the tree. Immutable once read.
class WireStruct {
 public:
  // The JSON kinds of a google.protobuf.Value (a Value without any field reads as null).
  enum class Kind : uint8_t { kNull, kNumber, kString, kBool, kObject, kList };

  // One value of the tree. Objects and lists hold a range of members() or elements().
  struct Node {
    Kind kind = Kind::kNull;
    bool boolean = false;
    double number = 0;
    absl::string_view text;
    uint32_t first = 0;
    uint32_t count = 0;
  };
  struct Member {
    absl::string_view key;
    uint32_t value = 0;  // index of its Node
  };

  // The tree of the serialized Struct `bytes`, or nullopt when protobuf must parse them.
  static std::optional<WireStruct> Read(absl::string_view bytes);

  // The Struct itself (an object).
  const Node& root() const { return nodes_.front(); }
  const Node& node(uint32_t index) const { return nodes_[index]; }
  // An object's members, sorted by key (byte-wise, as std::string orders them).
  absl::Span<const Member> members(const Node& object) const {
    return absl::MakeConstSpan(members_).subspan(object.first, object.count);
  }
  // A list's elements, as node indexes, in order.
  absl::Span<const uint32_t> elements(const Node& list) const {
    return absl::MakeConstSpan(elements_).subspan(list.first, list.count);
  }

 private:
  class Reader;

  std::vector<Node> nodes_;
  std::vector<Member> members_;
  std::vector<uint32_t> elements_;
};

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_WIRE_STRUCT_H_
