#ifndef EVALUATECODE_SANDBOX_BYTECODE_FILE_H_
#define EVALUATECODE_SANDBOX_BYTECODE_FILE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace evaluatecode::sandbox {

// Bytecode the supervisor compiled once (TypeScript's compiler: ≈ 0.9 s to compile, ≈ 0.1 s to
// load), in a file its worker processes read before they lock themselves down, so that starting or
// replacing a worker does not compile it again. The file is private to this user (in a directory
// of its own, mode 0700, under $TMPDIR or /tmp) and removed with this object.
class BytecodeFile {
 public:
  // kUnavailable naming the directory when the file cannot be written.
  static absl::StatusOr<std::unique_ptr<BytecodeFile>> Write(const std::string& bytecode);
  ~BytecodeFile();

  BytecodeFile(const BytecodeFile&) = delete;
  BytecodeFile& operator=(const BytecodeFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  BytecodeFile(std::string directory, std::string path)
      : directory_(std::move(directory)), path_(std::move(path)) {}

  const std::string directory_;
  const std::string path_;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_BYTECODE_FILE_H_
