#ifndef EVALUATECODE_TESTS_TESTING_CONNECTORS_FAKE_HTTP_CLIENT_H_
#define EVALUATECODE_TESTS_TESTING_CONNECTORS_FAKE_HTTP_CLIENT_H_

#include <deque>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "connectors/http_client.h"
#include "tests/testing/simulated_time_source.h"

namespace evaluatecode::testing {

// What the fake answers one request with, and how long the "vendor" takes.
struct FakeExchange {
  connectors::HttpResponse response;
  // Simulated time the exchange takes. Past the request's timeout the answer becomes kTimeout
  // after exactly `timeout`, as curl would.
  absl::Duration latency = absl::ZeroDuration();
};

// An HttpClient without a network or a thread: Send and RunAfter queue work that RunUntilIdle()
// performs on the test's thread, moving the SimulatedTimeSource forward by each exchange's latency
// and to each timer's due time. Thread-safe, but meant for one test thread.
class FakeHttpClient final : public connectors::HttpClient {
 public:
  using Handler = std::function<FakeExchange(const connectors::HttpRequest&)>;

  explicit FakeHttpClient(SimulatedTimeSource& time) : time_(time) {}

  void SetHandler(Handler handler) {
    absl::MutexLock lock(&mu_);
    handler_ = std::move(handler);
  }
  // While held, sent requests wait (unanswered) until ReleaseHeld().
  void Hold(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }

  // connectors::HttpClient
  void Send(connectors::HttpRequest request,
            std::function<void(connectors::HttpResponse)> done) override {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
    if (hold_) {
      held_.emplace_back(std::move(request), std::move(done));
    } else {
      sends_.emplace_back(std::move(request), std::move(done));
    }
  }
  void RunAfter(absl::Duration delay, std::function<void()> fn) override {
    absl::MutexLock lock(&mu_);
    delays_.push_back(delay);
    timers_.emplace(std::make_pair(time_.Now() + delay, next_id_++), std::move(fn));
  }

  void ReleaseHeld() {
    absl::MutexLock lock(&mu_);
    for (auto& send : held_) sends_.push_back(std::move(send));
    held_.clear();
  }

  // Answers every queued request and runs every timer, including work they add.
  void RunUntilIdle() {
    for (;;) {
      std::pair<connectors::HttpRequest, std::function<void(connectors::HttpResponse)>> send;
      std::function<void()> timer;
      Handler handler;
      {
        absl::MutexLock lock(&mu_);
        handler = handler_;
        if (!sends_.empty()) {
          send = std::move(sends_.front());
          sends_.pop_front();
        } else if (!timers_.empty()) {
          auto first = timers_.begin();
          const absl::Time due = first->first.first;
          timer = std::move(first->second);
          timers_.erase(first);
          const absl::Duration wait = due - time_.Now();
          if (wait > absl::ZeroDuration()) time_.Advance(wait);
        } else {
          return;
        }
      }
      if (timer) {
        timer();
        continue;
      }
      FakeExchange exchange = handler(send.first);
      if (exchange.latency > send.first.timeout) {
        time_.Advance(send.first.timeout);
        exchange.response = connectors::HttpResponse{};
        exchange.response.error = connectors::TransportError::kTimeout;
      } else {
        time_.Advance(exchange.latency);
      }
      send.second(std::move(exchange.response));
    }
  }

  std::vector<connectors::HttpRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<absl::Duration> delays() const {
    absl::MutexLock lock(&mu_);
    return delays_;
  }

 private:
  SimulatedTimeSource& time_;
  mutable absl::Mutex mu_;
  Handler handler_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::pair<connectors::HttpRequest, std::function<void(connectors::HttpResponse)>>>
      sends_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<connectors::HttpRequest, std::function<void(connectors::HttpResponse)>>>
      held_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<absl::Time, int>, std::function<void()>> timers_ ABSL_GUARDED_BY(mu_);
  int next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<connectors::HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> delays_ ABSL_GUARDED_BY(mu_);
};

// An HttpResponse with `status` and `body`.
inline FakeExchange Answer(int status, std::string body, absl::Duration latency = absl::ZeroDuration()) {
  FakeExchange exchange;
  exchange.response.status = status;
  exchange.response.body = std::move(body);
  exchange.latency = latency;
  return exchange;
}

// A transport failure.
inline FakeExchange Fail(connectors::TransportError error) {
  FakeExchange exchange;
  exchange.response.error = error;
  return exchange;
}

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_CONNECTORS_FAKE_HTTP_CLIENT_H_
