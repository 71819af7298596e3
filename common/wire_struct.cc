#include "common/wire_struct.h"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
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

// Whether every byte is ASCII (so valid UTF-8), 8 bytes at a time: most keys and values are, and
// asking protobuf's validator costs ≈ 100 instructions a string before its first byte.
bool IsAscii(absl::string_view text) {
  uint64_t seen = 0;
  size_t i = 0;
  for (; i + sizeof seen <= text.size(); i += sizeof seen) {
    uint64_t word = 0;
    std::memcpy(&word, text.data() + i, sizeof word);
    seen |= word;
  }
  for (; i < text.size(); ++i) seen |= static_cast<uint8_t>(text[i]);
  return (seen & 0x8080808080808080ULL) == 0;
}

// Messages nested deeper than this are left to protobuf, whose parser allows 100 (the input
// Struct is already one level inside the request).
constexpr int kMaxDepth = 64;

}  // namespace

// Every Read* reads one message, the bytes [p, end), and returns false, giving the whole read up, at
// the first thing protobuf would have to decide. Members and elements collect on a stack while
// their container is read, and move to the tree, contiguous, when it ends. The walk is over the
// bytes directly rather than through CodedInputStream, whose limit stack and out-of-line calls at
// every message's end made it barely cheaper than protobuf's own parse.
class WireStruct::Reader {
 public:
  explicit Reader(WireStruct& tree) : tree_(tree) {}

  bool ReadRoot(absl::string_view bytes) {
    // ≈ one node per 16 bytes of a workflow input: most reads never grow the vector.
    tree_.nodes_.reserve(bytes.size() / 16 + 1);
    tree_.nodes_.emplace_back();
    return ReadStruct(bytes.data(), bytes.data() + bytes.size(), 0, /*depth=*/1);
  }

