#include "sandbox/bytecode_file.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace evaluatecode::sandbox {

absl::StatusOr<std::unique_ptr<BytecodeFile>> BytecodeFile::Write(const std::string& bytecode) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp", "/evaluatecode.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {  // mode 0700
    return absl::UnavailableError(absl::StrCat("cannot create a private directory like ", pattern,
                                               ": ", std::strerror(errno)));
  }
  std::unique_ptr<BytecodeFile> file(
      new BytecodeFile(pattern, absl::StrCat(pattern, "/typescript.bytecode")));
  std::ofstream out(file->path_, std::ios::binary);
  out.write(bytecode.data(), static_cast<std::streamsize>(bytecode.size()));
  out.close();
  if (!out) {
    return absl::UnavailableError(absl::StrCat("cannot write ", file->path_));
  }
  return file;
}

BytecodeFile::~BytecodeFile() {
  unlink(path_.c_str());
  rmdir(directory_.c_str());
}

}  // namespace evaluatecode::sandbox
