#ifndef EVALUATECODE_SANDBOX_SCRIPT_CACHE_H_
#define EVALUATECODE_SANDBOX_SCRIPT_CACHE_H_

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "sandbox/compiler.h"

namespace evaluatecode::sandbox {

// What the cache answered for one source text.
struct CacheLookup {
  // Lower-case hex SHA-256 of the source: the cache key, also returned to callers.
  std::string code_sha256;
  // The compile outcome; scripts that failed to compile are cached too, with their diagnostics.
  std::shared_ptr<const CompileResult> compiled;
  bool cache_hit = false;
};

// A bounded LRU of compile results keyed by the SHA-256 of the source, in front of a Compiler.
// Thread-safe; compiles run outside the lock.
class ScriptCache {
 public:
  // `compiler` must outlive the cache. `capacity` is the number of entries kept (at least 1).
  ScriptCache(const Compiler& compiler, size_t capacity);

  // Returns the cached compile outcome of `source`, compiling it on a miss. `code_sha256` is the
  // source's SHA-256 when the caller has it (trusted as the key), or empty to hash it here.
  absl::StatusOr<CacheLookup> GetOrCompile(absl::string_view source,
                                           absl::string_view code_sha256 = {})
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const CompileResult>>;

  const Compiler& compiler_;
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // most recently used first
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_SCRIPT_CACHE_H_
