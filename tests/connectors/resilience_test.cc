// Token bucket, circuit breaker, backoff and response cache, all on simulated time.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "connectors/circuit_breaker.h"
#include "connectors/response_cache.h"
#include "connectors/retry_policy.h"
#include "connectors/token_bucket.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/connectors/fixed_random_source.h"
#include "tests/testing/simulated_time_source.h"

namespace evaluatecode::connectors {
namespace {

using ::evaluatecode::testing::FixedRandomSource;
using ::evaluatecode::testing::SimulatedTimeSource;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using State = CircuitBreaker::State;
using Outcome = CircuitBreaker::Outcome;

TEST(TokenBucketTest, StartsFullAndRefillsWithTime) {
  SimulatedTimeSource time;
  TokenBucket bucket(/*capacity=*/3, /*refill_per_second=*/2, time);
  EXPECT_TRUE(bucket.TryConsume());
  EXPECT_TRUE(bucket.TryConsume());
  EXPECT_TRUE(bucket.TryConsume());
  EXPECT_FALSE(bucket.TryConsume());
  EXPECT_EQ(bucket.TimeUntilNextToken(), absl::Milliseconds(500));
  time.Advance(absl::Milliseconds(499));
  EXPECT_FALSE(bucket.TryConsume());
  time.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(bucket.TryConsume());
  EXPECT_FALSE(bucket.TryConsume());
}

TEST(TokenBucketTest, NeverHoldsMoreThanCapacity) {
  SimulatedTimeSource time;
  TokenBucket bucket(2, 100, time);
  time.Advance(absl::Hours(1));
  EXPECT_TRUE(bucket.TryConsume());
  EXPECT_TRUE(bucket.TryConsume());
  EXPECT_FALSE(bucket.TryConsume());
}

TEST(TokenBucketTest, HoldsTheRateOverALongRun) {
  SimulatedTimeSource time;
  TokenBucket bucket(/*capacity=*/5, /*refill_per_second=*/10, time);
  int granted = 0;
  // 10 s of attempts every millisecond: burst 5 + 10/s * 10 s.
  for (int ms = 0; ms < 10000; ++ms) {
    if (bucket.TryConsume()) ++granted;
    time.Advance(absl::Milliseconds(1));
  }
  EXPECT_GE(granted, 104);
  EXPECT_LE(granted, 105);
}

CircuitBreakerPolicy SmallPolicy() {
  CircuitBreakerPolicy policy;
  policy.failure_rate_percent = 50;
  policy.window_calls = 10;
  policy.minimum_calls = 4;
  policy.open_duration = absl::Seconds(30);
  policy.half_open_calls = 2;
  return policy;
}

void RecordMany(CircuitBreaker& breaker, Outcome outcome, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(breaker.Admit());
    breaker.Record(outcome);
  }
}

TEST(CircuitBreakerTest, StaysClosedBelowTheMinimumCallCount) {
  SimulatedTimeSource time;
  CircuitBreaker breaker(SmallPolicy(), time);
  RecordMany(breaker, Outcome::kFailure, 3);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_TRUE(breaker.Admit());
}

TEST(CircuitBreakerTest, OpensAtTheFailureRate) {
  SimulatedTimeSource time;
  CircuitBreaker breaker(SmallPolicy(), time);
  RecordMany(breaker, Outcome::kSuccess, 3);
  RecordMany(breaker, Outcome::kFailure, 2);  // 2/5 = 40%
  EXPECT_EQ(breaker.state(), State::kClosed);
  RecordMany(breaker, Outcome::kFailure, 1);  // 3/6 = 50%
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_FALSE(breaker.Admit());
}

TEST(CircuitBreakerTest, OldOutcomesLeaveTheWindow) {
  SimulatedTimeSource time;
  CircuitBreaker breaker(SmallPolicy(), time);
  RecordMany(breaker, Outcome::kFailure, 1);
  RecordMany(breaker, Outcome::kSuccess, 3);
  RecordMany(breaker, Outcome::kSuccess, 20);
  // The early failure has left the 10-call window: 4 failures in 10 are 40%.
  RecordMany(breaker, Outcome::kFailure, 4);
  EXPECT_EQ(breaker.state(), State::kClosed);
  RecordMany(breaker, Outcome::kFailure, 1);
  EXPECT_EQ(breaker.state(), State::kOpen);
}

TEST(CircuitBreakerTest, IgnoredOutcomesDoNotCount) {
  SimulatedTimeSource time;
  CircuitBreaker breaker(SmallPolicy(), time);
  RecordMany(breaker, Outcome::kIgnored, 50);
  RecordMany(breaker, Outcome::kFailure, 3);
  EXPECT_EQ(breaker.state(), State::kClosed);
}

TEST(CircuitBreakerTest, HalfOpensAfterTheWaitAndClosesWhenProbesSucceed) {
  SimulatedTimeSource time;
  CircuitBreaker breaker(SmallPolicy(), time);
  RecordMany(breaker, Outcome::kFailure, 4);
  ASSERT_EQ(breaker.state(), State::kOpen);
  time.Advance(absl::Seconds(29));
  EXPECT_FALSE(breaker.Admit());
  time.Advance(absl::Seconds(1));
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  EXPECT_TRUE(breaker.Admit());
  EXPECT_TRUE(breaker.Admit());
  EXPECT_FALSE(breaker.Admit()) << "only half_open_calls probes at a time";
  breaker.Record(Outcome::kSuccess);
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  breaker.Record(Outcome::kSuccess);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_TRUE(breaker.Admit());
}

TEST(CircuitBreakerTest, AFailedProbeReopensForAnotherWait) {
  SimulatedTimeSource time;
  CircuitBreaker breaker(SmallPolicy(), time);
  RecordMany(breaker, Outcome::kFailure, 4);
  time.Advance(absl::Seconds(30));
  ASSERT_TRUE(breaker.Admit());
  breaker.Record(Outcome::kFailure);
  EXPECT_EQ(breaker.state(), State::kOpen);
  time.Advance(absl::Seconds(29));
  EXPECT_FALSE(breaker.Admit());
  time.Advance(absl::Seconds(1));
  EXPECT_TRUE(breaker.Admit());
}

TEST(CircuitBreakerTest, AnIgnoredProbeFreesItsSlot) {
  SimulatedTimeSource time;
  CircuitBreakerPolicy policy = SmallPolicy();
  policy.half_open_calls = 1;
  CircuitBreaker breaker(policy, time);
  RecordMany(breaker, Outcome::kFailure, 4);
  time.Advance(absl::Seconds(30));
  ASSERT_TRUE(breaker.Admit());
  EXPECT_FALSE(breaker.Admit());
  breaker.Record(Outcome::kIgnored);
  EXPECT_TRUE(breaker.Admit());
}

TEST(CircuitBreakerTest, ZeroFailureRateDisablesIt) {
  SimulatedTimeSource time;
  CircuitBreakerPolicy policy = SmallPolicy();
  policy.failure_rate_percent = 0;
  CircuitBreaker breaker(policy, time);
  RecordMany(breaker, Outcome::kFailure, 100);
  EXPECT_TRUE(breaker.Admit());
}

// The states a breaker reports, in order. Thread-safe.
class TransitionLog {
 public:
  // `delay`: how long the listener takes before recording, so that overlapping deliveries would
  // interleave.
  CircuitBreaker::TransitionListener Listener(absl::Duration delay = absl::ZeroDuration()) {
    return [this, delay](State state) {
      absl::SleepFor(delay);
      absl::MutexLock lock(&mu_);
      states_.push_back(state);
    };
  }
  std::vector<State> states() const {
    absl::MutexLock lock(&mu_);
    return states_;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return states_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<State> states_ ABSL_GUARDED_BY(mu_);
};

TEST(CircuitBreakerTest, ReportsEachTransitionOnceInOrder) {
  SimulatedTimeSource time;
  TransitionLog log;
  CircuitBreaker breaker(SmallPolicy(), time, log.Listener());
  RecordMany(breaker, Outcome::kSuccess, 3);
  EXPECT_THAT(log.states(), IsEmpty());
  RecordMany(breaker, Outcome::kFailure, 3);  // 3/6: opens
  breaker.Record(Outcome::kFailure);          // a late outcome while open changes nothing
  EXPECT_FALSE(breaker.Admit());
  time.Advance(absl::Seconds(30));
  EXPECT_EQ(breaker.state(), State::kHalfOpen) << "state() shows the wait is over";
  EXPECT_THAT(log.states(), ElementsAre(State::kOpen)) << "but only a call half-opens it";

  ASSERT_TRUE(breaker.Admit());  // half-opens
  breaker.Record(Outcome::kFailure);
  time.Advance(absl::Seconds(30));
  ASSERT_TRUE(breaker.Admit());  // half-opens again
  ASSERT_TRUE(breaker.Admit());
  breaker.Record(Outcome::kIgnored);
  breaker.Record(Outcome::kSuccess);
  ASSERT_TRUE(breaker.Admit());
  breaker.Record(Outcome::kSuccess);  // half_open_calls = 2 successes: closes
  RecordMany(breaker, Outcome::kSuccess, 5);
  EXPECT_THAT(log.states(), ElementsAre(State::kOpen, State::kHalfOpen, State::kOpen,
                                        State::kHalfOpen, State::kClosed));
}

TEST(CircuitBreakerTest, TheListenerRunsWithoutTheBreakersLock) {
  SimulatedTimeSource time;
  CircuitBreaker* self = nullptr;
  std::vector<State> seen;
  // Calling back into the breaker would deadlock if its lock were held.
  CircuitBreaker breaker(SmallPolicy(), time, [&](State) { seen.push_back(self->state()); });
  self = &breaker;
  RecordMany(breaker, Outcome::kFailure, 4);
  EXPECT_THAT(seen, ElementsAre(State::kOpen));
}

bool IsTransition(State from, State to) {
  switch (from) {
    case State::kClosed: return to == State::kOpen;
    case State::kOpen: return to == State::kHalfOpen;
    case State::kHalfOpen: return to == State::kClosed || to == State::kOpen;
  }
  return false;
}

TEST(CircuitBreakerTest, ConcurrentTransitionsAreReportedInTheOrderTheyHappened) {
  SimulatedTimeSource time;
  TransitionLog log;
  CircuitBreakerPolicy policy = SmallPolicy();
  policy.minimum_calls = 2;
  policy.window_calls = 4;
  CircuitBreaker breaker(policy, time, log.Listener(absl::Microseconds(20)));
  constexpr size_t kTransitions = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100000 && log.size() < kTransitions; ++i) {
        if (breaker.Admit()) {
          breaker.Record((i + t) % 2 == 0 ? Outcome::kFailure : Outcome::kSuccess);
        } else {
          time.Advance(policy.open_duration);  // refused: let it half-open soon
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  const std::vector<State> states = log.states();
  ASSERT_GE(states.size(), kTransitions);
  State previous = State::kClosed;
  for (size_t i = 0; i < states.size(); ++i) {
    ASSERT_TRUE(IsTransition(previous, states[i]))
        << "report " << i << ": " << CircuitBreakerStateName(previous) << " -> "
        << CircuitBreakerStateName(states[i]);
    previous = states[i];
  }
  // The last report is the state the breaker is in (state() already shows a finished wait).
  if (previous == State::kOpen) {
    EXPECT_NE(breaker.state(), State::kClosed);
  } else {
    EXPECT_EQ(breaker.state(), previous);
  }
}

TEST(BackoffTest, FullJitterWithinADoublingCeiling) {
  RetryPolicy policy;  // 25 ms base, 250 ms max
  FixedRandomSource random(0.999999);
  EXPECT_LT(FullJitterBackoff(policy, 1, random), absl::Milliseconds(25));
  EXPECT_GT(FullJitterBackoff(policy, 1, random), absl::Milliseconds(24));
  EXPECT_GT(FullJitterBackoff(policy, 2, random), absl::Milliseconds(49));
  EXPECT_GT(FullJitterBackoff(policy, 3, random), absl::Milliseconds(99));
  EXPECT_LE(FullJitterBackoff(policy, 10, random), absl::Milliseconds(250));
  random.Set(0.0);
  EXPECT_EQ(FullJitterBackoff(policy, 3, random), absl::ZeroDuration());
  random.Set(0.5);
  EXPECT_EQ(FullJitterBackoff(policy, 2, random), absl::Milliseconds(25));
}

TEST(RetryPolicyTest, OnlyIdempotentMethodsAndRetryableStatuses) {
  for (const char* method : {"GET", "HEAD", "PUT", "DELETE"}) EXPECT_TRUE(IsIdempotentMethod(method));
  for (const char* method : {"POST", "PATCH"}) EXPECT_FALSE(IsIdempotentMethod(method));
  EXPECT_TRUE(MayResend("GET", /*nothing_sent=*/false));
  EXPECT_FALSE(MayResend("POST", /*nothing_sent=*/false));
  EXPECT_TRUE(MayResend("POST", /*nothing_sent=*/true));
  for (int status : {429, 502, 503, 504}) EXPECT_TRUE(IsRetryableStatus(status));
  for (int status : {200, 400, 401, 404, 500, 501}) EXPECT_FALSE(IsRetryableStatus(status));
}

std::shared_ptr<const CachedResponse> Response(const std::string& text) {
  auto response = std::make_shared<CachedResponse>();
  response->http_status = 200;
  auto body = std::make_shared<google::protobuf::Value>();
  body->set_string_value(text);
  response->body = std::move(body);
  return response;
}

TEST(ResponseCacheTest, ExpiresAfterTtl) {
  SimulatedTimeSource time;
  ResponseCache cache(10, time);
  cache.Put("k", Response("v"), absl::Seconds(30));
  ASSERT_NE(cache.Get("k"), nullptr);
  EXPECT_EQ(cache.Get("k")->body->string_value(), "v");
  time.Advance(absl::Seconds(29));
  EXPECT_NE(cache.Get("k"), nullptr);
  time.Advance(absl::Seconds(1));
  EXPECT_EQ(cache.Get("k"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ResponseCacheTest, ZeroTtlStoresNothing) {
  SimulatedTimeSource time;
  ResponseCache cache(10, time);
  cache.Put("k", Response("v"), absl::ZeroDuration());
  EXPECT_EQ(cache.Get("k"), nullptr);
}

TEST(ResponseCacheTest, EvictsLeastRecentlyUsed) {
  SimulatedTimeSource time;
  ResponseCache cache(2, time);
  cache.Put("a", Response("1"), absl::Minutes(1));
  cache.Put("b", Response("2"), absl::Minutes(1));
  ASSERT_NE(cache.Get("a"), nullptr);  // b is now the least recently used
  cache.Put("c", Response("3"), absl::Minutes(1));
  EXPECT_NE(cache.Get("a"), nullptr);
  EXPECT_EQ(cache.Get("b"), nullptr);
  EXPECT_NE(cache.Get("c"), nullptr);
}

}  // namespace
}  // namespace evaluatecode::connectors
