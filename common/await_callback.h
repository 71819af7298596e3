#ifndef EVALUATECODE_COMMON_AWAIT_CALLBACK_H_
#define EVALUATECODE_COMMON_AWAIT_CALLBACK_H_

#include <optional>
#include <utility>

#include "absl/synchronization/notification.h"

namespace evaluatecode {

// Blocks until an operation that reports once through a callback has reported, and returns what
// it reported: the one way a blocking API here is built on its asynchronous twin. `start` is
// called with the callback (copyable, taking a T); the callback must be called exactly once, on
// any thread, and must not be called by a thread that this one is waiting for.
template <typename T, typename Start>
T AwaitCallback(Start&& start) {
  absl::Notification finished;
  std::optional<T> result;
  std::forward<Start>(start)([&finished, &result](T value) {
    result.emplace(std::move(value));
    finished.Notify();
  });
  finished.WaitForNotification();
  return *std::move(result);
}

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_AWAIT_CALLBACK_H_
