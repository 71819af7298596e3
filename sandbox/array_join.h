#ifndef EVALUATECODE_SANDBOX_ARRAY_JOIN_H_
#define EVALUATECODE_SANDBOX_ARRAY_JOIN_H_

#include "duktape.h"

namespace evaluatecode::sandbox {

// Replaces Array.prototype.join with one that answers an array without elements (only holes) at
// once and leaves every other case to Duktape's join.
//
// Duktape's join looks up each index, and for a hole that lookup turns the index into an interned
// string to search the prototypes: ≈ 100 ns a hole, so `new Array(n + 1).join(s)` (the ES5 idiom
// for repeating s n times) costs n string conversions before it writes a byte. Such an array joins
// to the separator repeated length − 1 times exactly when nothing it inherits has an index
// property either, which holds for every array whose prototype is the built-in Array.prototype
// only if Array.prototype and Object.prototype never gain one: call this on a heap whose built-ins
// are deep-frozen afterwards (WarmHeap). Throws if either prototype already has an index property.
// Call inside duk_safe_call.
void InstallArrayJoin(duk_context* ctx);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_ARRAY_JOIN_H_
