#ifndef EVALUATECODE_SANDBOX_DUKTAPE_HEAP_H_
#define EVALUATECODE_SANDBOX_DUKTAPE_HEAP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cancellation.h"
#include "common/time_source.h"
#include "duktape.h"

namespace evaluatecode::sandbox {

// One Duktape heap with a byte-capped allocator and an armed exec-timeout hook.
//
// Duktape errors unwind with longjmp: code that calls into the context must do so through
// duk_safe_call / duk_pcall and keep no object with a non-trivial destructor alive across a call that
// can throw. Thread-compatible: one thread uses a heap at a time.
class DuktapeHeap {
 public:
  // Why the interrupt hook stopped the running code, if it did.
  enum class StopCause { kNone, kDeadline, kCancelled, kSuspended };

  // Creates a heap whose allocations never exceed `memory_cap_bytes` in total (Duktape's own
  // built-ins count against it). kResourceExhausted when the cap cannot hold even a fresh heap.
  // `time_source` must outlive the heap.
  static absl::StatusOr<std::unique_ptr<DuktapeHeap>> Create(size_t memory_cap_bytes,
                                                             const TimeSource& time_source);
  ~DuktapeHeap();
  DuktapeHeap(const DuktapeHeap&) = delete;
  DuktapeHeap& operator=(const DuktapeHeap&) = delete;

  duk_context* context() const { return context_; }

  // From now on, running bytecode is stopped once `deadline` passes or `cancellation` (may be null;
  // not owned) is raised, or `suspend` (may be null; not owned) becomes true. Once the hook has
  // fired it keeps firing until Disarm(), so try/catch/finally in the script cannot swallow it.
  void Arm(absl::Time deadline, const Cancellation* cancellation, const bool* suspend = nullptr);
  void Disarm();

  // What the script observes of the world in the next evaluation: the time Date.now() and new
  // Date() return (InfiniteFuture: the real clock) and the seed of Math.random().
  void SetWorld(absl::Time clock, uint64_t random_seed) {
    state_.clock = clock;
    state_.random.seed(random_seed);
  }

  // Changes the cap for what follows (a warm heap serves requests with different limits). Bytes
  // already held count against it.
  void set_memory_cap(size_t memory_cap_bytes) { state_.cap_bytes = memory_cap_bytes; }
  // Starts a new peak measurement and clears the limit flag, for the next evaluation.
  void ResetCounters() {
    state_.peak_bytes = state_.used_bytes;
    state_.limit_hit = false;
  }
  size_t used_bytes() const { return state_.used_bytes; }

  StopCause stop_cause() const { return state_.stop_cause; }
  // True when an allocation was refused because of the cap since the heap was created.
  bool memory_limit_hit() const { return state_.limit_hit; }
  size_t peak_bytes() const { return state_.peak_bytes; }

  // The per-heap state Duktape's allocator and interrupt hook reach through the heap's udata.
  struct State {
    size_t cap_bytes = 0;
    size_t used_bytes = 0;
    size_t peak_bytes = 0;
    bool limit_hit = false;
    bool armed = false;
    absl::Time deadline = absl::InfiniteFuture();
    const Cancellation* cancellation = nullptr;
    const bool* suspend = nullptr;
    StopCause stop_cause = StopCause::kNone;
    const TimeSource* time_source = nullptr;
    absl::Time clock = absl::InfiniteFuture();
    std::mt19937_64 random;
  };

 private:
  explicit DuktapeHeap(const TimeSource& time_source);

  State state_;
  duk_context* context_ = nullptr;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_DUKTAPE_HEAP_H_
