#include "service/observability/file_decision_log_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/thread_name.h"

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

// Thread-safe: Append only queues under mu_; the file and its counters belong to the writer thread.
class FileDecisionLogSink final : public DecisionLogSink {
 public:
  FileDecisionLogSink(const FileSinkOptions& options, const TimeSource& time_source)
      : options_(options), time_source_(time_source), last_sync_(time_source.Now()) {}

  ~FileDecisionLogSink() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (writer_.joinable()) writer_.join();
    if (fd_ >= 0) ::close(fd_);
  }

  // Opens the file and starts the writer; called once, before the sink is shared.
  absl::Status Start() {
    absl::Status status = Open();
    if (!status.ok()) return status;
    writer_ = std::thread([this] {
      NameThisThread("decision-log");
      WriterLoop();
    });
    return absl::OkStatus();
  }

  // DecisionLogSink
  void Append(std::string line, Done done) override {
    absl::Status refused;
    {
      absl::MutexLock lock(&mu_);
      if (!failure_.ok()) {
        refused = failure_;
      } else if (stopping_) {
        refused = absl::UnavailableError("decision log: the sink is closing");
      } else if (!queue_.empty() && pending_bytes_ + line.size() > options_.max_pending_bytes) {
        refused = absl::UnavailableError(
            absl::StrCat("decision log: ", pending_bytes_,
                         " bytes are waiting for the disk (max_pending_bytes)"));
      } else {
        pending_bytes_ += line.size();
        queue_.push_back({std::move(line), std::move(done)});
        return;
      }
    }
    std::move(done)(std::move(refused));
  }
  bool IsHealthy() const override { return healthy_.load(std::memory_order_acquire); }

 private:
  struct Pending {
    std::string line;
    Done done;
  };

  void WriterLoop() {
    while (true) {
      std::vector<Pending> batch;
      absl::Status failure;
      bool stop = false;
      {
        absl::MutexLock lock(&mu_);
        const absl::Condition ready(this, &FileDecisionLogSink::HasWork);
        if (unsynced_bytes_ > 0 && !options_.durable) {
          mu_.AwaitWithTimeout(ready, options_.fsync_interval);
        } else {
          mu_.Await(ready);
        }
        while (!queue_.empty() && batch.size() < options_.max_batch) {
          pending_bytes_ -= queue_.front().line.size();
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        stop = stopping_ && queue_.empty();
        failure = failure_;
      }
      absl::Status status = failure;
      if (status.ok() && !batch.empty()) status = WriteBatch(batch);
      if (status.ok() && (options_.durable || stop || SyncIsDue())) status = Sync();
      if (!status.ok()) Fail(status);
      // Callbacks run without the lock: they may take their own locks or be slow.
      for (Pending& pending : batch) std::move(pending.done)(status);
      if (stop) break;
    }
  }

  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stopping_; }

  // Non-durable mode: sync when the oldest unsynced line has waited fsync_interval.
  bool SyncIsDue() const {
    return unsynced_bytes_ > 0 && time_source_.Now() - last_sync_ >= options_.fsync_interval;
  }

  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (failure_.ok()) failure_ = status;
    healthy_.store(false, std::memory_order_release);
  }

  // Writes the batch, rotating first whenever the next line would not fit in the current file.
  absl::Status WriteBatch(const std::vector<Pending>& batch) {
    std::string buffer;
    for (const Pending& pending : batch) {
      const uint64_t line_bytes = pending.line.size() + 1;
      if (options_.rotate_bytes > 0 &&
          file_bytes_ + buffer.size() > 0 &&
          file_bytes_ + buffer.size() + line_bytes > options_.rotate_bytes) {
        absl::Status status = Write(buffer);
        if (status.ok()) status = Rotate();
        if (!status.ok()) return status;
        buffer.clear();
      }
      buffer.append(pending.line);
      buffer.push_back('\n');
    }
    return Write(buffer);
  }

  absl::Status Write(const std::string& buffer) {
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
        absl::Status status = Write("\n");
        if (!status.ok()) return status;
      }
    }
    return SyncDirectory();
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

  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The first failure; once set, every Append is refused with it.
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  // Mirrors failure_.ok() for IsHealthy, which a health check may call often.
  std::atomic<bool> healthy_{true};

  // Owned by the writer thread (and by Start before it runs).
  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  uint64_t unsynced_bytes_ = 0;
  absl::Time last_sync_;

  std::thread writer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<DecisionLogSink>> NewFileDecisionLogSink(
    const FileSinkOptions& options, const TimeSource& time_source) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("config: decision_log.path: required with sink: file");
  }
  if (options.max_batch < 1) {
    return absl::InvalidArgumentError("config: decision_log.max_batch: must be at least 1");
  }
  if (options.rotate_bytes > 0 && options.keep_files < 1) {
    return absl::InvalidArgumentError(
        "config: decision_log.keep_files: must be at least 1 when rotate_bytes is set");
  }
  auto sink = std::make_unique<FileDecisionLogSink>(options, time_source);
  absl::Status status = sink->Start();
  if (!status.ok()) return status;
  return sink;
}

}  // namespace evaluatecode::service::observability
