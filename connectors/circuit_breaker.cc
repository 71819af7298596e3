#include "connectors/circuit_breaker.h"

namespace evaluatecode::connectors {

CircuitBreaker::CircuitBreaker(const CircuitBreakerPolicy& policy, const TimeSource& time_source)
    : policy_(policy), time_source_(time_source) {}

bool CircuitBreaker::Admit() {
  if (policy_.failure_rate_percent <= 0) return true;
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (time_source_.Now() < open_until_) return false;
      state_ = State::kHalfOpen;
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

void CircuitBreaker::Record(Outcome outcome) {
  if (policy_.failure_rate_percent <= 0) return;
  absl::MutexLock lock(&mu_);
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
        state_ = State::kClosed;
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
  state_ = State::kOpen;
  open_until_ = time_source_.Now() + policy_.open_duration;
  window_.clear();
  failures_in_window_ = 0;
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
