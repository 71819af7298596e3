/* The engine's one translation unit: Debian's amalgamation (copied by the `duktape_src` genrule)
 * followed by the few helpers that need its internals, which the public API does not expose. */
#include "duktape_amalgamation.inc"

#include "duktape_extensions.h"

duk_bool_t evaluatecode_is_ordinary_array(duk_context *ctx, duk_idx_t idx) {
	duk_hobject *h = duk_get_hobject((duk_hthread *) ctx, idx);
	/* duk_is_array() looks through a Proxy to its target; a Proxy's own class is never Array. */
	return h != NULL && DUK_HOBJECT_GET_CLASS_NUMBER(h) == DUK_HOBJECT_CLASS_ARRAY;
}

duk_bool_t evaluatecode_has_own_index_property(duk_context *ctx, duk_idx_t idx) {
	duk_hthread *thr = (duk_hthread *) ctx;
	duk_hobject *h = duk_require_hobject(thr, idx);
	duk_uint_fast32_t i;

	/* These have index properties outside their property table (or traps): assume some. */
	if (DUK_HOBJECT_HAS_EXOTIC_STRINGOBJ(h) || DUK_HOBJECT_IS_BUFOBJ(h) || DUK_HOBJECT_IS_PROXY(h)) {
		return 1;
	}
	for (i = 0; i < (duk_uint_fast32_t) DUK_HOBJECT_GET_ASIZE(h); i++) {
		if (!DUK_TVAL_IS_UNUSED(DUK_HOBJECT_A_GET_VALUE_PTR(thr->heap, h, i))) {
			return 1;
		}
	}
	/* Without an array part (or past it), index keys are ordinary entries. */
	for (i = 0; i < (duk_uint_fast32_t) DUK_HOBJECT_GET_ENEXT(h); i++) {
		duk_hstring *key = DUK_HOBJECT_E_GET_KEY(thr->heap, h, i);
		if (key != NULL && DUK_HSTRING_HAS_ARRIDX(key)) {
			return 1;
		}
	}
	return 0;
}

void evaluatecode_make_not_constructable(duk_context *ctx, duk_idx_t idx) {
	DUK_HOBJECT_CLEAR_CONSTRUCTABLE(duk_require_hobject((duk_hthread *) ctx, idx));
}

duk_ret_t evaluatecode_duktape_array_join(duk_context *ctx) {
	return duk_bi_array_prototype_join_shared((duk_hthread *) ctx);
}
