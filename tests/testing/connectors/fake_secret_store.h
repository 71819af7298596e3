#ifndef EVALUATECODE_TESTS_TESTING_CONNECTORS_FAKE_SECRET_STORE_H_
#define EVALUATECODE_TESTS_TESTING_CONNECTORS_FAKE_SECRET_STORE_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "connectors/secret_store.h"

namespace evaluatecode::testing {

// Secrets held in memory, by path. Thread-safe.
class FakeSecretStore final : public connectors::SecretStore {
 public:
  void Set(const std::string& path, const std::string& secret) {
    absl::MutexLock lock(&mu_);
    secrets_[path] = secret;
  }
  void Remove(const std::string& path) {
    absl::MutexLock lock(&mu_);
    secrets_.erase(path);
  }
  int reads() const {
    absl::MutexLock lock(&mu_);
    return reads_;
  }

  // connectors::SecretStore
  absl::StatusOr<std::string> Get(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    ++reads_;
    auto it = secrets_.find(path);
    if (it == secrets_.end()) return absl::NotFoundError(absl::StrCat("no secret at ", path));
    return it->second;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> secrets_ ABSL_GUARDED_BY(mu_);
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_CONNECTORS_FAKE_SECRET_STORE_H_
