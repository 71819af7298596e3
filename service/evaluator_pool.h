#ifndef EVALUATECODE_SERVICE_EVALUATOR_POOL_H_
#define EVALUATECODE_SERVICE_EVALUATOR_POOL_H_

#include <pthread.h>

#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/expiry_timer.h"
#include "common/time_source.h"

namespace evaluatecode::service {

// A fixed set of evaluator threads with large native stacks (Duktape needs at least 1 MiB) in front
// of a bounded queue, admitting a bounded number of pieces of work at once. gRPC's threads hand
// work here and never run scripts themselves. Work is in flight from when a thread starts it until
// it lets go of its Slot: work that waits for something else (a sandbox worker, a vendor) hands
// its Slot on with the callback and returns its thread at once. Thread-safe.
class EvaluatorPool {
 public:
  struct Options {
    int threads = 2;
    // Work waiting to start; a full queue refuses new work at once.
    int queue_capacity = 256;
    size_t stack_bytes = 4 << 20;
    // Work in flight at once (0: as many as threads).
    int max_in_flight = 0;
    // Work given to TryStartAsync never blocks (it hands its Slot on and returns), so it may
    // start on the thread that submits it when a slot is free and nothing waits: one thread
    // hand-off less per call.
    bool start_on_submitting_thread = false;
  };

  // Held by work in flight; the next queued work may start once it is destroyed. Movable.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : pool_(std::exchange(other.pool_, nullptr)) {}
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    ~Slot() {
      if (pool_ != nullptr) pool_->Release();
    }

   private:
    friend class EvaluatorPool;
    explicit Slot(EvaluatorPool* pool) : pool_(pool) {}
    EvaluatorPool* pool_;
  };

  static absl::StatusOr<std::unique_ptr<EvaluatorPool>> Create(const Options& options);
  // Stops: queued work still runs, then the threads are joined and work in flight is waited for.
  ~EvaluatorPool();

  // Queues `work`; returns false without queueing when the queue is full or the pool is stopping.
  // Work still queued at `deadline` is taken off the queue and `expired` runs instead (on the
  // pool's timer thread), so that a caller is answered in time however long the queue is: exactly
  // one of `work` and `expired` runs. `work` is in flight until it gets rid of its Slot.
  bool TrySubmitAsync(absl::AnyInvocable<void(Slot) &&> work,
                      absl::Time deadline = absl::InfiniteFuture(),
                      absl::AnyInvocable<void() &&> expired = nullptr) ABSL_LOCKS_EXCLUDED(mu_);
  // TrySubmitAsync, but with Options::start_on_submitting_thread the work may run on this thread
  // before TryStartAsync returns: call it holding no lock the work (or its callbacks) takes.
  bool TryStartAsync(absl::AnyInvocable<void(Slot) &&> work,
                     absl::Time deadline = absl::InfiniteFuture(),
                     absl::AnyInvocable<void() &&> expired = nullptr) ABSL_LOCKS_EXCLUDED(mu_);

  // Work queued and not yet started.
  int queue_depth() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit EvaluatorPool(const Options& options)
      : options_(options),
        max_in_flight_(options.max_in_flight > 0 ? options.max_in_flight : options.threads),
        timer_(mu_, clock_, [this](absl::Time now, ExpiryTimer::Due& due)
                                ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                                  return TakeOverdueWork(now, due);
                                }) {}
  struct Queued {
    absl::AnyInvocable<void(Slot) &&> work;
    absl::Time deadline;
    absl::AnyInvocable<void() &&> expired;
  };
  bool Admit(absl::AnyInvocable<void(Slot) &&> work, absl::Time deadline,
             absl::AnyInvocable<void() &&> expired, bool may_start_here) ABSL_LOCKS_EXCLUDED(mu_);
  static void* ThreadMain(void* pool);
  void RunWork() ABSL_LOCKS_EXCLUDED(mu_);
  void Release() ABSL_LOCKS_EXCLUDED(mu_);
  // The timer's scan: takes work past its deadline off the queue; its `expired` runs instead.
  absl::Time TakeOverdueWork(absl::Time now, ExpiryTimer::Due& due)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const int max_in_flight_;
  std::vector<pthread_t> threads_;
  mutable absl::Mutex mu_;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  const RealTimeSource clock_;
  ExpiryTimer timer_;
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_EVALUATOR_POOL_H_
