#include "common/value_equality.h"

namespace evaluatecode {

bool StructsEqual(const google::protobuf::Struct& a, const google::protobuf::Struct& b) {
  if (a.fields_size() != b.fields_size()) return false;
  for (const auto& [key, value] : a.fields()) {
    const auto other = b.fields().find(key);
    if (other == b.fields().end() || !ValuesEqual(value, other->second)) return false;
  }
  return true;
}

bool ValuesEqual(const google::protobuf::Value& a, const google::protobuf::Value& b) {
  if (a.kind_case() != b.kind_case()) return false;
  switch (a.kind_case()) {
    case google::protobuf::Value::kNullValue:
      return a.null_value() == b.null_value();
    case google::protobuf::Value::kNumberValue:
      return a.number_value() == b.number_value();
    case google::protobuf::Value::kStringValue:
      return a.string_value() == b.string_value();
    case google::protobuf::Value::kBoolValue:
      return a.bool_value() == b.bool_value();
    case google::protobuf::Value::kStructValue:
      return StructsEqual(a.struct_value(), b.struct_value());
    case google::protobuf::Value::kListValue: {
      const auto& left = a.list_value().values();
      const auto& right = b.list_value().values();
      if (left.size() != right.size()) return false;
      for (int i = 0; i < left.size(); ++i) {
        if (!ValuesEqual(left[i], right[i])) return false;
      }
      return true;
    }
    case google::protobuf::Value::KIND_NOT_SET:
      return true;
  }
  return false;
}

}  // namespace evaluatecode
