#ifndef EVALUATECODE_TESTS_TESTING_CONNECTORS_RECORDING_CONNECTOR_OBSERVER_H_
#define EVALUATECODE_TESTS_TESTING_CONNECTORS_RECORDING_CONNECTOR_OBSERVER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "connectors/connector_observer.h"

namespace evaluatecode::testing {

// Keeps every event in order as text, so that tests can assert a sequence with ElementsAre:
// "sift breaker open", "acme rate-limited", "sift retry". Thread-safe.
class RecordingConnectorObserver final : public connectors::ConnectorObserver {
 public:
  std::vector<std::string> events() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return events_;
  }

  // connectors::ConnectorObserver
  void OnBreakerStateChanged(absl::string_view connector,
                             connectors::CircuitBreaker::State state) override {
    Add(absl::StrCat(connector, " breaker ", connectors::CircuitBreakerStateName(state)));
  }
  void OnRateLimited(absl::string_view connector) override {
    Add(absl::StrCat(connector, " rate-limited"));
  }
  void OnRetry(absl::string_view connector) override { Add(absl::StrCat(connector, " retry")); }

 private:
  void Add(std::string event) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }

  mutable absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_CONNECTORS_RECORDING_CONNECTOR_OBSERVER_H_