 private:
  // At most 10 bytes, the 10th no more than 1 (what a 64-bit value can need); longer ones are
  // protobuf's to judge.
  static bool ReadVarint(const char*& p, const char* end, uint64_t* value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 70 && p < end; shift += 7) {
      const uint8_t byte = static_cast<uint8_t>(*p++);
      if (shift == 63 && byte > 1) return false;
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) {
        *value = result;
        return true;
      }
    }
    return false;
  }

  // The payload of the length-delimited field whose tag was just read.
  static bool ReadPayload(const char*& p, const char* end, absl::string_view* payload) {
    uint64_t length = 0;
    if (!ReadVarint(p, end, &length) || length > static_cast<uint64_t>(end - p)) return false;
    *payload = absl::string_view(p, length);
    p += length;
    return true;
  }

  // The next element of a message's only field, a repeated message with tag `tag`.
  static bool ReadRepeated(const char*& p, const char* end, uint64_t tag,
                           absl::string_view* payload) {
    uint64_t read = 0;
    return ReadVarint(p, end, &read) && read == tag && ReadPayload(p, end, payload);
  }

  static bool ReadString(const char*& p, const char* end, absl::string_view* text) {
    return ReadPayload(p, end, text) &&
           (IsAscii(*text) || google::protobuf::internal::IsStructurallyValidUTF8(
                                  text->data(), static_cast<int>(text->size())));
  }

  // Moves a finished container's members or elements, stack[start...], to the end of the tree's
  // `settled`, and makes `node` an object or list of them.
  template <typename Item>
  void Settle(std::vector<Item>& stack, size_t start, std::vector<Item>& settled, Kind kind,
              uint32_t node) {
    Node& container = tree_.nodes_[node];
    container.kind = kind;
    container.first = static_cast<uint32_t>(settled.size());
    container.count = static_cast<uint32_t>(stack.size() - start);
    settled.insert(settled.end(), stack.begin() + static_cast<ptrdiff_t>(start), stack.end());
    stack.resize(start);
  }

  uint32_t NewNode() {
    tree_.nodes_.emplace_back();
    return static_cast<uint32_t>(tree_.nodes_.size() - 1);
  }

  bool ReadStruct(const char* p, const char* end, uint32_t object, int depth) {
    if (depth > kMaxDepth) return false;
    const size_t start = members_.size();
    while (p < end) {
      absl::string_view entry;
      if (!ReadRepeated(p, end, kStructFields, &entry)) return false;
      Member member;
      if (!ReadEntry(entry.data(), entry.data() + entry.size(), &member, depth + 1)) return false;
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
    Settle(members_, start, tree_.members_, Kind::kObject, object);
    return true;
  }

  bool ReadEntry(const char* p, const char* end, Member* member, int depth) {
    if (depth > kMaxDepth) return false;
    bool has_key = false;
    bool has_value = false;
    while (p < end) {
      uint64_t tag = 0;
      if (!ReadVarint(p, end, &tag)) return false;
      if (tag == kEntryKey && !has_key) {
        has_key = true;
        if (!ReadString(p, end, &member->key)) return false;
      } else if (tag == kEntryValue && !has_value) {
        has_value = true;
        absl::string_view value;
        if (!ReadPayload(p, end, &value)) return false;
        member->value = NewNode();
        if (!ReadValue(value.data(), value.data() + value.size(), member->value, depth + 1)) {
          return false;
        }
      } else {
        return false;
      }
    }
    if (!has_value) member->value = NewNode();  // a missing Value is an empty one: null
    return true;
  }

  bool ReadValue(const char* p, const char* end, uint32_t value, int depth) {
    if (depth > kMaxDepth) return false;
    if (p == end) return true;  // no field: null
    uint64_t tag = 0;
    if (!ReadVarint(p, end, &tag)) return false;
    Node& node = tree_.nodes_[value];
    uint64_t bits = 0;
    absl::string_view payload;
    switch (tag) {
      case kNullValue:
        if (!ReadVarint(p, end, &bits)) return false;
        break;
      case kNumberValue:
        if (end - p < 8) return false;
        google::protobuf::io::CodedInputStream::ReadLittleEndian64FromArray(
            reinterpret_cast<const uint8_t*>(p), &bits);
        p += 8;
        node.kind = Kind::kNumber;
        std::memcpy(&node.number, &bits, sizeof node.number);
        break;
      case kStringValue:
        if (!ReadString(p, end, &node.text)) return false;
        node.kind = Kind::kString;
        break;
      case kBoolValue:
        if (!ReadVarint(p, end, &bits)) return false;
        node.kind = Kind::kBool;
        node.boolean = bits != 0;
        break;
      case kStructValue:
        if (!ReadPayload(p, end, &payload) ||
            !ReadStruct(payload.data(), payload.data() + payload.size(), value, depth + 1)) {
          return false;
        }
        break;
      case kListValue:
        if (!ReadPayload(p, end, &payload) ||
            !ReadList(payload.data(), payload.data() + payload.size(), value, depth + 1)) {
          return false;
        }
        break;
      default:
        return false;
    }
    // A second field would replace or merge into the first: protobuf's rules.
    return p == end;
  }

  bool ReadList(const char* p, const char* end, uint32_t list, int depth) {
    if (depth > kMaxDepth) return false;
    const size_t start = elements_.size();
    while (p < end) {
      absl::string_view value;
      if (!ReadRepeated(p, end, kListValues, &value)) return false;
      const uint32_t element = NewNode();
      if (!ReadValue(value.data(), value.data() + value.size(), element, depth + 1)) return false;
      elements_.push_back(element);
    }
    Settle(elements_, start, tree_.elements_, Kind::kList, list);
    return true;
  }

  WireStruct& tree_;
  std::vector<Member> members_;
  std::vector<uint32_t> elements_;
};

std::optional<WireStruct> WireStruct::Read(absl::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) return std::nullopt;
  WireStruct tree;
  if (!Reader(tree).ReadRoot(bytes)) return std::nullopt;
  return tree;
}

}  // namespace evaluatecode
