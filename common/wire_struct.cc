#include "common/wire_struct.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/wire_format_lite.h"

namespace evaluatecode {
namespace {

using google::protobuf::internal::WireFormatLite;

constexpr uint32_t Tag(int field_number, WireFormatLite::WireType type) {
  return (static_cast<uint32_t>(field_number) << 3) | type;
}

// google.protobuf.Struct, its map entry, Value and ListValue, field by field.
constexpr uint32_t kStructFields = Tag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr uint32_t kEntryKey = Tag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr uint32_t kEntryValue = Tag(2, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr uint32_t kNullValue = Tag(1, WireFormatLite::WIRETYPE_VARINT);
constexpr uint32_t kNumberValue = Tag(2, WireFormatLite::WIRETYPE_FIXED64);
constexpr uint32_t kStringValue = Tag(3, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr uint32_t kBoolValue = Tag(4, WireFormatLite::WIRETYPE_VARINT);
constexpr uint32_t kStructValue = Tag(5, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr uint32_t kListValue = Tag(6, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr uint32_t kListValues = Tag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);

// Messages nested deeper than this are left to protobuf, whose parser allows 100 (the input
// Struct is already one level inside the request).
constexpr int kMaxDepth = 64;

}  // namespace

// Every Read* returns false, and the whole read is given up, at the first thing protobuf would
// have to decide. Members and elements collect on a stack while their container is read, and move
// to the tree, contiguous, when it ends.
class WireStruct::Reader {
 public:
  Reader(absl::string_view bytes, WireStruct& tree)
      : bytes_(bytes),
        in_(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size())),
        tree_(tree) {}

  bool ReadRoot() {
    in_.PushLimit(static_cast<int>(bytes_.size()));
    tree_.nodes_.emplace_back();
    return ReadStruct(0, /*depth=*/1) && in_.ConsumedEntireMessage();
  }

 private:
  // The length-delimited message at the current position, read by `read_body` within its bounds.
  template <typename ReadBody>
  bool ReadMessage(int depth, ReadBody read_body) {
    uint32_t length = 0;
    if (depth > kMaxDepth || !in_.ReadVarint32(&length) ||
        length > static_cast<uint32_t>(in_.BytesUntilLimit())) {
      return false;
    }
    const auto limit = in_.PushLimit(static_cast<int>(length));
    if (!read_body() || !in_.ConsumedEntireMessage()) return false;
    in_.PopLimit(limit);
    return true;
  }

  bool ReadString(absl::string_view* text) {
    uint32_t length = 0;
    if (!in_.ReadVarint32(&length) || length > static_cast<uint32_t>(in_.BytesUntilLimit())) {
      return false;
    }
    const int start = in_.CurrentPosition();
    if (!in_.Skip(static_cast<int>(length))) return false;
    *text = bytes_.substr(start, length);
    return google::protobuf::internal::IsStructurallyValidUTF8(text->data(),
                                                               static_cast<int>(length));
  }

  uint32_t NewNode() {
    tree_.nodes_.emplace_back();
    return static_cast<uint32_t>(tree_.nodes_.size() - 1);
  }

  bool ReadStruct(uint32_t object, int depth) {
    const size_t start = members_.size();
    while (const uint32_t tag = in_.ReadTag()) {
      if (tag != kStructFields) return false;
      Member member;
      if (!ReadMessage(depth + 1, [&] { return ReadEntry(&member, depth + 1); })) return false;
      members_.push_back(member);
    }
    const auto begin = members_.begin() + static_cast<ptrdiff_t>(start);
    std::sort(begin, members_.end(),
              [](const Member& a, const Member& b) { return a.key < b.key; });
    // A key twice: protobuf keeps the last one.
    if (std::adjacent_find(begin, members_.end(), [](const Member& a, const Member& b) {
          return a.key == b.key;
        }) != members_.end()) {
      return false;
    }
    Node& node = tree_.nodes_[object];
    node.kind = Kind::kObject;
    node.first = static_cast<uint32_t>(tree_.members_.size());
    node.count = static_cast<uint32_t>(members_.size() - start);
    tree_.members_.insert(tree_.members_.end(), begin, members_.end());
    members_.resize(start);
    return true;
  }

  bool ReadEntry(Member* member, int depth) {
    bool has_key = false;
    bool has_value = false;
    while (const uint32_t tag = in_.ReadTag()) {
      if (tag == kEntryKey && !has_key) {
        has_key = true;
        if (!ReadString(&member->key)) return false;
      } else if (tag == kEntryValue && !has_value) {
        has_value = true;
        member->value = NewNode();
        if (!ReadMessage(depth + 1, [&] { return ReadValue(member->value, depth + 1); })) {
          return false;
        }
      } else {
        return false;
      }
    }
    if (!has_value) member->value = NewNode();  // a missing Value is an empty one: null
    return true;
  }

  bool ReadValue(uint32_t value, int depth) {
    bool has_field = false;
    while (const uint32_t tag = in_.ReadTag()) {
      // A second field would replace or merge into the first: protobuf's rules.
      if (has_field) return false;
      has_field = true;
      uint64_t bits = 0;
      switch (tag) {
        case kNullValue:
          if (!in_.ReadVarint64(&bits)) return false;
          break;
        case kNumberValue: {
          if (!in_.ReadLittleEndian64(&bits)) return false;
          double number = 0;
          std::memcpy(&number, &bits, sizeof number);
          tree_.nodes_[value].kind = Kind::kNumber;
          tree_.nodes_[value].number = number;
          break;
        }
        case kStringValue: {
          absl::string_view text;
          if (!ReadString(&text)) return false;
          tree_.nodes_[value].kind = Kind::kString;
          tree_.nodes_[value].text = text;
          break;
        }
        case kBoolValue:
          if (!in_.ReadVarint64(&bits)) return false;
          tree_.nodes_[value].kind = Kind::kBool;
          tree_.nodes_[value].boolean = bits != 0;
          break;
        case kStructValue:
          if (!ReadMessage(depth + 1, [&] { return ReadStruct(value, depth + 1); })) return false;
          break;
        case kListValue:
          if (!ReadMessage(depth + 1, [&] { return ReadList(value, depth + 1); })) return false;
          break;
        default:
          return false;
      }
    }
    return true;
  }

  bool ReadList(uint32_t list, int depth) {
    const size_t start = elements_.size();
    while (const uint32_t tag = in_.ReadTag()) {
      if (tag != kListValues) return false;
      const uint32_t element = NewNode();
      if (!ReadMessage(depth + 1, [&] { return ReadValue(element, depth + 1); })) return false;
      elements_.push_back(element);
    }
    Node& node = tree_.nodes_[list];
    node.kind = Kind::kList;
    node.first = static_cast<uint32_t>(tree_.elements_.size());
    node.count = static_cast<uint32_t>(elements_.size() - start);
    tree_.elements_.insert(tree_.elements_.end(), elements_.begin() + static_cast<ptrdiff_t>(start),
                           elements_.end());
    elements_.resize(start);
    return true;
  }

  const absl::string_view bytes_;
  google::protobuf::io::CodedInputStream in_;
  WireStruct& tree_;
  std::vector<Member> members_;
  std::vector<uint32_t> elements_;
};

std::optional<WireStruct> WireStruct::Read(absl::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) return std::nullopt;
  WireStruct tree;
  if (!Reader(bytes, tree).ReadRoot()) return std::nullopt;
  return tree;
}

}  // namespace evaluatecode
