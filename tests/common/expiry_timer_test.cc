#include "common/expiry_timer.h"

#include <map>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/time_source.h"
#include "gtest/gtest.h"

namespace evaluatecode {
namespace {

// An owner as the evaluator pool and the worker sandbox are: deadlines in its own structure, under
// its own mutex.
class Owner {
 public:
  Owner() : timer_(mu_, clock_, [this](absl::Time now, ExpiryTimer::Due& due) {
              return TakeDue(now, due);
            }) {
    timer_.Start();
  }

  void Add(absl::Time deadline, absl::AnyInvocable<void() &&> expired) {
    absl::MutexLock lock(&mu_);
    waiting_.emplace(deadline, std::move(expired));
    timer_.LookBy(deadline);
  }
  int waiting() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(waiting_.size());
  }
  absl::Mutex& mu() { return mu_; }
  ExpiryTimer& timer() { return timer_; }

 private:
  absl::Time TakeDue(absl::Time now, ExpiryTimer::Due& due) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!waiting_.empty() && waiting_.begin()->first <= now) {
      due.push_back(std::move(waiting_.begin()->second));
      waiting_.erase(waiting_.begin());
    }
    return waiting_.empty() ? absl::InfiniteFuture() : waiting_.begin()->first;
  }

  absl::Mutex mu_;
  // By deadline.
  std::multimap<absl::Time, absl::AnyInvocable<void() &&>> waiting_ ABSL_GUARDED_BY(mu_);
  const RealTimeSource clock_;
  ExpiryTimer timer_;
};

TEST(ExpiryTimerTest, WorkIsAnsweredAtItsDeadlineWithoutTheOwnersLock) {
  Owner owner;
  absl::Notification answered;
  absl::Time answered_at;
  bool lock_was_free = false;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(100);
  owner.Add(deadline, [&] {
    answered_at = absl::Now();
    lock_was_free = owner.mu().TryLock();
    if (lock_was_free) owner.mu().Unlock();
    answered.Notify();
  });
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_GE(answered_at, deadline);
  EXPECT_TRUE(lock_was_free);
  EXPECT_EQ(owner.waiting(), 0);
}

// The timer sleeps until the earliest deadline it knows; an earlier one noted later wakes it.
TEST(ExpiryTimerTest, AnEarlierDeadlineWakesATimerSleepingUntilALaterOne) {
  Owner owner;
  owner.Add(absl::Now() + absl::Minutes(10), [] {});
  absl::SleepFor(absl::Milliseconds(50));  // the timer is asleep until the later deadline
  absl::Notification answered;
  owner.Add(absl::Now() + absl::Milliseconds(50), [&] { answered.Notify(); });
  EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(owner.waiting(), 1);
}

TEST(ExpiryTimerTest, StoppingLeavesWhatIsStillWaitingToTheOwner) {
  Owner owner;
  bool ran = false;
  owner.Add(absl::Now() + absl::Minutes(10), [&] { ran = true; });
  owner.timer().Stop();
  EXPECT_FALSE(ran);
  EXPECT_EQ(owner.waiting(), 1);
}

}  // namespace
}  // namespace evaluatecode
