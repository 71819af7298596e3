#include "sandbox/heap_pool.h"

#include <utility>

namespace evaluatecode::sandbox {

namespace {

// Heaps with and without the runtime are kept apart: one partition key each.
std::string PoolKey(const std::string& partition, bool with_runtime) {
  return with_runtime ? partition + '\x01' : partition;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WarmHeap>> HeapPool::CreateHeap(bool with_runtime) const {
  return WarmHeap::Create(time_source_, catalog_,
                          with_runtime && runtime_ != nullptr ? &runtime_->core_js_bytecode : nullptr);
}

absl::StatusOr<std::unique_ptr<WarmHeap>> HeapPool::Acquire(const std::string& partition,
                                                            bool with_runtime) {
  {
    absl::MutexLock lock(&mu_);
    auto found = idle_.find(PoolKey(partition, with_runtime));
    if (found != idle_.end() && !found->second.empty()) {
      std::unique_ptr<WarmHeap> heap = std::move(found->second.back());
      found->second.pop_back();
      if (found->second.empty()) idle_.erase(found);
      --idle_total_;
      return heap;
    }
  }
  return CreateHeap(with_runtime);
}

void HeapPool::Release(const std::string& partition, std::unique_ptr<WarmHeap> heap) {
  if (heap->uses() >= options_.max_uses_per_heap) return;
  const std::string key = PoolKey(partition, heap->has_runtime());
  absl::MutexLock lock(&mu_);
  std::vector<std::unique_ptr<WarmHeap>>& heaps = idle_[key];
  if (static_cast<int>(heaps.size()) >= options_.max_idle_per_partition ||
      idle_total_ >= options_.max_idle_total) {
    if (heaps.empty()) idle_.erase(key);
    return;  // the heap is destroyed outside the lock, when `heap` goes out of scope
  }
  heaps.push_back(std::move(heap));
  ++idle_total_;
}

int HeapPool::idle_heaps() const {
  absl::MutexLock lock(&mu_);
  return idle_total_;
}

}  // namespace evaluatecode::sandbox
