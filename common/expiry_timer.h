#ifndef EVALUATECODE_COMMON_EXPIRY_TIMER_H_
#define EVALUATECODE_COMMON_EXPIRY_TIMER_H_

#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/thread_name.h"
#include "common/time_source.h"

namespace evaluatecode {

// A thread that answers queued work at its deadline, for an owner that keeps the work in its own
// structures under its own mutex (the evaluator pool's queue, the worker sandbox's job queue), so
// that a caller hears in time however long the queue is. The owner's scan takes what is due and
// says when to look next; the timer sleeps until then, or until the owner notes an earlier time,
// and runs what was due with no lock held. Thread-safe.
class ExpiryTimer {
 public:
  using Due = std::vector<absl::AnyInvocable<void() &&>>;
  // Runs on the timer's thread with the owner's mutex held: moves what is due at `now` into `due`
  // and returns when to look again (absl::InfiniteFuture(): not until LookBy).
  using Scan = absl::AnyInvocable<absl::Time(absl::Time now, Due& due)>;

  // `mu` and `time` must outlive the timer.
  ExpiryTimer(absl::Mutex& mu, const TimeSource& time, Scan scan)
      : mu_(mu), time_(time), scan_(std::move(scan)) {}
  ExpiryTimer(const ExpiryTimer&) = delete;
  ExpiryTimer& operator=(const ExpiryTimer&) = delete;
  ~ExpiryTimer() { Stop(); }

  void Start() {
    thread_ = std::thread([this] {
      NameThisThread("expiry-timer");
      Run();
    });
  }

  // Called by the owner, holding its mutex, when it queues work it wants looked at by `when`.
  void LookBy(absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (when < sleeps_until_) should_look_ = true;
  }

  // Joins the thread; work still queued is the owner's to answer. Call without the owner's mutex.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    for (;;) {
      Due due;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        const absl::Time now = time_.Now();
        const absl::Time next = scan_(now, due);
        if (due.empty()) {
          should_look_ = false;
          sleeps_until_ = next;
          mu_.AwaitWithTimeout(absl::Condition(this, &ExpiryTimer::ShouldWake), next - now);
          sleeps_until_ = absl::InfiniteFuture();
          continue;
        }
      }
      for (absl::AnyInvocable<void() &&>& work : due) std::move(work)();
    }
  }

  bool ShouldWake() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || should_look_; }

  absl::Mutex& mu_;
  const TimeSource& time_;
  Scan scan_;
  std::thread thread_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set when the owner needs a look before the time the timer sleeps until.
  bool should_look_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time sleeps_until_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_EXPIRY_TIMER_H_
