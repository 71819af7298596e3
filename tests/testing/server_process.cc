#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace evaluatecode::testing {
namespace {

absl::StatusOr<std::pair<pid_t, int>> Spawn(const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  const std::string binary = ServerProcess::Runfile("service/evaluate_server");
  std::vector<char*> argv = {const_cast<char*>(binary.c_str())};
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (error != 0) {
    close(pipe_fds[0]);
    return absl::InternalError(absl::StrCat("cannot start ", binary));
  }
  return std::make_pair(pid, pipe_fds[0]);
}

}  // namespace

std::string ServerProcess::Runfile(const std::string& path) {
  const char* root = std::getenv("TEST_SRCDIR");
  return absl::StrCat(root != nullptr ? root : ".", "/evaluatecode/", path);
}

absl::StatusOr<ServerProcess> ServerProcess::Start(const std::vector<std::string>& args,
                                                   absl::Duration timeout) {
  auto spawned = Spawn(args);
  if (!spawned.ok()) return spawned.status();
  ServerProcess process;
  process.pid_ = spawned->first;
  process.output_fd_ = spawned->second;
  const absl::Time deadline = absl::Now() + timeout;
  static const std::regex kListening(
      R"re((?:"metrics_port":(\d+),)?"port":(\d+),"type":"listening")re");
  while (absl::Now() < deadline) {
    process.Drain();
    std::smatch match;
    if (std::regex_search(process.output_, match, kListening)) {
      if (match[1].matched) process.metrics_port_ = std::stoi(match[1]);
      process.port_ = std::stoi(match[2]);
      return process;
    }
    int status = 0;
    if (waitpid(process.pid_, &status, WNOHANG) == process.pid_) {
      process.pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("server exited before listening: ", process.output_));
    }
    pollfd poll_fd{process.output_fd_, POLLIN, 0};
    poll(&poll_fd, 1, 50);
  }
  return absl::DeadlineExceededError(absl::StrCat("server did not listen: ", process.output_));
}

ServerProcess::Exit ServerProcess::RunToExit(const std::vector<std::string>& args) {
  Exit exit;
  auto spawned = Spawn(args);
  if (!spawned.ok()) return exit;
  char buffer[4096];
  ssize_t n;
  while ((n = read(spawned->second, buffer, sizeof(buffer))) > 0) exit.output.append(buffer, n);
  close(spawned->second);
  int status = 0;
  waitpid(spawned->first, &status, 0);
  exit.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return exit;
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept
    : pid_(other.pid_), output_fd_(other.output_fd_), port_(other.port_),
      metrics_port_(other.metrics_port_), output_(std::move(other.output_)) {
  other.pid_ = -1;
  other.output_fd_ = -1;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (output_fd_ >= 0) close(output_fd_);
}

void ServerProcess::Signal(int signal_number) const {
  if (pid_ > 0) kill(pid_, signal_number);
}

void ServerProcess::Drain() {
  char buffer[4096];
  for (;;) {
    pollfd poll_fd{output_fd_, POLLIN, 0};
    if (poll(&poll_fd, 1, 0) <= 0) return;
    const ssize_t n = read(output_fd_, buffer, sizeof(buffer));
    if (n <= 0) return;
    output_.append(buffer, n);
  }
}

std::string ServerProcess::Output() {
  Drain();
  return output_;
}

absl::StatusOr<int> ServerProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    Drain();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError("the server did not exit in time");
}

}  // namespace evaluatecode::testing
