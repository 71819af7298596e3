#include "connectors/circuit_breaker.h"

#include <utility>

namespace evaluatecode::connectors {

CircuitBreaker::CircuitBreaker(const CircuitBreakerPolicy& policy, const TimeSource& time_source,
                               TransitionListener on_transition)
    : policy_(policy), time_source_(time_source), on_transition_(std::move(on_transition)) {}

bool CircuitBreaker::Admit() {
  if (policy_.failure_rate_percent <= 0) return true;
  bool admitted;
  bool deliver;
  {
    absl::MutexLock lock(&mu_);
    admitted = AdmitLocked();
    deliver = ClaimDeliveryLocked();
  }
  if (deliver) DeliverTransitions();
  return admitted;
}

void CircuitBreaker::Record(Outcome outcome) {
  if (policy_.failure_rate_percent <= 0) return;
  bool deliver;
  {
    absl::MutexLock lock(&mu_);
    RecordLocked(outcome);
    deliver = ClaimDeliveryLocked();
  }
  if (deliver) DeliverTransitions();
}

bool CircuitBreaker::AdmitLocked() {
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (time_source_.Now() < open_until_) return false;
      TransitionLocked(State::kHalfOpen);
      probes_admitted_ = 0;
      probes_succeeded_ = 0;
      [[fallthrough]];
    case State::kHalfOpen:
      if (probes_admitted_ >= policy_.half_open_calls) return false;
      ++probes_admitted_;
      return true;
  }
  return false;
}

void CircuitBreaker::RecordLocked(Outcome outcome) {
  switch (state_) {
    case State::kOpen:
      // A call admitted before the breaker opened; its outcome no longer matters.
      return;
    case State::kHalfOpen:
      if (outcome == Outcome::kFailure) {
        OpenLocked();
      } else if (outcome == Outcome::kIgnored) {
        --probes_admitted_;
      } else if (++probes_succeeded_ >= policy_.half_open_calls) {
        TransitionLocked(State::kClosed);
        window_.clear();
        failures_in_window_ = 0;
      }
      return;
    case State::kClosed:
      if (outcome == Outcome::kIgnored) return;
      window_.push_back(outcome == Outcome::kFailure);
      if (outcome == Outcome::kFailure) ++failures_in_window_;
      if (static_cast<int>(window_.size()) > policy_.window_calls) {
        if (window_.front()) --failures_in_window_;
        window_.pop_front();
      }
      if (static_cast<int>(window_.size()) >= policy_.minimum_calls &&
          failures_in_window_ * 100 >=
              policy_.failure_rate_percent * static_cast<int>(window_.size())) {
        OpenLocked();
      }
      return;
  }
}

void CircuitBreaker::OpenLocked() {
  TransitionLocked(State::kOpen);
  open_until_ = time_source_.Now() + policy_.open_duration;
  window_.clear();
  failures_in_window_ = 0;
}

void CircuitBreaker::TransitionLocked(State to) {
  state_ = to;
  if (on_transition_) undelivered_.push_back(to);
}

bool CircuitBreaker::ClaimDeliveryLocked() {
  if (delivering_ || undelivered_.empty()) return false;
  delivering_ = true;
  return true;
}

void CircuitBreaker::DeliverTransitions() {
  // Transitions queued by other threads meanwhile are delivered here too, after ours: delivering
  // from each thread on its own could report them out of order.
  while (true) {
    State state;
    {
      absl::MutexLock lock(&mu_);
      if (undelivered_.empty()) {
        delivering_ = false;
        return;
      }
      state = undelivered_.front();
      undelivered_.pop_front();
    }
    on_transition_(state);
  }
}

CircuitBreaker::State CircuitBreaker::state() const {
  absl::MutexLock lock(&mu_);
  // Report half-open as soon as the wait is over, even before a call asks.
  if (state_ == State::kOpen && time_source_.Now() >= open_until_) return State::kHalfOpen;
  return state_;
}

absl::string_view CircuitBreakerStateName(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed: return "closed";
    case CircuitBreaker::State::kOpen: return "open";
    case CircuitBreaker::State::kHalfOpen: return "half-open";
  }
  return "closed";
}

}  // namespace evaluatecode::connectors
