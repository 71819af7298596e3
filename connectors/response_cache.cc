#include "connectors/response_cache.h"

#include <algorithm>
#include <utility>

namespace evaluatecode::connectors {

ResponseCache::ResponseCache(size_t max_entries, const TimeSource& time_source)
    : max_entries_(std::max<size_t>(1, max_entries)), time_source_(time_source) {}

std::shared_ptr<const CachedResponse> ResponseCache::Get(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (time_source_.Now() >= it->second.expires) {
    lru_.erase(it->second.lru_position);
    entries_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru_position);
  return it->second.response;
}

void ResponseCache::Put(const std::string& key, std::shared_ptr<const CachedResponse> response,
                        absl::Duration ttl) {
  if (ttl <= absl::ZeroDuration()) return;
  absl::MutexLock lock(&mu_);
  const absl::Time expires = time_source_.Now() + ttl;
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    it->second.response = std::move(response);
    it->second.expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second.lru_position);
    return;
  }
  while (entries_.size() >= max_entries_ && !lru_.empty()) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(response), expires, lru_.begin()});
}

size_t ResponseCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace evaluatecode::connectors
