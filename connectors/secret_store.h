#ifndef EVALUATECODE_CONNECTORS_SECRET_STORE_H_
#define EVALUATECODE_CONNECTORS_SECRET_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace evaluatecode::connectors {

// Where connector credentials come from. Implementations are thread-safe.
class SecretStore {
 public:
  virtual ~SecretStore() = default;

  // The secret named by `path` (a file path for the real store), with trailing whitespace and
  // newlines removed. kNotFound if it cannot be read, kFailedPrecondition if it is empty. Messages
  // name the path, never the content.
  virtual absl::StatusOr<std::string> Get(const std::string& path) = 0;
};

// Reads secrets from files, e.g. a Kubernetes Secret volume mount. Each Get stat()s the file and
// re-reads it when its inode, size, mtime or ctime changed, so a rotated Secret (the kubelet swaps
// a symlink, giving a new inode) is picked up at the next call without a restart. Files over 64 KiB
// are refused. Thread-safe.
std::unique_ptr<SecretStore> NewFileSecretStore();

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_SECRET_STORE_H_
