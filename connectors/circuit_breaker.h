#ifndef EVALUATECODE_CONNECTORS_CIRCUIT_BREAKER_H_
#define EVALUATECODE_CONNECTORS_CIRCUIT_BREAKER_H_

#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time_source.h"

namespace evaluatecode::connectors {

// When a connector's breaker opens and how it recovers (resilience4j's model, smaller numbers: a
// decision service prefers failing fast over queueing behind a sick vendor).
struct CircuitBreakerPolicy {
  // Opens when at least this percentage of the calls in the window failed. 0 disables the breaker.
  int failure_rate_percent = 50;
  // The window: the last N outcomes recorded (the HTTP gateway records one per attempt, so a
  // retried call counts once per attempt). At least 1.
  int window_calls = 20;
  // No decision before the window holds this many outcomes. From 1 to window_calls.
  int minimum_calls = 10;
  // How long the breaker stays open before letting probes through.
  absl::Duration open_duration = absl::Seconds(30);
  // Probes let through when half-open; all must succeed to close, any failure re-opens. At least 1.
  int half_open_calls = 1;
};

// A count-based circuit breaker driven by an injected TimeSource. Thread-safe; every method is
// O(1) and takes one uncontended lock, so an open breaker answers in well under a microsecond.
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  enum class Outcome {
    kSuccess,
    kFailure,
    // Says nothing about the vendor's health (e.g. egress refused before sending): frees a
    // half-open probe slot without deciding.
    kIgnored,
  };

  // Told each new state after a transition: closed → open, open → half-open (when the first call
  // asks after open_duration, not when the wait ends), half-open → closed or open.
  using TransitionListener = std::function<void(State)>;

  // `time_source` is not owned and must outlive the breaker. `on_transition` may be empty; it is
  // called once per transition, in the order the transitions happened, on the thread of the Admit
  // or Record that caused it or of one that overlapped it, never with the breaker's lock held.
  CircuitBreaker(const CircuitBreakerPolicy& policy, const TimeSource& time_source,
                 TransitionListener on_transition = nullptr);

  // Asks to send one call. Every call admitted must later be reported with Record().
  // @return false if the breaker is open (or half-open with all probes taken): fail fast.
  bool Admit() ABSL_LOCKS_EXCLUDED(mu_);

  // Reports how an admitted call ended.
  void Record(Outcome outcome) ABSL_LOCKS_EXCLUDED(mu_);

  State state() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  bool AdmitLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordLocked(Outcome outcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OpenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TransitionLocked(State to) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // True if the caller must now call DeliverTransitions: transitions wait and nobody delivers.
  bool ClaimDeliveryLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DeliverTransitions() ABSL_LOCKS_EXCLUDED(mu_);

  const CircuitBreakerPolicy policy_;
  const TimeSource& time_source_;
  const TransitionListener on_transition_;
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kClosed;
  // Outcomes while closed, newest at the back; true = failure.
  std::deque<bool> window_ ABSL_GUARDED_BY(mu_);
  int failures_in_window_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time open_until_ ABSL_GUARDED_BY(mu_);
  int probes_admitted_ ABSL_GUARDED_BY(mu_) = 0;
  int probes_succeeded_ ABSL_GUARDED_BY(mu_) = 0;
  // Transitions not yet given to on_transition_, oldest first. One thread at a time delivers them
  // (`delivering_`), so a listener keeping the latest state never ends on a stale one.
  std::deque<State> undelivered_ ABSL_GUARDED_BY(mu_);
  bool delivering_ ABSL_GUARDED_BY(mu_) = false;
};

absl::string_view CircuitBreakerStateName(CircuitBreaker::State state);

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_CIRCUIT_BREAKER_H_
