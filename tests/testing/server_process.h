#ifndef EVALUATECODE_TESTS_TESTING_SERVER_PROCESS_H_
#define EVALUATECODE_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace evaluatecode::testing {

// The evaluate_server binary from this test's runfiles, run as a child process with its stdout and
// stderr captured. The capture is read only inside Start, WaitForExit and Output: a child that
// writes more than a pipe holds (64 KiB) in between blocks, so a test under load sends the
// decision log to a file. Thread-compatible.
class ServerProcess {
 public:
  // Starts the binary with `args`; waits up to `timeout` for its "listening" log line.
  static absl::StatusOr<ServerProcess> Start(const std::vector<std::string>& args,
                                             absl::Duration timeout = absl::Seconds(20));
  // Runs the binary with `args` to completion (for start-up failures): its exit code and output.
  struct Exit {
    int code = -1;
    std::string output;
  };
  static Exit RunToExit(const std::vector<std::string>& args);

  ServerProcess(ServerProcess&& other) noexcept;
  ~ServerProcess();  // SIGKILLs a child still running

  int port() const { return port_; }
  // The /metrics port the server announced, or 0 when it serves no metrics.
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  void Signal(int signal_number) const;
  // Waits up to `timeout` for the child to exit; its exit code, or kDeadlineExceeded.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);
  // Everything the child wrote so far.
  std::string Output();

  // Path of a file in the workspace's runfiles, e.g. "deploy/config.example.yaml".
  static std::string Runfile(const std::string& path);

 private:
  ServerProcess() = default;
  void Drain();

  pid_t pid_ = -1;
  int output_fd_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  std::string output_;
};

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_SERVER_PROCESS_H_
