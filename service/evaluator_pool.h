#ifndef EVALUATECODE_SERVICE_EVALUATOR_POOL_H_
#define EVALUATECODE_SERVICE_EVALUATOR_POOL_H_

#include <pthread.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace evaluatecode::service {

// A fixed set of evaluator threads with large native stacks (Duktape needs at least 1 MiB) in front
// of a bounded queue. gRPC's threads hand work here and never run scripts themselves.
// Thread-safe.
class EvaluatorPool {
 public:
  struct Options {
    int threads = 2;
    // Work waiting for a thread; a full queue refuses new work at once.
    int queue_capacity = 256;
    size_t stack_bytes = 4 << 20;
  };

  static absl::StatusOr<std::unique_ptr<EvaluatorPool>> Create(const Options& options);
  // Stops: queued work still runs, then the threads are joined.
  ~EvaluatorPool();

  // Queues `work`; returns false without queueing when the queue is full or the pool is stopping.
  // Work still queued at `deadline` is taken off the queue and `expired` runs instead (on the
  // pool's timer thread), so that a caller is answered in time however long the queue is: exactly
  // one of `work` and `expired` runs.
  bool TrySubmit(std::function<void()> work, absl::Time deadline = absl::InfiniteFuture(),
                 std::function<void()> expired = nullptr) ABSL_LOCKS_EXCLUDED(mu_);

  // Work queued and not yet started.
  int queue_depth() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit EvaluatorPool(const Options& options) : options_(options) {}
  struct Queued {
    std::function<void()> work;
    absl::Time deadline;
    std::function<void()> expired;
  };
  static void* ThreadMain(void* pool);
  void RunWork() ABSL_LOCKS_EXCLUDED(mu_);
  // The timer thread: takes work past its deadline off the queue and runs its `expired`.
  void ExpireOverdueWork() ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  std::vector<pthread_t> threads_;
  std::thread timer_;
  mutable absl::Mutex mu_;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  // Set when work is queued with a deadline before timer_sleeps_until_, so that the timer looks.
  bool timer_should_look_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time timer_sleeps_until_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_EVALUATOR_POOL_H_
