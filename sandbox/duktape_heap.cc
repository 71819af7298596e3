#include "sandbox/duktape_heap.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"

namespace evaluatecode::sandbox {
namespace {

using State = DuktapeHeap::State;

// Every block carries its size in front so that realloc and free can keep the byte count exact
// (Duktape does not pass the old size). 16 bytes keep the payload max-aligned.
constexpr size_t kHeaderBytes = 16;

void* CappedAlloc(void* udata, duk_size_t size) {
  auto* state = static_cast<State*>(udata);
  if (size == 0) return nullptr;
  if (size > state->cap_bytes - state->used_bytes || state->used_bytes > state->cap_bytes) {
    state->limit_hit = true;
    return nullptr;
  }
  auto* block = static_cast<unsigned char*>(std::malloc(kHeaderBytes + size));
  if (block == nullptr) return nullptr;
  std::memcpy(block, &size, sizeof(size));
  state->used_bytes += size;
  if (state->used_bytes > state->peak_bytes) state->peak_bytes = state->used_bytes;
  return block + kHeaderBytes;
}

size_t BlockSize(void* ptr) {
  size_t size;
  std::memcpy(&size, static_cast<unsigned char*>(ptr) - kHeaderBytes, sizeof(size));
  return size;
}

void CappedFree(void* udata, void* ptr) {
  if (ptr == nullptr) return;
  auto* state = static_cast<State*>(udata);
  state->used_bytes -= BlockSize(ptr);
  std::free(static_cast<unsigned char*>(ptr) - kHeaderBytes);
}

void* CappedRealloc(void* udata, void* ptr, duk_size_t size) {
  if (ptr == nullptr) return CappedAlloc(udata, size);
  if (size == 0) {
    CappedFree(udata, ptr);
    return nullptr;
  }
  auto* state = static_cast<State*>(udata);
  const size_t old_size = BlockSize(ptr);
  if (size > old_size && size - old_size > state->cap_bytes - state->used_bytes) {
    state->limit_hit = true;
    return nullptr;
  }
  auto* block = static_cast<unsigned char*>(
      std::realloc(static_cast<unsigned char*>(ptr) - kHeaderBytes, kHeaderBytes + size));
  if (block == nullptr) return nullptr;
  std::memcpy(block, &size, sizeof(size));
  state->used_bytes = state->used_bytes - old_size + size;
  if (state->used_bytes > state->peak_bytes) state->peak_bytes = state->used_bytes;
  return block + kHeaderBytes;
}

// Duktape's fatal errors leave the heap in an unknown state and a handler must never return into it:
// the process is the failure domain.
void OnFatal(void* /*udata*/, const char* message) {
  std::fprintf(stderr, "{\"level\":\"critical\",\"event\":\"duktape_fatal\",\"message\":\"%s\"}\n",
               message != nullptr ? message : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace

absl::StatusOr<std::unique_ptr<DuktapeHeap>> DuktapeHeap::Create(size_t memory_cap_bytes,
                                                                  const TimeSource& time_source) {
  std::unique_ptr<DuktapeHeap> heap(new DuktapeHeap(time_source));
  heap->state_.cap_bytes = memory_cap_bytes;
  heap->context_ =
      duk_create_heap(CappedAlloc, CappedRealloc, CappedFree, &heap->state_, OnFatal);
  if (heap->context_ == nullptr) {
    return absl::ResourceExhaustedError(
        "a script heap could not be created within its memory cap");
  }
  return heap;
}

DuktapeHeap::DuktapeHeap(const TimeSource& time_source) { state_.time_source = &time_source; }

DuktapeHeap::~DuktapeHeap() {
  if (context_ != nullptr) duk_destroy_heap(context_);
}

void DuktapeHeap::Arm(absl::Time deadline, const Cancellation* cancellation, const bool* suspend) {
  state_.deadline = deadline;
  state_.cancellation = cancellation;
  state_.suspend = suspend;
  state_.stop_cause = StopCause::kNone;
  state_.armed = true;
}

void DuktapeHeap::Disarm() {
  state_.armed = false;
  state_.cancellation = nullptr;
  state_.suspend = nullptr;
}

}  // namespace evaluatecode::sandbox

// Called by Duktape's bytecode executor every interrupt period (DUK_USE_EXEC_TIMEOUT_CHECK).
extern "C" duk_bool_t evaluatecode_exec_timeout_check(void* udata) {
  using evaluatecode::sandbox::DuktapeHeap;
  auto* state = static_cast<DuktapeHeap::State*>(udata);
  if (state == nullptr || !state->armed) return 0;
  if (state->stop_cause != DuktapeHeap::StopCause::kNone) return 1;
  // A suspension is no failure: it wins over a deadline that passes at the same moment.
  if (state->suspend != nullptr && *state->suspend) {
    state->stop_cause = DuktapeHeap::StopCause::kSuspended;
    return 1;
  }
  // The deadline is checked first: a caller whose deadline passes is also cancelled by gRPC, and
  // the deadline is the truer account of why the script stopped.
  if (state->time_source->Now() >= state->deadline) {
    state->stop_cause = DuktapeHeap::StopCause::kDeadline;
    return 1;
  }
  if (state->cancellation != nullptr && state->cancellation->IsCancelled()) {
    state->stop_cause = DuktapeHeap::StopCause::kCancelled;
    return 1;
  }
  return 0;
}

// Date.now() and new Date() (DUK_USE_DATE_GET_NOW): milliseconds since the epoch.
extern "C" duk_double_t evaluatecode_date_now(void* udata) {
  using evaluatecode::sandbox::DuktapeHeap;
  auto* state = static_cast<DuktapeHeap::State*>(udata);
  const absl::Time now = state != nullptr && state->clock != absl::InfiniteFuture()
                             ? state->clock
                             : absl::Now();
  return static_cast<duk_double_t>(absl::ToUnixMillis(now));
}

// Math.random() (DUK_USE_GET_RANDOM_DOUBLE): 53 random bits from the evaluation's generator, which
// gives the same sequence for the same seed on every machine (std::mt19937_64 is fully specified).
extern "C" duk_double_t evaluatecode_random_double(void* udata) {
  using evaluatecode::sandbox::DuktapeHeap;
  auto* state = static_cast<DuktapeHeap::State*>(udata);
  return static_cast<duk_double_t>(state->random() >> 11) * (1.0 / 9007199254740992.0);
}
