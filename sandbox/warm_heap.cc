#include "sandbox/warm_heap.h"

#include <cstring>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "sandbox/thrown_error.h"

namespace evaluatecode::sandbox {
namespace {

// Globals a script must not reach: engine internals (Duktape.act/fin/dec/Thread/info can inspect
// and resurrect objects), CBOR (buffer forging) and the loaders and printers of Duktape's extras.
constexpr const char* kRemovedGlobals[] = {"Duktape", "CBOR", "require", "print", "alert"};

// Hidden stash keys (the \xff prefix makes them Duktape-internal symbols scripts cannot name).
constexpr char kDeepFreezeKey[] = "\xff" "deepFreeze";
constexpr char kFunctionsKey[] = "\xff" "functions";

// Our own, trusted code, run once per heap before any script: returns a function that freezes an
// object and everything reachable from it through properties (values and accessors, symbol keys
// included) and prototypes.
//
// Freezing a prototype makes its data properties non-writable, and then assigning a property of the
// same name to an object that inherits it fails (the "override mistake"): `e.name = 'MyError'` or
// `Foo.prototype.toString = …` would throw. For the properties code commonly overrides, the data
// property is first replaced by a getter returning the original value and a setter that defines an
// own property on the object assigned to (SES's approach); the prototype itself stays unchangeable.
constexpr char kDeepFreezeSource[] = R"js(
(function (global) {
  var getNames = Object.getOwnPropertyNames, getSymbols = Object.getOwnPropertySymbols,
      describe = Object.getOwnPropertyDescriptor, define = Object.defineProperty,
      freeze = Object.freeze, protoOf = Object.getPrototypeOf;
  function allowOverride(proto, names) {
    names.forEach(function (name) {
      var d = describe(proto, name);
      if (!d || !('value' in d)) return;
      var value = d.value;
      define(proto, name, {
        get: function () { return value; },
        set: function (v) {
          if (this === proto) throw new TypeError('Cannot assign to read only property ' + name);
          define(this, name, {value: v, writable: true, enumerable: true, configurable: true});
        },
        enumerable: d.enumerable, configurable: false
      });
    });
  }
  allowOverride(Object.prototype, ['toString', 'valueOf', 'toLocaleString', 'constructor',
                                   'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable']);
  allowOverride(Function.prototype, ['toString', 'constructor']);
  ['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError',
   'URIError'].forEach(function (name) {
    allowOverride(global[name].prototype, ['name', 'message', 'toString', 'constructor']);
  });
  return function deepFreeze(root) {
    var pending = [root], seen = [];
    while (pending.length > 0) {
      var o = pending.pop();
      if (o === null || (typeof o !== 'object' && typeof o !== 'function')) continue;
      if (seen.indexOf(o) >= 0) continue;
      seen.push(o);
      freeze(o);
      var keys = getNames(o);
      if (getSymbols) keys = keys.concat(getSymbols(o));
      for (var i = 0; i < keys.length; i++) {
        var d = describe(o, keys[i]);
        if (!d) continue;
        if ('value' in d) pending.push(d.value);
        if (d.get) pending.push(d.get);
        if (d.set) pending.push(d.set);
      }
      pending.push(protoOf(o));
    }
  };
})(this)
)js";

duk_ret_t Prepare(duk_context* ctx, void* udata) {
  duk_push_global_object(ctx);
  for (const char* name : kRemovedGlobals) duk_del_prop_string(ctx, -1, name);
  duk_pop(ctx);
  Console::Install(ctx);
  InstallConnectors(ctx, *static_cast<const std::vector<ConnectorCatalogEntry>*>(udata));

  duk_push_global_stash(ctx);
  duk_eval_string(ctx, kDeepFreezeSource);
  duk_dup_top(ctx);
  duk_put_prop_string(ctx, -3, kDeepFreezeKey);
  duk_push_global_object(ctx);
  duk_call(ctx, 1);
  duk_pop(ctx);
  duk_push_object(ctx);
  duk_put_prop_string(ctx, -2, kFunctionsKey);
  duk_pop(ctx);
  return 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WarmHeap>> WarmHeap::Create(
    const TimeSource& time_source, const std::vector<ConnectorCatalogEntry>& catalog) {
  absl::StatusOr<std::unique_ptr<DuktapeHeap>> heap =
      DuktapeHeap::Create(std::numeric_limits<size_t>::max(), time_source);
  if (!heap.ok()) return heap.status();
  std::unique_ptr<WarmHeap> warm(new WarmHeap(*std::move(heap)));
  auto* catalog_udata = const_cast<std::vector<ConnectorCatalogEntry>*>(&catalog);
  if (duk_safe_call(warm->context(), Prepare, catalog_udata, 0, 1) != DUK_EXEC_SUCCESS) {
    return absl::InternalError(absl::StrCat("preparing a script heap failed: ",
                                            ReadThrownError(warm->context()).message));
  }
  duk_pop(warm->context());
  duk_gc(warm->context(), 0);
  warm->baseline_bytes_ = warm->heap_->used_bytes();
  return warm;
}

void WarmHeap::Bind(Console* console, ConnectorHost* host, ConnectorCallScratch* scratch) {
  Console::Bind(context(), console);
  BindConnectorHost(context(), host, scratch);
}

void WarmHeap::PushScriptFunction(const CompiledScript& script, const std::string& cache_key) {
  duk_context* ctx = context();
  duk_push_global_stash(ctx);
  duk_get_prop_string(ctx, -1, kFunctionsKey);
  if (duk_get_prop_lstring(ctx, -1, cache_key.data(), cache_key.size())) {
    duk_replace(ctx, -3);
    duk_pop(ctx);
    return;
  }
  duk_pop(ctx);
  // [... stash functions]
  void* buffer = duk_push_fixed_buffer(ctx, script.bytecode.size());
  std::memcpy(buffer, script.bytecode.data(), script.bytecode.size());
  duk_load_function(ctx);
  // The function object and its `prototype` would otherwise carry state between evaluations.
  duk_get_prop_string(ctx, -3, kDeepFreezeKey);
  duk_dup(ctx, -2);
  duk_call(ctx, 1);
  duk_pop(ctx);
  duk_dup_top(ctx);
  duk_put_prop_lstring(ctx, -3, cache_key.data(), cache_key.size());
  // [... stash functions fn]
  duk_replace(ctx, -3);
  duk_pop(ctx);
}

void WarmHeap::FinishUse(size_t gc_threshold_bytes) {
  ++uses_;
  if (heap_->used_bytes() > baseline_bytes_ + gc_threshold_bytes) duk_gc(context(), 0);
}

}  // namespace evaluatecode::sandbox
