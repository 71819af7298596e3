#ifndef EVALUATECODE_SERVICE_EVALUATOR_POOL_H_
#define EVALUATECODE_SERVICE_EVALUATOR_POOL_H_

#include <pthread.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

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
  bool TrySubmit(std::function<void()> work) ABSL_LOCKS_EXCLUDED(mu_);

  // Work queued and not yet started.
  int queue_depth() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit EvaluatorPool(const Options& options) : options_(options) {}
  static void* ThreadMain(void* pool);
  void RunWork() ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  std::vector<pthread_t> threads_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_EVALUATOR_POOL_H_
