#ifndef EVALUATECODE_CONNECTORS_CONNECTOR_OBSERVER_H_
#define EVALUATECODE_CONNECTORS_CONNECTOR_OBSERVER_H_

#include "absl/strings/string_view.h"
#include "connectors/circuit_breaker.h"

namespace evaluatecode::connectors {

// What the gateway's resilience machinery does, for metrics: breaker transitions, rate-limit
// refusals and retries. connectors/ must not depend on service/, so the service implements this to
// feed its metrics. `connector` is always a configured connector's name.
//
// Implementations must be thread-safe and return quickly: the gateway calls them from the threads
// that call it and from the HttpClient's I/O thread, with no lock of its own held.
class ConnectorObserver {
 public:
  virtual ~ConnectorObserver() = default;

  // The breaker of `connector` moved to `state` (see CircuitBreaker::TransitionListener: open →
  // half-open happens when the first call asks after the open duration). Called once per
  // transition, in the order the transitions happened.
  virtual void OnBreakerStateChanged(absl::string_view connector, CircuitBreaker::State state) = 0;

  // A call to `connector` was refused by its rate limit before anything was sent (the script gets
  // CONNECTOR_UNAVAILABLE). A retry held back by the limit is not reported here: its call ends
  // with the answer of the attempt before.
  virtual void OnRateLimited(absl::string_view connector) = 0;

  // An HTTP attempt that retries a failed one is being sent to `connector`. First attempts are not
  // reported.
  virtual void OnRetry(absl::string_view connector) = 0;
};

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_CONNECTOR_OBSERVER_H_
