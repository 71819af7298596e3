#include "service/evaluator_pool.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/thread_name.h"

namespace evaluatecode::service {

absl::StatusOr<std::unique_ptr<EvaluatorPool>> EvaluatorPool::Create(const Options& options) {
  std::unique_ptr<EvaluatorPool> pool(new EvaluatorPool(options));
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, options.stack_bytes);
  for (int i = 0; i < options.threads; ++i) {
    pthread_t thread;
    const int error = pthread_create(&thread, &attributes, &EvaluatorPool::ThreadMain, pool.get());
    if (error != 0) {
      pthread_attr_destroy(&attributes);
      return absl::ResourceExhaustedError(
          absl::StrCat("starting evaluator thread ", i, ": ", std::strerror(error)));
    }
    pool->threads_.push_back(thread);
  }
  pthread_attr_destroy(&attributes);
  pool->timer_.Start();
  return pool;
}

EvaluatorPool::~EvaluatorPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  timer_.Stop();  // what is queued still runs, and answers its own deadline
  for (pthread_t thread : threads_) pthread_join(thread, nullptr);
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](EvaluatorPool* pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool->mu_) {
        return pool->in_flight_ == 0;
      },
      this));
}

bool EvaluatorPool::TrySubmitAsync(absl::AnyInvocable<void(Slot) &&> work, absl::Time deadline,
                                   absl::AnyInvocable<void() &&> expired) {
  return Admit(std::move(work), deadline, std::move(expired), /*may_start_here=*/false);
}

bool EvaluatorPool::TryStartAsync(absl::AnyInvocable<void(Slot) &&> work, absl::Time deadline,
                                  absl::AnyInvocable<void() &&> expired) {
  return Admit(std::move(work), deadline, std::move(expired),
               options_.start_on_submitting_thread);
}

bool EvaluatorPool::Admit(absl::AnyInvocable<void(Slot) &&> work, absl::Time deadline,
                          absl::AnyInvocable<void() &&> expired, bool may_start_here) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || static_cast<int>(queue_.size()) >= options_.queue_capacity) return false;
    const bool start_here = may_start_here && queue_.empty() && in_flight_ < max_in_flight_;
    if (!start_here) {
      if (expired == nullptr) deadline = absl::InfiniteFuture();
      queue_.push_back({std::move(work), deadline, std::move(expired)});
      timer_.LookBy(deadline);
      return true;
    }
    ++in_flight_;
  }
  std::move(work)(Slot(this));
  return true;
}

absl::Time EvaluatorPool::TakeOverdueWork(absl::Time now, ExpiryTimer::Due& due) {
  absl::Time next = absl::InfiniteFuture();
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->deadline <= now) {
      due.push_back(std::move(it->expired));
      it = queue_.erase(it);
    } else {
      next = std::min(next, it->deadline);
      ++it;
    }
  }
  return next;
}

int EvaluatorPool::queue_depth() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

void* EvaluatorPool::ThreadMain(void* pool) {
  NameThisThread("evaluator");
  static_cast<EvaluatorPool*>(pool)->RunWork();
  return nullptr;
}

void EvaluatorPool::RunWork() {
  for (;;) {
    absl::AnyInvocable<void(Slot) &&> work;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](EvaluatorPool* pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool->mu_) {
            if (pool->queue_.empty()) return pool->stopping_;
            return pool->in_flight_ < pool->max_in_flight_;
          },
          this));
      if (queue_.empty()) return;  // stopping, and nothing left to run
      work = std::move(queue_.front().work);
      queue_.pop_front();
      ++in_flight_;
    }
    std::move(work)(Slot(this));
  }
}

void EvaluatorPool::Release() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

}  // namespace evaluatecode::service
