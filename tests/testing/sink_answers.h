#ifndef EVALUATECODE_TESTS_TESTING_SINK_ANSWERS_H_
#define EVALUATECODE_TESTS_TESTING_SINK_ANSWERS_H_

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "service/observability/decision_log_sink.h"

namespace evaluatecode::testing {

// Collects the answers of many DecisionLogSink::Append calls, whichever thread gives them.
class SinkAnswers {
 public:
  service::observability::DecisionLogSink::Done Callback() {
    return [this](absl::Status status) {
      absl::MutexLock lock(&mu_);
      statuses_.push_back(std::move(status));
    };
  }

  // Blocks until `n` answers have come; returns every answer so far, in the order they came.
  std::vector<absl::Status> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    target_ = n;
    mu_.Await(absl::Condition(this, &SinkAnswers::Reached));
    return statuses_;
  }

  // How many answers so far were OK.
  int ok() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(std::count_if(statuses_.begin(), statuses_.end(),
                                          [](const absl::Status& status) { return status.ok(); }));
  }

 private:
  bool Reached() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return statuses_.size() >= target_; }

  absl::Mutex mu_;
  std::vector<absl::Status> statuses_ ABSL_GUARDED_BY(mu_);
  size_t target_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_SINK_ANSWERS_H_
