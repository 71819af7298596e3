/* What our engine build adds to Duktape's public API (defined in duktape_unit.c). */
#if !defined(EVALUATECODE_DUKTAPE_EXTENSIONS_H_INCLUDED)
#define EVALUATECODE_DUKTAPE_EXTENSIONS_H_INCLUDED

#include "duktape.h"

#if defined(__cplusplus)
extern "C" {
#endif

/* True when the value at idx is an Array object itself: unlike duk_is_array(), false for a Proxy,
 * whose traps would run script code on any property access. */
duk_bool_t evaluatecode_is_ordinary_array(duk_context *ctx, duk_idx_t idx);

/* Whether the object at idx has an own property whose key is an array index, read from its
 * property table without calling anything (no getter, no trap). True for a Proxy, a String object
 * and a buffer object, which may have such properties elsewhere. */
duk_bool_t evaluatecode_has_own_index_property(duk_context *ctx, duk_idx_t idx);

/* Makes the function at idx refuse `new`, as built-in methods do (duk_push_c_function makes a
 * constructor). */
void evaluatecode_make_not_constructable(duk_context *ctx, duk_idx_t idx);

/* Duktape's own Array.prototype.join, called as the body of the current native function:
 * index 0 is the separator, `this` the object to join; the current function's magic must be 0. */
duk_ret_t evaluatecode_duktape_array_join(duk_context *ctx);

#if defined(__cplusplus)
}
#endif

#endif /* EVALUATECODE_DUKTAPE_EXTENSIONS_H_INCLUDED */
