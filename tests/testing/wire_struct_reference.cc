#include "tests/testing/wire_struct_reference.h"

#include <optional>

#include "common/wire_struct.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/struct.pb.h"

namespace evaluatecode::testing {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

void ToValue(const WireStruct& tree, const WireStruct::Node& node, Value* value);

void ToStruct(const WireStruct& tree, const WireStruct::Node& object, Struct* out) {
  for (const WireStruct::Member& member : tree.members(object)) {
    ToValue(tree, tree.node(member.value), &(*out->mutable_fields())[std::string(member.key)]);
  }
}

void ToValue(const WireStruct& tree, const WireStruct::Node& node, Value* value) {
  switch (node.kind) {
    case WireStruct::Kind::kNull:
      value->set_null_value(google::protobuf::NULL_VALUE);
      return;
    case WireStruct::Kind::kNumber:
      value->set_number_value(node.number);
      return;
    case WireStruct::Kind::kString:
      value->set_string_value(std::string(node.text));
      return;
    case WireStruct::Kind::kBool:
      value->set_bool_value(node.boolean);
      return;
    case WireStruct::Kind::kObject:
      ToStruct(tree, node, value->mutable_struct_value());
      return;
    case WireStruct::Kind::kList:
      ListValue* list = value->mutable_list_value();
      for (const uint32_t element : tree.elements(node)) {
        ToValue(tree, tree.node(element), list->add_values());
      }
      return;
  }
}

// Every null as NULL_VALUE: a Value without a field and a null_value of any number (an open enum
// keeps what it is sent) are null to every reader of a Value, and WireStruct keeps no number.
void NullsSpelledOut(Struct* object);
void NullsSpelledOut(Value* value) {
  switch (value->kind_case()) {
    case Value::KIND_NOT_SET:
    case Value::kNullValue:
      value->set_null_value(google::protobuf::NULL_VALUE);
      return;
    case Value::kStructValue:
      NullsSpelledOut(value->mutable_struct_value());
      return;
    case Value::kListValue:
      for (Value& element : *value->mutable_list_value()->mutable_values()) {
        NullsSpelledOut(&element);
      }
      return;
    default:
      return;
  }
}
void NullsSpelledOut(Struct* object) {
  for (auto& member : *object->mutable_fields()) NullsSpelledOut(&member.second);
}

std::string Canonical(Struct object) {
  NullsSpelledOut(&object);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    object.SerializeToCodedStream(&out);
  }
  return bytes;
}

}  // namespace

WireStructVerdict JudgeWireStructRead(const std::string& bytes) {
  const std::optional<WireStruct> tree = WireStruct::Read(bytes);
  if (!tree.has_value()) return WireStructVerdict::kDeclined;
  Struct parsed;
  if (!parsed.ParseFromString(bytes)) return WireStructVerdict::kProtobufRefuses;
  Struct read;
  ToStruct(*tree, tree->root(), &read);
  return Canonical(read) == Canonical(parsed) ? WireStructVerdict::kAsProtobuf
                                              : WireStructVerdict::kDiffers;
}

}  // namespace evaluatecode::testing
