#include "sandbox/script_cache.h"

#include <algorithm>

#include "common/sha256.h"

namespace evaluatecode::sandbox {

ScriptCache::ScriptCache(const Compiler& compiler, size_t capacity)
    : compiler_(compiler), capacity_(std::max<size_t>(capacity, 1)) {}

absl::StatusOr<CacheLookup> ScriptCache::GetOrCompile(absl::string_view source,
                                                      absl::string_view code_sha256) {
  CacheLookup lookup;
  lookup.code_sha256 = code_sha256.empty() ? Sha256Hex(source) : std::string(code_sha256);
  {
    absl::MutexLock lock(&mu_);
    auto found = index_.find(lookup.code_sha256);
    if (found != index_.end()) {
      lru_.splice(lru_.begin(), lru_, found->second);
      lookup.compiled = found->second->second;
      lookup.cache_hit = true;
      return lookup;
    }
  }

  absl::StatusOr<CompileResult> compiled = compiler_.Compile(source);
  if (!compiled.ok()) return compiled.status();
  lookup.compiled = std::make_shared<const CompileResult>(*std::move(compiled));

  absl::MutexLock lock(&mu_);
  if (index_.contains(lookup.code_sha256)) return lookup;  // a concurrent miss got there first
  lru_.emplace_front(lookup.code_sha256, lookup.compiled);
  index_[lookup.code_sha256] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return lookup;
}

}  // namespace evaluatecode::sandbox
