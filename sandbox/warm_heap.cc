#include "sandbox/warm_heap.h"

#include <cstring>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "sandbox/array_join.h"
#include "sandbox/script_runtime.h"
#include "sandbox/thrown_error.h"

namespace evaluatecode::sandbox {
namespace {

// Globals a script must not reach: engine internals (Duktape.act/fin/dec/Thread/info can inspect
// and resurrect objects), CBOR (buffer forging) and the loaders and printers of Duktape's extras.
// `performance` reads the monotonic clock, which would make results depend on the machine.
constexpr const char* kRemovedGlobals[] = {"Duktape", "CBOR",  "require",
                                           "print",   "alert", "performance"};

// Hidden stash keys (the \xff prefix makes them Duktape-internal symbols scripts cannot name).
constexpr char kDeepFreezeKey[] = "\xff" "deepFreeze";
constexpr char kFunctionsKey[] = "\xff" "functions";
constexpr char kDrainJobsKey[] = "\xff" "drainJobs";
constexpr char kSettledStateKey[] = "\xff" "settledState";
constexpr char kSettledValueKey[] = "\xff" "settledValue";

// Before core-js: the job queues its Promise uses (it prefers a global queueMicrotask, and needs
// setTimeout for its unhandled-rejection check). Timers do not wait: once no microtask is left, the
// timer with the smallest delay (then the oldest) runs, so code that awaits a delay completes in
// order within the evaluation's own deadline. The queues are private to the closure and always
// empty between evaluations (drained, or dropped after a suspension; a heap where a job threw is
// discarded). Returns the drain function (called with true, it drops the queues instead), kept in
// the hidden stash.
constexpr char kJobQueueSource[] = R"js(
(function (global) {
  var jobs = [], timers = [], nextTimer = 1;
  function define(name, fn) {
    Object.defineProperty(global, name,
                          {value: fn, writable: true, enumerable: false, configurable: true});
  }
  function needFunction(fn, name) {
    if (typeof fn !== 'function') throw new TypeError(name + ' needs a function');
  }
  define('queueMicrotask', function queueMicrotask(job) {
    needFunction(job, 'queueMicrotask');
    jobs.push(job);
  });
  define('setTimeout', function setTimeout(fn, delay) {
    needFunction(fn, 'setTimeout');
    var args = Array.prototype.slice.call(arguments, 2), id = nextTimer++;
    timers.push({id: id, delay: Math.max(0, Number(delay) || 0), run: function () {
      fn.apply(undefined, args);
    }});
    return id;
  });
  define('clearTimeout', function clearTimeout(id) {
    timers = timers.filter(function (t) { return t.id !== id; });
  });
  return function drainJobs(drop) {
    if (drop) {
      jobs = [];
      timers = [];
      return;
    }
    for (;;) {
      while (jobs.length > 0) jobs.shift()();
      if (timers.length === 0) return;
      var next = 0;
      for (var i = 1; i < timers.length; i++) {
        if (timers[i].delay < timers[next].delay) next = i;
      }
      timers.splice(next, 1)[0].run();
    }
  };
})(this)
)js";

enum SettledState { kPending = 0, kFulfilled = 1, kRejected = 2 };

// The callbacks SettleTop passes to `then`: record how the promise settled (magic) and the value.
duk_ret_t OnSettled(duk_context* ctx) {
  duk_push_global_stash(ctx);
  duk_push_int(ctx, duk_get_current_magic(ctx));
  duk_put_prop_string(ctx, -2, kSettledStateKey);
  duk_dup(ctx, 0);
  duk_put_prop_string(ctx, -2, kSettledValueKey);
  return 0;
}

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
  // firstVisit(o): true the first time it sees `o` in this walk (a native hash set: the walk is
  // linear in the objects reached, which core-js makes many).
  return function deepFreeze(root, firstVisit) {
    var pending = [root];
    while (pending.length > 0) {
      var o = pending.pop();
      if (o === null || (typeof o !== 'object' && typeof o !== 'function')) continue;
      if (!firstVisit(o)) continue;
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

constexpr char kVisitedSetKey[] = "\xff" "visited";

// deepFreeze's firstVisit: inserts the argument's heap pointer into the walk's set. Pointers are
// only compared, never followed, and every object of the walk stays reachable until it ends.
duk_ret_t FirstVisit(duk_context* ctx) {
  duk_push_current_function(ctx);
  duk_get_prop_string(ctx, -1, kVisitedSetKey);
  auto* visited = static_cast<absl::flat_hash_set<void*>*>(duk_get_pointer(ctx, -1));
  duk_push_boolean(ctx, visited != nullptr && visited->insert(duk_get_heapptr(ctx, 0)).second);
  return 1;
}

// [... deepFreeze target] → [...]: freezes target and everything reachable from it. An error
// (the heap's memory cap) is thrown again only once the set is gone: Duktape unwinds by longjmp,
// which would skip its destructor.
void CallDeepFreeze(duk_context* ctx) {
  duk_int_t status;
  {
    absl::flat_hash_set<void*> visited;
    duk_push_c_function(ctx, FirstVisit, 1);
    duk_push_pointer(ctx, &visited);
    duk_put_prop_string(ctx, -2, kVisitedSetKey);
    duk_dup_top(ctx);
    duk_insert(ctx, -4);  // [... firstVisit deepFreeze target firstVisit]
    status = duk_pcall(ctx, 2);
    // [... firstVisit result-or-error]; the set dies here, so the function must not find it.
    duk_push_pointer(ctx, nullptr);
    duk_put_prop_string(ctx, -3, kVisitedSetKey);
  }
  duk_remove(ctx, -2);
  if (status != DUK_EXEC_SUCCESS) duk_throw(ctx);
  duk_pop(ctx);
}

struct PrepareCall {
  const std::vector<ConnectorCatalogEntry>* catalog;
  const std::string* core_js_bytecode;
};

duk_ret_t Prepare(duk_context* ctx, void* udata) {
  const auto* call = static_cast<const PrepareCall*>(udata);
  duk_push_global_object(ctx);
  for (const char* name : kRemovedGlobals) duk_del_prop_string(ctx, -1, name);
  duk_pop(ctx);
  Console::Install(ctx);
  InstallConnectors(ctx, *call->catalog);
  if (call->core_js_bytecode != nullptr) {
    duk_push_global_stash(ctx);
    duk_eval_string(ctx, kJobQueueSource);
    duk_put_prop_string(ctx, -2, kDrainJobsKey);
    duk_pop(ctx);
    RunBytecode(ctx, *call->core_js_bytecode);
  }
  InstallArrayJoin(ctx);  // relies on the freeze that follows

  duk_push_global_stash(ctx);
  duk_eval_string(ctx, kDeepFreezeSource);
  duk_dup_top(ctx);
  duk_put_prop_string(ctx, -3, kDeepFreezeKey);
  duk_push_global_object(ctx);
  CallDeepFreeze(ctx);
  duk_push_object(ctx);
  duk_put_prop_string(ctx, -2, kFunctionsKey);
  duk_pop(ctx);
  return 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WarmHeap>> WarmHeap::Create(
    const TimeSource& time_source, const std::vector<ConnectorCatalogEntry>& catalog,
    const std::string* core_js_bytecode) {
  absl::StatusOr<std::unique_ptr<DuktapeHeap>> heap =
      DuktapeHeap::Create(std::numeric_limits<size_t>::max(), time_source);
  if (!heap.ok()) return heap.status();
  std::unique_ptr<WarmHeap> warm(new WarmHeap(*std::move(heap)));
  PrepareCall call{&catalog, core_js_bytecode};
  warm->has_runtime_ = core_js_bytecode != nullptr;
  if (duk_safe_call(warm->context(), Prepare, &call, 0, 1) != DUK_EXEC_SUCCESS) {
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
  CallDeepFreeze(ctx);
  duk_dup_top(ctx);
  duk_put_prop_lstring(ctx, -3, cache_key.data(), cache_key.size());
  // [... stash functions fn]
  duk_replace(ctx, -3);
  duk_pop(ctx);
}

void WarmHeap::DrainJobs() { CallJobQueue(/*drop=*/false); }

void WarmHeap::DropJobs() { CallJobQueue(/*drop=*/true); }

void WarmHeap::CallJobQueue(bool drop) {
  if (!has_runtime_) return;
  duk_context* ctx = context();
  duk_push_global_stash(ctx);
  duk_get_prop_string(ctx, -1, kDrainJobsKey);
  duk_push_boolean(ctx, drop);
  duk_call(ctx, 1);
  duk_pop_2(ctx);
}

bool WarmHeap::SettleTop() {
  duk_context* ctx = context();
  if (!duk_is_object(ctx, -1)) return true;
  duk_get_prop_string(ctx, -1, "then");
  if (!duk_is_function(ctx, -1)) {
    duk_pop(ctx);
    return true;
  }
  duk_push_global_stash(ctx);
  duk_push_int(ctx, kPending);
  duk_put_prop_string(ctx, -2, kSettledStateKey);
  duk_pop(ctx);
  // [... promise then] → promise.then(OnSettled(fulfilled), OnSettled(rejected))
  duk_dup(ctx, -2);
  duk_push_c_function(ctx, OnSettled, 1);
  duk_set_magic(ctx, -1, kFulfilled);
  duk_push_c_function(ctx, OnSettled, 1);
  duk_set_magic(ctx, -1, kRejected);
  duk_call_method(ctx, 2);
  duk_pop(ctx);
  DrainJobs();

  duk_push_global_stash(ctx);
  duk_get_prop_string(ctx, -1, kSettledStateKey);
  const int state = duk_get_int(ctx, -1);
  duk_pop(ctx);
  if (state == kPending) {
    duk_pop(ctx);
    return false;
  }
  duk_get_prop_string(ctx, -1, kSettledValueKey);
  duk_push_undefined(ctx);
  duk_put_prop_string(ctx, -3, kSettledValueKey);  // drop the stash's reference
  duk_remove(ctx, -2);                              // the stash
  if (state == kRejected) duk_throw(ctx);
  duk_replace(ctx, -2);
  return true;
}

void WarmHeap::FinishUse(size_t gc_threshold_bytes) {
  ++uses_;
  if (heap_->used_bytes() > baseline_bytes_ + gc_threshold_bytes) duk_gc(context(), 0);
}

}  // namespace evaluatecode::sandbox
