#include "sandbox/heap_pool.h"

#include <utility>

namespace evaluatecode::sandbox {

absl::StatusOr<std::unique_ptr<WarmHeap>> HeapPool::Acquire(const std::string& partition) {
  {
    absl::MutexLock lock(&mu_);
    auto found = idle_.find(partition);
    if (found != idle_.end() && !found->second.empty()) {
      std::unique_ptr<WarmHeap> heap = std::move(found->second.back());
      found->second.pop_back();
      if (found->second.empty()) idle_.erase(found);
      --idle_total_;
      return heap;
    }
  }
  return WarmHeap::Create(time_source_, catalog_);
}

void HeapPool::Release(const std::string& partition, std::unique_ptr<WarmHeap> heap) {
  if (heap->uses() >= options_.max_uses_per_heap) return;
  absl::MutexLock lock(&mu_);
  std::vector<std::unique_ptr<WarmHeap>>& heaps = idle_[partition];
  if (static_cast<int>(heaps.size()) >= options_.max_idle_per_partition ||
      idle_total_ >= options_.max_idle_total) {
    if (heaps.empty()) idle_.erase(partition);
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
