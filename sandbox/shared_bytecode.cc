#include "sandbox/shared_bytecode.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace evaluatecode::sandbox {
namespace {

absl::Status Errno(const char* what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SharedBytecode>> SharedBytecode::Create(const std::string& bytecode) {
  const int fd = memfd_create("evaluatecode-bytecode", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return Errno("memfd_create");
  std::unique_ptr<SharedBytecode> shared(new SharedBytecode(fd));
  for (size_t written = 0; written < bytecode.size();) {
    const ssize_t n = write(fd, bytecode.data() + written, bytecode.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("writing the shared bytecode");
    written += static_cast<size_t>(n);
  }
  // F_SEAL_FUTURE_WRITE, not F_SEAL_WRITE: no writable mapping of this file ever exists, so both
  // forbid every later write and writable mapping, but F_SEAL_WRITE first waits for the kernel's
  // own transient references to the just-written pages to go, and after ≈ 150 ms fails with EBUSY
  // (seen on a loaded CI machine: the server then refused to start).
  if (fcntl(fd, F_ADD_SEALS,
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) != 0) {
    return Errno("sealing the shared bytecode");
  }
  return shared;
}

SharedBytecode::~SharedBytecode() { close(fd_); }

absl::StatusOr<std::string> ReadSharedBytecode(int fd) {
  struct stat status;
  if (fstat(fd, &status) != 0) return Errno("the inherited bytecode descriptor");
  std::string bytecode(static_cast<size_t>(status.st_size), '\0');
  for (size_t done = 0; done < bytecode.size();) {
    const ssize_t n = pread(fd, bytecode.data() + done, bytecode.size() - done,
                            static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("reading the inherited bytecode");
    done += static_cast<size_t>(n);
  }
  return bytecode;
}

}  // namespace evaluatecode::sandbox
