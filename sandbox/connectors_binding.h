#ifndef EVALUATECODE_SANDBOX_CONNECTORS_BINDING_H_
#define EVALUATECODE_SANDBOX_CONNECTORS_BINDING_H_

#include <string>
#include <vector>

#include "duktape.h"
#include "google/protobuf/struct.pb.h"
#include "sandbox/connector_host.h"
#include "sandbox/value_bridge.h"

namespace evaluatecode::sandbox {

// The script's `connectors` object: `connectors.<name>.<operation>(params)` returns
// `{status, body}` or throws a ConnectorError (`name` "ConnectorError", `reason` such as
// "CONNECTOR_TIMEOUT", `status`). A ConnectorError also carries a hidden mark scripts cannot forge,
// so that one left uncaught ends the evaluation with its reason (ReadThrownError reports it).

// Scratch space for one evaluation's connector calls, owned outside Duktape so that no C++ object
// lives in a frame Duktape may longjmp through.
struct ConnectorCallScratch {
  std::string connector;
  std::string operation;
  google::protobuf::Value params;
  ConnectorCallOutcome outcome;
  ValueBridge bridge;
  // Raised when the host asked to suspend; the heap's interrupt hook then stops the script.
  bool suspended = false;
};

// Largest params object a script may pass, as JSON.
inline constexpr size_t kMaxConnectorParamsBytes = 64 << 10;

// Defines the global `connectors` for `catalog`. Call inside duk_safe_call, before freezing.
void InstallConnectors(duk_context* ctx, const std::vector<ConnectorCatalogEntry>& catalog);

// Routes calls to `host` with `scratch` (both may be null to detach; must stay alive while bound).
// Call inside duk_safe_call.
void BindConnectorHost(duk_context* ctx, ConnectorHost* host, ConnectorCallScratch* scratch);

// The hidden key under which a ConnectorError keeps its reason.
inline constexpr char kConnectorReasonKey[] = "\xff" "connectorReason";

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_CONNECTORS_BINDING_H_
