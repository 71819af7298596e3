#ifndef EVALUATECODE_CONNECTORS_CONNECTOR_GATEWAY_H_
#define EVALUATECODE_CONNECTORS_CONNECTOR_GATEWAY_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/await_callback.h"
#include "google/protobuf/struct.pb.h"

namespace evaluatecode::connectors {

// Why a connector call failed. The names (ConnectorErrorReasonName) are what scripts catch and what
// ConnectorCall.error_reason records.
enum class ConnectorErrorReason {
  kNone,
  // The connector is not configured (or disabled) on this server, or not in the request's list.
  kConnectorNotAllowed,
  // Unknown operation, or a parameter unknown, missing, of the wrong type or malformed.
  kInvalidParams,
  // The vendor's address (after DNS) or scheme is not allowed; nothing was sent.
  kEgressDenied,
  // No answer within min(connector timeout, the caller's deadline).
  kConnectorTimeout,
  // The circuit breaker is open, the rate limit is exhausted, the vendor is unreachable or the
  // connection broke, the credentials cannot be read, or the layer is shutting down.
  kConnectorUnavailable,
  // The vendor answered with a non-2xx status, a body that is not JSON, or an error in the body
  // (Sift: non-zero `status`); http_status says which.
  kVendorError,
  // The body passed the connector's max_response_bytes.
  kResponseTooLarge,
  // Replays only: no recorded response matches the call (the gateway answers from recordings).
  kReplayMissingRecording,
};

// "CONNECTOR_TIMEOUT" and so on; "" for kNone.
absl::string_view ConnectorErrorReasonName(ConnectorErrorReason reason);

// A vendor's parsed answer, read-only and shared: the response cache, identical calls answered by
// one request and the evaluation's record hold one tree rather than copies. Never null.
using ConnectorBody = std::shared_ptr<const google::protobuf::Value>;

// The body of a call that has none: a shared null_value.
const ConnectorBody& NullConnectorBody();

// One call a script makes: `connectors.<connector>.<operation>(params)`.
struct ConnectorRequest {
  // Tenant of the evaluation: keys the response cache and in-flight collapsing, so tenants never
  // share a vendor answer.
  std::string tenant;
  std::string connector;
  std::string operation;
  // The script's argument object.
  google::protobuf::Struct params;
  // The evaluation's deadline; the call gets min(connector timeout, deadline - now) per attempt and
  // never retries past it.
  absl::Time deadline = absl::InfiniteFuture();
  // The request's `connectors` list: the call is allowed only if the connector is named here too.
  std::vector<std::string> allowed_connectors;
};

// The outcome of one call, safe to hand to a script and to record: it never contains the secret
// (in any encoding), response headers or the URL.
struct ConnectorResult {
  std::string connector;
  std::string operation;
  ConnectorErrorReason reason = ConnectorErrorReason::kNone;
  // Empty on success; otherwise a short, scrubbed description for the script and logs.
  std::string message;
  // The vendor's HTTP status; 0 when no response was received (or it came from the cache with the
  // status it had then).
  int http_status = 0;
  // The parsed JSON body, scrubbed; null_value when there is none (failure before a body, or a
  // non-JSON body). Present for VENDOR_ERROR when the vendor's error body is JSON.
  ConnectorBody body = NullConnectorBody();
  // HTTP attempts this call made (0 when answered from the cache or by another identical call in
  // flight, or refused before sending).
  int attempts = 0;
  // From Call() to the result, by the gateway's TimeSource.
  absl::Duration duration;
  // True when the answer came from the response cache or from an identical call already in flight.
  bool from_cache = false;
  // The params as given, with sensitive ones replaced by "[REDACTED]".
  google::protobuf::Struct redacted_params;

  bool ok() const { return reason == ConnectorErrorReason::kNone; }
};

// For ListConnectors: what a connector offers.
struct ParameterDescription {
  std::string name;
  std::string type;  // "string", "number", "integer", "boolean" or "string_list"
  bool required = false;
  std::string description;
};
struct OperationDescription {
  std::string name;
  std::string method;
  std::string description;
  std::vector<ParameterDescription> parameters;
};
struct ConnectorDescription {
  std::string name;
  std::string description;
  std::vector<OperationDescription> operations;
  // The built-in type the connector follows ("sift"), or "" for a config-only vendor.
  std::string type;
};

// The connector layer as the rest of the service sees it: sandbox-agnostic, no curl, no secrets.
// Implementations are thread-safe.
class ConnectorGateway {
 public:
  virtual ~ConnectorGateway() = default;

  // Starts `request` and calls `done` exactly once with its result. Failures decided up front (not
  // allowed, bad params, breaker open, rate limited, cache hit, deadline already passed) call
  // `done` on the calling thread before Call returns; everything else calls it on the HTTP client's
  // I/O thread, which `done` must not block. No thread waits while the vendor answers.
  virtual void Call(ConnectorRequest request, std::function<void(ConnectorResult)> done) = 0;

  // The enabled connectors, sorted by name, operations in declaration order.
  virtual std::vector<ConnectorDescription> ListConnectors() const = 0;

  // Call() and wait for the result. Blocks the calling thread, so never call it from a `done`
  // callback (the I/O thread would wait for itself).
  ConnectorResult CallAndWait(ConnectorRequest request) {
    return AwaitCallback<ConnectorResult>(
        [&](std::function<void(ConnectorResult)> done) { Call(std::move(request), std::move(done)); });
  }
};

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_CONNECTOR_GATEWAY_H_
