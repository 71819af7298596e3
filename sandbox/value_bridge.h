#ifndef EVALUATECODE_SANDBOX_VALUE_BRIDGE_H_
#define EVALUATECODE_SANDBOX_VALUE_BRIDGE_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "common/json_view.h"
#include "common/wire_struct.h"
#include "duktape.h"
#include "google/protobuf/struct.pb.h"

namespace evaluatecode::sandbox {

// Converts between protobuf's JSON model (Struct / Value) and Duktape values.
//
// Both directions call Duktape APIs that can throw (allocation failures under the memory cap, getters
// and toJSON methods written by the script), so they must run inside duk_safe_call. Their frames hold
// only pointers and integers so that Duktape's longjmp skips no destructor; scratch space lives in
// the bridge object, which the caller owns. Thread-compatible.
class ValueBridge {
 public:
  // Deepest nesting accepted in a result (a deeper or cyclic value is invalid). Protobuf's parsers
  // read a Value back only to about 33 nested objects (each level is three messages deep), and a
  // result must survive the worker channel and the client's parse.
  static constexpr int kMaxResultDepth = 32;

  // Pushes `value` as a plain JS object. Keys are pushed in sorted order so that iteration order in
  // the script does not depend on protobuf's map layout.
  void PushStruct(duk_context* ctx, const google::protobuf::Struct& value);

  // Pushes any JSON value (objects with sorted keys, as PushStruct).
  void PushValue(duk_context* ctx, const google::protobuf::Value& value);

  // Pushes an object read from its wire bytes (common/wire_struct.h) as PushStruct pushes the
  // Struct protobuf would parse from them.
  void PushWireStruct(duk_context* ctx, const WireStruct& value);

  // Converts the JS value at `index` into `out` (strings as valid UTF-8) with JSON.stringify's
  // semantics for undefined
  // properties (omitted) and undefined array elements (null), calling toJSON() where present.
  // Returns false, with invalid_reason() set, for what JSON cannot hold: a function, symbol, buffer,
  // NaN or ±Infinity, a cycle, nesting deeper than kMaxResultDepth, or a JSON size above
  // `max_json_bytes` (compact encoding, escapes not counted).
  bool ToProto(duk_context* ctx, duk_idx_t index, size_t max_json_bytes,
               google::protobuf::Value* out);

  // Why the last ToProto() failed, e.g. "result.reasons[2] is a function".
  const std::string& invalid_reason() const { return invalid_reason_; }

 private:
  // One walk for both kinds of input (common/json_view.h).
  template <typename View>
  void PushObjectOf(duk_context* ctx, const View& view, const typename View::Object& object);
  template <typename View>
  void PushValueOf(duk_context* ctx, const View& view, const typename View::Value& value);

  bool Convert(duk_context* ctx, duk_idx_t index, int depth, google::protobuf::Value* out);
  bool Fail(int depth, const char* what);
  bool CountBytes(size_t bytes, int depth);

  // Scratch for PushStruct and PushValue: entries of every object being pushed, sorted per object.
  ProtobufJsonView::Scratch entries_;

  // State of one ToProto() call. The path is kept as raw pointers into Duktape strings that stay on
  // the value stack while their level is being converted.
  struct PathStep {
    const char* key = nullptr;  // null for an array element
    size_t key_length = 0;
    size_t array_index = 0;
    void* heap_pointer = nullptr;  // the object at this level, for cycle detection
  };
  PathStep path_[kMaxResultDepth + 1];
  size_t max_json_bytes_ = 0;
  size_t json_bytes_ = 0;
  std::string invalid_reason_;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_VALUE_BRIDGE_H_
