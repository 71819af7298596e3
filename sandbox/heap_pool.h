#ifndef EVALUATECODE_SANDBOX_HEAP_POOL_H_
#define EVALUATECODE_SANDBOX_HEAP_POOL_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/time_source.h"
#include "sandbox/script_runtime.h"
#include "sandbox/warm_heap.h"

namespace evaluatecode::sandbox {

// Idle WarmHeaps, kept per partition (the tenant): a heap is only ever reused within the partition
// it first served, so tenants that must not meet never share a heap, even a frozen one.
// Thread-safe.
class HeapPool {
 public:
  struct Options {
    // Idle heaps kept per partition, and in all.
    int max_idle_per_partition = 4;
    int max_idle_total = 64;
    // A heap is retired after this many evaluations.
    int max_uses_per_heap = 1000;
  };

  // `time_source` must outlive the pool. New heaps get a `connectors` object for `catalog`, and the
  // ES2015+ runtime when asked for and `runtime` is not null.
  HeapPool(const Options& options, const TimeSource& time_source,
           std::vector<ConnectorCatalogEntry> catalog = {},
           std::shared_ptr<const ScriptRuntime> runtime = nullptr)
      : options_(options),
        time_source_(time_source),
        catalog_(std::move(catalog)),
        runtime_(std::move(runtime)) {}

  // An idle heap of `partition` (with the runtime or without), or a newly prepared one.
  absl::StatusOr<std::unique_ptr<WarmHeap>> Acquire(const std::string& partition,
                                                    bool with_runtime) ABSL_LOCKS_EXCLUDED(mu_);

  // A newly prepared heap that will not be kept (for evaluations that must not reuse one).
  absl::StatusOr<std::unique_ptr<WarmHeap>> CreateHeap(bool with_runtime) const;

  // Gives back a heap whose evaluation succeeded; it is kept if there is room and it has uses left.
  // Heaps whose evaluation failed in any way must simply be destroyed instead.
  void Release(const std::string& partition, std::unique_ptr<WarmHeap> heap)
      ABSL_LOCKS_EXCLUDED(mu_);

  int idle_heaps() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const Options options_;
  const TimeSource& time_source_;
  const std::vector<ConnectorCatalogEntry> catalog_;
  const std::shared_ptr<const ScriptRuntime> runtime_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<std::unique_ptr<WarmHeap>>> idle_
      ABSL_GUARDED_BY(mu_);
  int idle_total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_HEAP_POOL_H_
