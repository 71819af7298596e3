#include "service/evaluator_pool.h"

#include <atomic>
#include <optional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace evaluatecode::service {
namespace {

std::unique_ptr<EvaluatorPool> OneThreadPool(int queue_capacity) {
  absl::StatusOr<std::unique_ptr<EvaluatorPool>> pool =
      EvaluatorPool::Create({/*threads=*/1, queue_capacity, /*stack_bytes=*/1 << 20});
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *std::move(pool);
}

TEST(EvaluatorPoolTest, AFullQueueRefusesAtOnce) {
  auto pool = OneThreadPool(1);
  absl::Notification release;
  ASSERT_TRUE(pool->TrySubmitAsync([&](EvaluatorPool::Slot) { release.WaitForNotification(); }));
  absl::SleepFor(absl::Milliseconds(50));  // the thread has taken the first
  ASSERT_TRUE(pool->TrySubmitAsync([](EvaluatorPool::Slot) {}));
  EXPECT_FALSE(pool->TrySubmitAsync([](EvaluatorPool::Slot) {}));
  release.Notify();
}

TEST(EvaluatorPoolTest, WorkStillQueuedAtItsDeadlineExpiresInsteadOfRunning) {
  auto pool = OneThreadPool(8);
  absl::Notification release;
  std::atomic<int> ran{0}, expired{0};
  absl::Notification expired_once;
  absl::Time expired_at;
  ASSERT_TRUE(pool->TrySubmitAsync([&](EvaluatorPool::Slot) { release.WaitForNotification(); }));
  const absl::Time deadline = absl::Now() + absl::Milliseconds(100);
  ASSERT_TRUE(pool->TrySubmitAsync([&](EvaluatorPool::Slot) { ++ran; }, deadline, [&] {
    expired_at = absl::Now();
    ++expired;
    expired_once.Notify();
  }));
  // Work with a later deadline, and work without one, are not touched.
  ASSERT_TRUE(pool->TrySubmitAsync([&](EvaluatorPool::Slot) { ++ran; },
                                   absl::Now() + absl::Seconds(30), [&] { ++expired; }));
  ASSERT_TRUE(pool->TrySubmitAsync([&](EvaluatorPool::Slot) { ++ran; }));
  ASSERT_TRUE(expired_once.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_GE(expired_at, deadline);
  EXPECT_LT(expired_at - deadline, absl::Milliseconds(200));
  EXPECT_EQ(pool->queue_depth(), 2);
  release.Notify();
  pool.reset();  // runs what is queued, then joins
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(expired, 1);
}

TEST(EvaluatorPoolTest, WorkThatStartedBeforeItsDeadlineIsNeverExpired) {
  auto pool = OneThreadPool(8);
  std::atomic<int> ran{0}, expired{0};
  ASSERT_TRUE(pool->TrySubmitAsync(
      [&](EvaluatorPool::Slot) {
        absl::SleepFor(absl::Milliseconds(200));
        ++ran;
      },
      absl::Now() + absl::Milliseconds(50), [&] { ++expired; }));
  absl::SleepFor(absl::Milliseconds(300));
  pool.reset();
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(expired, 0);
}

// Work that hands its Slot on returns its thread at once but stays in flight: with one slot, the
// next work starts only when the slot is let go, whatever thread lets go of it.
TEST(EvaluatorPoolTest, WorkInFlightHoldsItsSlotUntilItLetsGo) {
  absl::StatusOr<std::unique_ptr<EvaluatorPool>> created =
      EvaluatorPool::Create({/*threads=*/2, /*queue_capacity=*/8, /*stack_bytes=*/1 << 20,
                             /*max_in_flight=*/1});
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<EvaluatorPool> pool = *std::move(created);
  absl::Mutex mu;
  std::optional<EvaluatorPool::Slot> held;
  absl::Notification first_returned;
  std::atomic<int> second_ran{0};
  ASSERT_TRUE(pool->TrySubmitAsync([&](EvaluatorPool::Slot slot) {
    absl::MutexLock lock(&mu);
    held.emplace(std::move(slot));
    first_returned.Notify();
  }));
  ASSERT_TRUE(pool->TrySubmitAsync([&](EvaluatorPool::Slot) { ++second_ran; }));
  ASSERT_TRUE(first_returned.WaitForNotificationWithTimeout(absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(100));  // a free thread, but no free slot
  EXPECT_EQ(second_ran, 0);
  EXPECT_EQ(pool->queue_depth(), 1);
  std::thread releaser([&] {
    absl::MutexLock lock(&mu);
    held.reset();
  });
  releaser.join();
  for (int i = 0; i < 500 && second_ran == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(second_ran, 1);
}

// Stopping waits for work still in flight, not only for the threads.
TEST(EvaluatorPoolTest, StoppingWaitsForWorkInFlight) {
  auto pool = OneThreadPool(8);
  std::atomic<bool> answered{false};
  std::thread answerer;
  ASSERT_TRUE(pool->TrySubmitAsync([&](EvaluatorPool::Slot slot) {
    answerer = std::thread([&, slot = std::move(slot)] {
      absl::SleepFor(absl::Milliseconds(200));
      answered = true;
    });
  }));
  absl::SleepFor(absl::Milliseconds(50));
  pool.reset();
  EXPECT_TRUE(answered);
  answerer.join();
}

// With start_on_submitting_thread, TryStartAsync runs work on the submitting thread while a slot is
// free and nothing waits, and queues it for a pool thread otherwise; TrySubmitAsync always queues.
TEST(EvaluatorPoolTest, TryStartAsyncStartsOnTheSubmittingThreadWhileASlotIsFree) {
  absl::StatusOr<std::unique_ptr<EvaluatorPool>> created =
      EvaluatorPool::Create({/*threads=*/1, /*queue_capacity=*/8, /*stack_bytes=*/1 << 20,
                             /*max_in_flight=*/1, /*start_on_submitting_thread=*/true});
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<EvaluatorPool> pool = *std::move(created);
  const std::thread::id here = std::this_thread::get_id();
  std::optional<EvaluatorPool::Slot> held;
  std::thread::id first_ran_on;
  ASSERT_TRUE(pool->TryStartAsync([&](EvaluatorPool::Slot slot) {
    first_ran_on = std::this_thread::get_id();
    held.emplace(std::move(slot));
  }));
  EXPECT_EQ(first_ran_on, here);  // ran before TryStartAsync returned

  absl::Notification second_ran;
  std::thread::id second_ran_on;
  ASSERT_TRUE(pool->TryStartAsync([&](EvaluatorPool::Slot) {
    second_ran_on = std::this_thread::get_id();
    second_ran.Notify();
  }));
  EXPECT_FALSE(second_ran.HasBeenNotified());  // no free slot: queued
  held.reset();
  ASSERT_TRUE(second_ran.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_NE(second_ran_on, here);

  absl::Notification third_ran;
  ASSERT_TRUE(pool->TrySubmitAsync([&](EvaluatorPool::Slot) { third_ran.Notify(); }));
  ASSERT_TRUE(third_ran.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

}  // namespace
}  // namespace evaluatecode::service
