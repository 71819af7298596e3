#ifndef EVALUATECODE_COMMON_CANCELLATION_H_
#define EVALUATECODE_COMMON_CANCELLATION_H_

#include <atomic>

namespace evaluatecode {

// Why a piece of work was asked to stop early.
enum class CancellationCause : int {
  kNone = 0,
  kCallerCancelled = 1,   // the client went away or cancelled the call
  kServerShutdown = 2,    // the server's drain grace period ran out
};

// A flag one thread raises and another polls (the script engine polls it from its interrupt hook).
// The first cause raised wins. Thread-safe.
class Cancellation {
 public:
  void Cancel(CancellationCause cause) {
    int expected = static_cast<int>(CancellationCause::kNone);
    cause_.compare_exchange_strong(expected, static_cast<int>(cause), std::memory_order_acq_rel);
  }
  bool IsCancelled() const { return cause_.load(std::memory_order_acquire) != 0; }
  CancellationCause cause() const {
    return static_cast<CancellationCause>(cause_.load(std::memory_order_acquire));
  }

 private:
  std::atomic<int> cause_{0};
};

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_CANCELLATION_H_
