#include "service/observability/file_decision_log_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace evaluatecode::service::observability {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path, int error) {
  return absl::UnavailableError(
      absl::StrCat("decision log: ", what, " ", path, ": ", std::strerror(error)));
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Writes all of `data`, retrying short writes and EINTR.
int WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

// The file a batching sink writes: rotation, and syncs when durable or due.
class FileLineOutput final : public LineOutput {
 public:
  FileLineOutput(const FileSinkOptions& options, const TimeSource& time_source)
      : options_(options), time_source_(time_source), last_sync_(time_source.Now()) {}

  ~FileLineOutput() override {
    if (fd_ >= 0) ::close(fd_);
  }

  // Opens the file; called once, before the output is handed to the sink.
  absl::Status Open() {
    fd_ = ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) return ErrnoError("cannot open", options_.path, errno);
    struct stat info;
    if (::fstat(fd_, &info) != 0) return ErrnoError("cannot stat", options_.path, errno);
    file_bytes_ = static_cast<uint64_t>(info.st_size);
    if (file_bytes_ > 0 && S_ISREG(info.st_mode)) {
      // A crash mid-write can leave a partial last line; start ours on a line of its own.
      char last = '\n';
      const int read_fd = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (read_fd >= 0) {
        if (::pread(read_fd, &last, 1, info.st_size - 1) != 1) last = '\n';
        ::close(read_fd);
      }
      if (last != '\n') {
        absl::Status status = WriteBuffer("\n");
        if (!status.ok()) return status;
      }
    }
    return SyncDirectory();
  }

  // LineOutput
  // Writes the lines, rotating first whenever the next line would not fit in the current file.
  absl::Status Write(absl::Span<const std::string> lines) override {
    buffer_.clear();
    for (const std::string& line : lines) {
      const uint64_t line_bytes = line.size() + 1;
      if (options_.rotate_bytes > 0 &&
          file_bytes_ + buffer_.size() > 0 &&
          file_bytes_ + buffer_.size() + line_bytes > options_.rotate_bytes) {
        absl::Status status = WriteBuffer(buffer_);
        if (status.ok()) status = Rotate();
        if (!status.ok()) return status;
        buffer_.clear();
      }
      buffer_.append(line);
      buffer_.push_back('\n');
    }
    return WriteBuffer(buffer_);
  }
  absl::Status Commit(bool closing) override {
    return options_.durable || closing || SyncIsDue() ? Sync() : absl::OkStatus();
  }
  absl::Duration CommitWait() const override {
    return unsynced_bytes_ > 0 && !options_.durable ? options_.fsync_interval
                                                    : absl::InfiniteDuration();
  }
  absl::string_view Name() const override { return "the disk"; }

 private:
  // Non-durable mode: sync when the oldest unsynced line has waited fsync_interval.
  bool SyncIsDue() const {
    return unsynced_bytes_ > 0 && time_source_.Now() - last_sync_ >= options_.fsync_interval;
  }

  absl::Status WriteBuffer(const std::string& buffer) {
    if (buffer.empty()) return absl::OkStatus();
    const int error = WriteAll(fd_, buffer.data(), buffer.size());
    if (error != 0) {
      // Best effort: drop a partial line so that the file keeps whole lines.
      if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) {
        // Nothing more to do: the sink is failing anyway.
      }
      return ErrnoError("cannot write", options_.path, error);
    }
    file_bytes_ += buffer.size();
    unsynced_bytes_ += buffer.size();
    return absl::OkStatus();
  }

  absl::Status Sync() {
    if (unsynced_bytes_ == 0) return absl::OkStatus();
    if (::fdatasync(fd_) != 0) return ErrnoError("cannot sync", options_.path, errno);
    unsynced_bytes_ = 0;
    last_sync_ = time_source_.Now();
    return absl::OkStatus();
  }

  // The renames and the new file's name only survive a crash once the directory is synced.
  absl::Status SyncDirectory() {
    const std::string directory = DirectoryOf(options_.path);
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return ErrnoError("cannot open the directory", directory, errno);
    const int result = ::fsync(dir_fd);
    const int error = errno;
    ::close(dir_fd);
    // Some file systems cannot sync a directory (EINVAL); there is nothing better to do there.
    if (result != 0 && error != EINVAL) return ErrnoError("cannot sync", directory, error);
    return absl::OkStatus();
  }

  absl::Status Rotate() {
    absl::Status status = Sync();
    if (!status.ok()) return status;
    ::close(fd_);
    fd_ = -1;
    for (int i = options_.keep_files - 1; i >= 1; --i) {
      const std::string from = absl::StrCat(options_.path, ".", i);
      if (::rename(from.c_str(), absl::StrCat(options_.path, ".", i + 1).c_str()) != 0 &&
          errno != ENOENT) {
        return ErrnoError("cannot rotate", from, errno);
      }
    }
    if (::rename(options_.path.c_str(), absl::StrCat(options_.path, ".1").c_str()) != 0) {
      return ErrnoError("cannot rotate", options_.path, errno);
    }
    return Open();
  }

  const FileSinkOptions options_;
  const TimeSource& time_source_;
  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  uint64_t unsynced_bytes_ = 0;
  absl::Time last_sync_;
  // Kept between batches: a fresh buffer per batch cost page faults at every growth.
  std::string buffer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<DecisionLogSink>> NewFileDecisionLogSink(
    const FileSinkOptions& options, const BatchOptions& batching, const TimeSource& time_source) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("config: decision_log.path: required with sink: file");
  }
  if (options.rotate_bytes > 0 && options.keep_files < 1) {
    return absl::InvalidArgumentError(
        "config: decision_log.keep_files: must be at least 1 when rotate_bytes is set");
  }
  auto output = std::make_unique<FileLineOutput>(options, time_source);
  absl::Status status = output->Open();
  if (!status.ok()) return status;
  return NewBatchingDecisionLogSink(std::move(output), batching, BatchWriter::kOwnThread);
}

}  // namespace evaluatecode::service::observability
