#ifndef EVALUATECODE_CONNECTORS_RESPONSE_CACHE_H_
#define EVALUATECODE_CONNECTORS_RESPONSE_CACHE_H_

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time_source.h"
#include "connectors/connector_gateway.h"

namespace evaluatecode::connectors {

// A successful vendor answer as cached: already parsed and scrubbed, and shared with the calls it
// answers rather than copied.
struct CachedResponse {
  int http_status = 0;
  ConnectorBody body;
};

// A TTL cache of vendor answers with an LRU bound. Keys are built by the gateway from (tenant,
// connector, operation, the fully expanded request), so tenants never share entries. Thread-safe.
class ResponseCache {
 public:
  // `max_entries` >= 1; `time_source` is not owned and must outlive the cache.
  ResponseCache(size_t max_entries, const TimeSource& time_source);

  // The live entry for `key`, or null if absent or expired.
  std::shared_ptr<const CachedResponse> Get(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

  // Stores `response` for `ttl` (a non-positive ttl stores nothing), evicting the least recently
  // used entry when full.
  void Put(const std::string& key, std::shared_ptr<const CachedResponse> response,
           absl::Duration ttl) ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::shared_ptr<const CachedResponse> response;
    absl::Time expires;
    std::list<std::string>::iterator lru_position;
  };

  const size_t max_entries_;
  const TimeSource& time_source_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // Most recently used at the front.
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_RESPONSE_CACHE_H_
