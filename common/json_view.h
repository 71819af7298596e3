#ifndef EVALUATECODE_COMMON_JSON_VIEW_H_
#define EVALUATECODE_COMMON_JSON_VIEW_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/wire_struct.h"
#include "google/protobuf/struct.pb.h"

namespace evaluatecode {

// Two read-only views of a JSON-like value behind one interface, so that one walk serves
// protobuf's Struct / Value and a WireStruct (common/wire_struct.h) alike: the decision record's
// writer and the sandbox's value bridge each have one. A view has
//   Object, Value                          its types for an object and for any value;
//   Kind KindOf(const Value&)              with Number, Text, Boolean and ObjectOf to read one;
//   ForEachMember(const Object&, visit)    visit(absl::string_view key, const Value&), keys in
//                                          byte order (as std::string orders them);
//   ForEachElement(const Value& list, visit)   visit(const Value&), in order.
// Neither allocates on the way nor leaves anything for a destructor in the walk's frames: the
// bridge walks inside Duktape's protected calls, which unwind by longjmp.
using JsonKind = WireStruct::Kind;

// Protobuf maps have no order: an object's members are sorted in a scratch vector the caller
// owns (reused across objects and calls; nested objects stack their members above).
class ProtobufJsonView {
 public:
  using Object = google::protobuf::Struct;
  using Value = google::protobuf::Value;
  using Scratch = std::vector<std::pair<const std::string*, const Value*>>;

  explicit ProtobufJsonView(Scratch& scratch) : scratch_(&scratch) {}

  static JsonKind KindOf(const Value& value) {
    switch (value.kind_case()) {
      case Value::kNumberValue:
        return JsonKind::kNumber;
      case Value::kStringValue:
        return JsonKind::kString;
      case Value::kBoolValue:
        return JsonKind::kBool;
      case Value::kStructValue:
        return JsonKind::kObject;
      case Value::kListValue:
        return JsonKind::kList;
      case Value::kNullValue:
      case Value::KIND_NOT_SET:
        break;
    }
    return JsonKind::kNull;
  }
  static double Number(const Value& value) { return value.number_value(); }
  static absl::string_view Text(const Value& value) { return value.string_value(); }
  static bool Boolean(const Value& value) { return value.bool_value(); }
  static const Object& ObjectOf(const Value& value) { return value.struct_value(); }

  template <typename Visit>
  void ForEachMember(const Object& object, Visit visit) const {
    const size_t begin = scratch_->size();
    for (const auto& [key, value] : object.fields()) scratch_->emplace_back(&key, &value);
    const size_t end = scratch_->size();
    std::sort(scratch_->begin() + static_cast<std::ptrdiff_t>(begin), scratch_->end(),
              [](const auto& a, const auto& b) { return *a.first < *b.first; });
    // By index: visiting a nested object grows the vector above `end`, and may move it.
    for (size_t i = begin; i < end; ++i) visit(*(*scratch_)[i].first, *(*scratch_)[i].second);
    scratch_->resize(begin);
  }
  template <typename Visit>
  static void ForEachElement(const Value& list, Visit visit) {
    for (const Value& element : list.list_value().values()) visit(element);
  }

 private:
  Scratch* scratch_;
};

// A WireStruct's members come sorted already.
class WireJsonView {
 public:
  using Object = WireStruct::Node;
  using Value = WireStruct::Node;

  explicit WireJsonView(const WireStruct& tree) : tree_(&tree) {}

  static JsonKind KindOf(const Value& value) { return value.kind; }
  static double Number(const Value& value) { return value.number; }
  static absl::string_view Text(const Value& value) { return value.text; }
  static bool Boolean(const Value& value) { return value.boolean; }
  static const Object& ObjectOf(const Value& value) { return value; }

  template <typename Visit>
  void ForEachMember(const Object& object, Visit visit) const {
    for (const WireStruct::Member& member : tree_->members(object)) {
      visit(member.key, tree_->node(member.value));
    }
  }
  template <typename Visit>
  void ForEachElement(const Value& list, Visit visit) const {
    for (const uint32_t element : tree_->elements(list)) visit(tree_->node(element));
  }

 private:
  const WireStruct* tree_;
};

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_JSON_VIEW_H_
