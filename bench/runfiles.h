#ifndef EVALUATECODE_BENCH_RUNFILES_H_
#define EVALUATECODE_BENCH_RUNFILES_H_

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace evaluatecode::bench {

// Where a workspace file is for a benchmark binary: `path` itself when it exists (bazel run sets
// the working directory to the runfiles), else the copy in the binary's own runfiles tree.
inline std::string RunfilePath(const std::string& path) {
  if (access(path.c_str(), F_OK) == 0) return path;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  return absl::StrCat(std::string(self, n > 0 ? n : 0), ".runfiles/evaluatecode/", path);
}

// The contents of that file ("" when it cannot be read).
inline std::string ReadRunfile(const std::string& path) {
  std::ifstream file(RunfilePath(path));
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace evaluatecode::bench

#endif  // EVALUATECODE_BENCH_RUNFILES_H_
