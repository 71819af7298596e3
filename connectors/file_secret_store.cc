#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "connectors/secret_store.h"

namespace evaluatecode::connectors {
namespace {

constexpr off_t kMaxSecretBytes = 64 << 10;

struct FileVersion {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};

  bool operator==(const FileVersion& o) const {
    return device == o.device && inode == o.inode && size == o.size &&
           mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
           ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

class FileSecretStore final : public SecretStore {
 public:
  absl::StatusOr<std::string> Get(const std::string& path) override {
    struct stat info;
    if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
      return absl::NotFoundError(absl::StrCat("secret file ", path, " cannot be read"));
    }
    const FileVersion version{info.st_dev, info.st_ino, info.st_size, info.st_mtim, info.st_ctim};
    {
      absl::MutexLock lock(&mu_);
      auto it = cache_.find(path);
      if (it != cache_.end() && it->second.first == version) return it->second.second;
    }
    if (info.st_size > kMaxSecretBytes) {
      return absl::FailedPreconditionError(absl::StrCat("secret file ", path, " is over 64 KiB"));
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) return absl::NotFoundError(absl::StrCat("secret file ", path, " cannot be read"));
    std::stringstream content;
    content << file.rdbuf();
    std::string secret(absl::StripTrailingAsciiWhitespace(content.str()));
    if (secret.empty()) {
      return absl::FailedPreconditionError(absl::StrCat("secret file ", path, " is empty"));
    }
    absl::MutexLock lock(&mu_);
    cache_[path] = {version, secret};
    return secret;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::pair<FileVersion, std::string>> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<SecretStore> NewFileSecretStore() { return std::make_unique<FileSecretStore>(); }

}  // namespace evaluatecode::connectors
