#include "sandbox/array_join.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "duktape_extensions.h"

namespace evaluatecode::sandbox {
namespace {

// Hidden property of the installed function (the \xff prefix makes it Duktape-internal).
constexpr char kArrayPrototypeKey[] = "\xff" "arrayPrototype";

// Duktape's longest string (DUK_HSTRING_MAX_BYTELEN).
constexpr uint64_t kMaxStringBytes = 0x7fffffff;

// [separator this]: whether every element join(separator) reads from `this` is undefined, decided
// without running script code (no getter, Proxy trap or toString).
bool JoinsOnlyHoles(duk_context* ctx) {
  const bool plain_separator =
      duk_is_undefined(ctx, 0) || (duk_is_string(ctx, 0) && !duk_is_symbol(ctx, 0));
  if (!plain_separator || !evaluatecode_is_ordinary_array(ctx, 1) ||
      evaluatecode_has_own_index_property(ctx, 1)) {
    return false;
  }
  // Nothing inherited either: the prototype is the built-in one (InstallArrayJoin).
  duk_get_prototype(ctx, 1);
  duk_push_current_function(ctx);
  duk_get_prop_string(ctx, -1, kArrayPrototypeKey);
  const bool inherits_no_index = duk_get_heapptr(ctx, -1) == duk_get_heapptr(ctx, -3);
  duk_pop_3(ctx);
  return inherits_no_index;
}

duk_ret_t Join(duk_context* ctx) {
  duk_push_this(ctx);
  if (!JoinsOnlyHoles(ctx)) return evaluatecode_duktape_array_join(ctx);
  duk_size_t separator_bytes = 1;
  const char* separator =
      duk_is_undefined(ctx, 0) ? "," : duk_get_lstring(ctx, 0, &separator_bytes);
  const duk_size_t length = duk_get_length(ctx, 1);
  // At most (2^32 - 2) × (2^31 - 1): no overflow. The buffer comes from the heap, under its cap.
  const uint64_t bytes = length < 2 ? 0 : uint64_t{length - 1} * separator_bytes;
  if (bytes > kMaxStringBytes) {
    return duk_range_error(ctx, "join's result would be %llu bytes, longer than a string can be",
                           static_cast<unsigned long long>(bytes));
  }
  auto* out = static_cast<char*>(duk_push_fixed_buffer(ctx, bytes));
  if (bytes > 0) {
    std::memcpy(out, separator, separator_bytes);
    for (uint64_t filled = separator_bytes; filled < bytes;) {
      const uint64_t copy = std::min(filled, bytes - filled);
      std::memcpy(out + filled, out, copy);
      filled += copy;
    }
  }
  duk_buffer_to_string(ctx, -1);
  return 1;
}

}  // namespace

void InstallArrayJoin(duk_context* ctx) {
  duk_push_array(ctx);
  duk_get_prototype(ctx, -1);
  duk_push_object(ctx);
  duk_get_prototype(ctx, -1);
  // [... [] Array.prototype {} Object.prototype]
  if (evaluatecode_has_own_index_property(ctx, -3) ||
      evaluatecode_has_own_index_property(ctx, -1)) {
    duk_error(ctx, DUK_ERR_ERROR, "a built-in prototype has an index property");
  }
  duk_pop_2(ctx);
  duk_remove(ctx, -2);
  // [... Array.prototype]
  duk_push_c_function(ctx, Join, 1);
  evaluatecode_make_not_constructable(ctx, -1);
  duk_dup(ctx, -2);
  duk_put_prop_string(ctx, -2, kArrayPrototypeKey);
  duk_push_string(ctx, "name");
  duk_push_string(ctx, "join");
  duk_def_prop(ctx, -3, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_CONFIGURABLE);
  duk_put_prop_string(ctx, -2, "join");
  duk_pop(ctx);
}

}  // namespace evaluatecode::sandbox
