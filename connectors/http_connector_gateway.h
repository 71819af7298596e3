#ifndef EVALUATECODE_CONNECTORS_HTTP_CONNECTOR_GATEWAY_H_
#define EVALUATECODE_CONNECTORS_HTTP_CONNECTOR_GATEWAY_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/time_source.h"
#include "connectors/connector_config.h"
#include "connectors/connector_gateway.h"
#include "connectors/connector_observer.h"
#include "connectors/connector_type.h"
#include "connectors/http_client.h"
#include "connectors/random_source.h"
#include "connectors/secret_store.h"

namespace evaluatecode::connectors {

// What the gateway is built from. Pointers are not owned.
struct GatewayOptions {
  // From ParseConnectorsConfig. Names must be distinct.
  std::vector<ConnectorConfig> connectors;
  // Resolves ConnectorConfig::type (for vendor error conventions); may be null when no connector
  // has a type. Must outlive the gateway.
  const ConnectorTypeRegistry* types = nullptr;
  // Required. Every vendor request goes through it.
  HttpClient* http_client = nullptr;
  // Required. Read on every call that has auth, so rotated secrets apply at once.
  SecretStore* secrets = nullptr;
  // Required. Deadlines, durations, breaker waits, rate-limit refill and cache TTLs read it.
  const TimeSource* time_source = nullptr;
  // Required. Backoff jitter.
  RandomSource* random = nullptr;
  // Optional (null: nothing is reported). Told of breaker transitions, rate-limit refusals and
  // retries. Must outlive the gateway.
  ConnectorObserver* observer = nullptr;
};

// The gateway over HttpClient: allowlist, parameter checks and templating, response cache and
// in-flight collapsing per (tenant, connector, operation, request), circuit breaker, token-bucket
// rate limit, secret attachment, retries with full-jitter backoff within the deadline (of idempotent
// methods, or of any method whose connection was never made), JSON parsing, and scrubbing of the
// secret from everything returned.
//
// kInvalidArgument for a missing collaborator, duplicate names or an unknown type. The gateway is
// thread-safe. Lifetime: calls in flight hold the gateway, so destroy (or shut down) the
// HttpClient first — it answers every outstanding request, which completes those calls — and only
// then the gateway.
absl::StatusOr<std::unique_ptr<ConnectorGateway>> NewConnectorGateway(GatewayOptions options);

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_HTTP_CONNECTOR_GATEWAY_H_
