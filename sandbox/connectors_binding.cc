#include "sandbox/connectors_binding.h"

namespace evaluatecode::sandbox {
namespace {

constexpr char kHostKey[] = "\xff" "connectorHost";
constexpr char kScratchKey[] = "\xff" "connectorScratch";
constexpr char kConnectorKey[] = "\xff" "connector";
constexpr char kOperationKey[] = "\xff" "operation";

void* StashPointer(duk_context* ctx, const char* key) {
  duk_push_global_stash(ctx);
  duk_get_prop_string(ctx, -1, key);
  void* pointer = duk_get_pointer(ctx, -1);
  duk_pop_2(ctx);
  return pointer;
}

// Copies the hidden string property `key` of the current function into `out`.
void ReadCalleeString(duk_context* ctx, const char* key, std::string* out) {
  duk_push_current_function(ctx);
  duk_get_prop_string(ctx, -1, key);
  duk_size_t length = 0;
  const char* text = duk_get_lstring(ctx, -1, &length);
  out->assign(text != nullptr ? text : "", length);
  duk_pop_2(ctx);
}

// Defines an own property (a plain put would hit the frozen Error.prototype's `name`).
void DefineOwn(duk_context* ctx, const char* key) {
  duk_push_string(ctx, key);
  duk_insert(ctx, -2);
  duk_def_prop(ctx, -3,
               DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WRITABLE | DUK_DEFPROP_SET_CONFIGURABLE);
}

duk_ret_t ThrowConnectorError(duk_context* ctx, const ConnectorCallOutcome& outcome) {
  duk_push_error_object(ctx, DUK_ERR_ERROR, "%s: %s", outcome.error_reason.c_str(),
                        outcome.message.c_str());
  duk_push_string(ctx, "ConnectorError");
  DefineOwn(ctx, "name");
  duk_push_string(ctx, outcome.error_reason.c_str());
  DefineOwn(ctx, "reason");
  duk_push_int(ctx, outcome.http_status);
  DefineOwn(ctx, "status");
  duk_push_string(ctx, outcome.error_reason.c_str());
  duk_put_prop_string(ctx, -2, kConnectorReasonKey);
  return duk_throw(ctx);
}

// connectors.<name>.<operation>(params)
duk_ret_t CallConnector(duk_context* ctx) {
  auto* host = static_cast<ConnectorHost*>(StashPointer(ctx, kHostKey));
  auto* scratch = static_cast<ConnectorCallScratch*>(StashPointer(ctx, kScratchKey));
  if (scratch == nullptr) return duk_error(ctx, DUK_ERR_ERROR, "connectors are not available here");
  ReadCalleeString(ctx, kConnectorKey, &scratch->connector);
  ReadCalleeString(ctx, kOperationKey, &scratch->operation);

  duk_set_top(ctx, 1);
  if (duk_is_undefined(ctx, 0)) {
    duk_pop(ctx);
    duk_push_object(ctx);
  }
  if (!duk_is_object(ctx, 0) || duk_is_array(ctx, 0) || duk_is_function(ctx, 0)) {
    return duk_error(ctx, DUK_ERR_TYPE_ERROR, "connectors.%s.%s(params): params must be an object",
                     scratch->connector.c_str(), scratch->operation.c_str());
  }
  if (!scratch->bridge.ToProto(ctx, 0, kMaxConnectorParamsBytes, &scratch->params)) {
    return duk_error(ctx, DUK_ERR_TYPE_ERROR, "connectors.%s.%s(params): %s",
                     scratch->connector.c_str(), scratch->operation.c_str(),
                     scratch->bridge.invalid_reason().c_str());
  }

  if (host == nullptr) {
    scratch->outcome = ConnectorCallOutcome{"CONNECTOR_NOT_ALLOWED",
                                            "this evaluation may not call connectors"};
  } else {
    scratch->outcome =
        host->Call(scratch->connector, scratch->operation, scratch->params.struct_value());
  }
  if (scratch->outcome.suspend) {
    // The throw ends the call at once; the interrupt hook (DuktapeHeap::Arm) then stops whatever
    // a catch or finally block tries next.
    scratch->suspended = true;
    return duk_error(ctx, DUK_ERR_ERROR, "the evaluation is suspended until its connector answers");
  }
  if (!scratch->outcome.error_reason.empty()) return ThrowConnectorError(ctx, scratch->outcome);

  duk_push_object(ctx);
  duk_push_int(ctx, scratch->outcome.http_status);
  duk_put_prop_string(ctx, -2, "status");
  scratch->bridge.PushValue(ctx, scratch->outcome.body);
  duk_put_prop_string(ctx, -2, "body");
  return 1;
}

// Typed helpers of built-in connector types, defined on the connector's object.
// connectors.<sift>.scoreOf(userId, abuseType = 'payment_abuse') -> the score (0..1).
constexpr char kSiftHelpers[] = R"js(
(function (sift) {
  sift.scoreOf = function scoreOf(userId, abuseType) {
    var type = abuseType || 'payment_abuse';
    var response = sift.score({user_id: userId, abuse_types: [type]});
    var entry = response.body && response.body.scores && response.body.scores[type];
    if (!entry || typeof entry.score !== 'number') {
      throw new TypeError('Sift returned no ' + type + ' score for ' + userId);
    }
    return entry.score;
  };
})
)js";

}  // namespace

void InstallConnectors(duk_context* ctx, const std::vector<ConnectorCatalogEntry>& catalog) {
  BindConnectorHost(ctx, nullptr, nullptr);
  duk_push_object(ctx);
  for (const ConnectorCatalogEntry& connector : catalog) {
    duk_push_object(ctx);
    for (const std::string& operation : connector.operations) {
      duk_push_c_function(ctx, CallConnector, 1);
      duk_push_string(ctx, connector.name.c_str());
      duk_put_prop_string(ctx, -2, kConnectorKey);
      duk_push_string(ctx, operation.c_str());
      duk_put_prop_string(ctx, -2, kOperationKey);
      duk_put_prop_string(ctx, -2, operation.c_str());
    }
    if (connector.type == "sift") {
      duk_eval_string(ctx, kSiftHelpers);
      duk_dup(ctx, -2);
      duk_call(ctx, 1);
      duk_pop(ctx);
    }
    duk_put_prop_string(ctx, -2, connector.name.c_str());
  }
  duk_put_global_string(ctx, "connectors");
}

void BindConnectorHost(duk_context* ctx, ConnectorHost* host, ConnectorCallScratch* scratch) {
  duk_push_global_stash(ctx);
  duk_push_pointer(ctx, host);
  duk_put_prop_string(ctx, -2, kHostKey);
  duk_push_pointer(ctx, scratch);
  duk_put_prop_string(ctx, -2, kScratchKey);
  duk_pop(ctx);
}

}  // namespace evaluatecode::sandbox
