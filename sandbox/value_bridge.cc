#include "sandbox/value_bridge.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "sandbox/utf8.h"

namespace evaluatecode::sandbox {

// Defined, not assigned: a key such as "__proto__" must become an own property rather than run
// Object.prototype's setter. Keys come in the views' sorted order, so that the order the script
// iterates them in does not depend on protobuf's map layout.
template <typename View>
void ValueBridge::PushObjectOf(duk_context* ctx, const View& view,
                               const typename View::Object& object) {
  duk_require_stack(ctx, 3);
  duk_push_object(ctx);
  view.ForEachMember(object, [&](absl::string_view key, const typename View::Value& value) {
    duk_push_lstring(ctx, key.data(), key.size());
    PushValueOf(ctx, view, value);
    duk_def_prop(ctx, -3,
                 DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WRITABLE | DUK_DEFPROP_SET_ENUMERABLE |
                     DUK_DEFPROP_SET_CONFIGURABLE);
  });
}

template <typename View>
void ValueBridge::PushValueOf(duk_context* ctx, const View& view,
                              const typename View::Value& value) {
  switch (View::KindOf(value)) {
    case JsonKind::kNumber:
      duk_push_number(ctx, View::Number(value));
      return;
    case JsonKind::kString: {
      const absl::string_view text = View::Text(value);
      duk_push_lstring(ctx, text.data(), text.size());
      return;
    }
    case JsonKind::kBool:
      duk_push_boolean(ctx, View::Boolean(value));
      return;
    case JsonKind::kObject:
      PushObjectOf(ctx, view, View::ObjectOf(value));
      return;
    case JsonKind::kList: {
      duk_require_stack(ctx, 2);
      duk_push_array(ctx);
      duk_uarridx_t index = 0;
      view.ForEachElement(value, [&](const typename View::Value& element) {
        PushValueOf(ctx, view, element);
        duk_put_prop_index(ctx, -2, index++);
      });
      return;
    }
    case JsonKind::kNull:
      duk_push_null(ctx);
      return;
  }
}

void ValueBridge::PushStruct(duk_context* ctx, const google::protobuf::Struct& value) {
  PushObjectOf(ctx, ProtobufJsonView(entries_), value);
}

void ValueBridge::PushValue(duk_context* ctx, const google::protobuf::Value& value) {
  PushValueOf(ctx, ProtobufJsonView(entries_), value);
}

void ValueBridge::PushWireStruct(duk_context* ctx, const WireStruct& value) {
  PushObjectOf(ctx, WireJsonView(value), value.root());
}

bool ValueBridge::ToProto(duk_context* ctx, duk_idx_t index, size_t max_json_bytes,
                          google::protobuf::Value* out) {
  max_json_bytes_ = max_json_bytes;
  json_bytes_ = 0;
  invalid_reason_.clear();
  index = duk_normalize_index(ctx, index);
  if (duk_is_undefined(ctx, index)) {
    out->set_null_value(google::protobuf::NULL_VALUE);
    return CountBytes(4, 0);
  }
  return Convert(ctx, index, 0, out);
}

bool ValueBridge::Fail(int depth, const char* what) {
  invalid_reason_ = "result";
  for (int i = 1; i <= depth; ++i) {
    if (path_[i].key != nullptr) {
      absl::StrAppend(&invalid_reason_, ".", absl::string_view(path_[i].key, path_[i].key_length));
    } else {
      absl::StrAppend(&invalid_reason_, "[", path_[i].array_index, "]");
    }
  }
  absl::StrAppend(&invalid_reason_, " ", what);
  return false;
}

bool ValueBridge::CountBytes(size_t bytes, int depth) {
  json_bytes_ += bytes;
  if (json_bytes_ <= max_json_bytes_) return true;
  invalid_reason_ = absl::StrCat("result is larger than max_output_bytes (", max_json_bytes_,
                                 " bytes as JSON)");
  return false;
}

bool ValueBridge::Convert(duk_context* ctx, duk_idx_t index, int depth,
                          google::protobuf::Value* out) {
  switch (duk_get_type(ctx, index)) {
    case DUK_TYPE_UNDEFINED:
    case DUK_TYPE_NULL:
      out->set_null_value(google::protobuf::NULL_VALUE);
      return CountBytes(4, depth);
    case DUK_TYPE_BOOLEAN:
      out->set_bool_value(duk_get_boolean(ctx, index) != 0);
      return CountBytes(5, depth);
    case DUK_TYPE_NUMBER: {
      const double number = duk_get_number(ctx, index);
      if (std::isnan(number)) return Fail(depth, "is NaN, which JSON cannot represent");
      if (std::isinf(number)) return Fail(depth, "is Infinity, which JSON cannot represent");
      out->set_number_value(number);
      char digits[32];
      return CountBytes(std::snprintf(digits, sizeof(digits), "%.17g", number), depth);
    }
    case DUK_TYPE_STRING: {
      if (duk_is_symbol(ctx, index)) return Fail(depth, "is a symbol, which JSON cannot represent");
      duk_size_t length = 0;
      const char* text = duk_get_lstring(ctx, index, &length);
      if (!CountBytes(length + 2, depth)) return false;
      out->set_string_value(CesuToUtf8(absl::string_view(text, length)));
      return true;
    }
    case DUK_TYPE_OBJECT:
      break;
    case DUK_TYPE_BUFFER:
      return Fail(depth, "is a buffer, which JSON cannot represent");
    case DUK_TYPE_LIGHTFUNC:
      return Fail(depth, "is a function, which JSON cannot represent");
    default:
      return Fail(depth, "is not a JSON value");
  }

  if (duk_is_function(ctx, index)) return Fail(depth, "is a function, which JSON cannot represent");
  if (duk_is_buffer_data(ctx, index)) return Fail(depth, "is a buffer, which JSON cannot represent");
  if (depth >= kMaxResultDepth) {
    return Fail(depth, absl::StrCat("is nested too deeply (more than ", kMaxResultDepth,
                                    " levels)").c_str());
  }
  void* const heap_pointer = duk_get_heapptr(ctx, index);
  for (int i = 0; i < depth; ++i) {
    if (path_[i].heap_pointer == heap_pointer) return Fail(depth, "is a cycle back to an ancestor");
  }
  path_[depth].heap_pointer = heap_pointer;
  duk_require_stack(ctx, 4);  // each level holds an enumerator, key, value and toJSON's result

  // JSON.stringify semantics: an object with toJSON() (a Date, say) is replaced by what it returns.
  if (duk_get_prop_string(ctx, index, "toJSON") && duk_is_function(ctx, -1)) {
    duk_dup(ctx, index);
    duk_push_string(ctx, "");
    duk_call_method(ctx, 1);
    const bool converted = Convert(ctx, duk_get_top_index(ctx), depth, out);
    duk_pop(ctx);
    return converted;
  }
  duk_pop(ctx);

  if (duk_is_array(ctx, index)) {
    google::protobuf::ListValue* list = out->mutable_list_value();
    const duk_size_t length = duk_get_length(ctx, index);
    if (!CountBytes(2, depth)) return false;
    for (duk_size_t i = 0; i < length; ++i) {
      path_[depth + 1] = PathStep{nullptr, 0, i, nullptr};
      duk_get_prop_index(ctx, index, static_cast<duk_uarridx_t>(i));
      const bool converted =
          CountBytes(i > 0 ? 1 : 0, depth) && Convert(ctx, duk_get_top_index(ctx), depth + 1,
                                                      list->add_values());
      duk_pop(ctx);
      if (!converted) return false;
    }
    return true;
  }

  google::protobuf::Struct* fields = out->mutable_struct_value();
  if (!CountBytes(2, depth)) return false;
  duk_enum(ctx, index, DUK_ENUM_OWN_PROPERTIES_ONLY);
  bool first = true;
  while (duk_next(ctx, -1, /*get_value=*/1)) {
    // [... enum key value]
    if (duk_is_undefined(ctx, -1)) {
      duk_pop_2(ctx);
      continue;
    }
    duk_size_t key_length = 0;
    const char* key = duk_get_lstring(ctx, -2, &key_length);
    path_[depth + 1] = PathStep{key, key_length, 0, nullptr};
    // The map key is made in its own statement: no temporary may outlive it into Convert().
    google::protobuf::Value* field =
        &(*fields->mutable_fields())[CesuToUtf8(absl::string_view(key, key_length))];
    const bool converted = CountBytes(key_length + 3 + (first ? 0 : 1), depth) &&
                           Convert(ctx, duk_get_top_index(ctx), depth + 1, field);
    duk_pop_2(ctx);
    if (!converted) {
      duk_pop(ctx);
      return false;
    }
    first = false;
  }
  duk_pop(ctx);
  return true;
}

}  // namespace evaluatecode::sandbox
