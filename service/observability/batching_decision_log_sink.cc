#include "service/observability/batching_decision_log_sink.h"

#include <atomic>
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

// Thread-safe: the queue is guarded by mu_; the output is used by one writer at a time (the own
// thread, or the appending thread that set writing_).
class BatchingDecisionLogSink final : public DecisionLogSink {
 public:
  BatchingDecisionLogSink(std::unique_ptr<LineOutput> output, const BatchOptions& options,
                          BatchWriter writer)
      : options_(options), writer_(writer), output_(std::move(output)) {
    if (writer_ == BatchWriter::kOwnThread) {
      thread_ = std::thread([this] {
        NameThisThread("decision-log");
        WriterLoop();
      });
    }
  }

  ~BatchingDecisionLogSink() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (writer_ == BatchWriter::kOwnThread) {
      thread_.join();
    } else {
      // Every line was written and answered by the Append that queued it or a later one; a failed
      // final commit has no caller left to tell.
      output_->Commit(/*closing=*/true).IgnoreError();
    }
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
        refused = absl::UnavailableError(absl::StrCat("decision log: ", pending_bytes_,
                                                      " bytes are waiting for ", output_->Name(),
                                                      " (max_pending_bytes)"));
      } else {
        pending_bytes_ += line.size();
        queue_.push_back({std::move(line), std::move(done)});
        if (writer_ == BatchWriter::kOwnThread || writing_) return;
        writing_ = true;
      }
    }
    if (refused.ok()) {
      WriteWhileQueued();
    } else {
      std::move(done)(std::move(refused));
    }
  }
  bool IsHealthy() const override { return healthy_.load(std::memory_order_acquire); }

 private:
  struct Pending {
    std::string line;
    Done done;
  };
  struct Batch {
    std::vector<std::string> lines;
    std::vector<Done> dones;
  };

  // The sink's own thread: waits for lines (or CommitWait), writes them, stops once closing and
  // drained.
  void WriterLoop() {
    while (true) {
      Batch batch;
      absl::Status failure;
      bool stop = false;
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(this, &BatchingDecisionLogSink::HasWork),
                             output_->CommitWait());
        batch = TakeBatch();
        stop = stopping_ && queue_.empty();
        failure = failure_;
      }
      WriteAndAnswer(batch, std::move(failure), stop);
      if (stop) break;
    }
  }

  // An appending thread that found no write in progress: writes until the queue is empty, so that
  // no line waits for a later Append.
  void WriteWhileQueued() {
    while (true) {
      Batch batch;
      absl::Status failure;
      {
        absl::MutexLock lock(&mu_);
        if (queue_.empty()) {
          writing_ = false;
          return;
        }
        batch = TakeBatch();
        failure = failure_;
      }
      WriteAndAnswer(batch, std::move(failure), /*closing=*/false);
    }
  }

  Batch TakeBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Batch batch;
    while (!queue_.empty() && batch.lines.size() < options_.max_batch) {
      pending_bytes_ -= queue_.front().line.size();
      batch.lines.push_back(std::move(queue_.front().line));
      batch.dones.push_back(std::move(queue_.front().done));
      queue_.pop_front();
    }
    return batch;
  }

  // Writes and commits the batch unless the sink has already failed, then answers it. Called
  // without the lock: callbacks may take their own locks or be slow.
  void WriteAndAnswer(Batch& batch, absl::Status status, bool closing) {
    if (status.ok() && !batch.lines.empty()) status = output_->Write(batch.lines);
    if (status.ok()) status = output_->Commit(closing);
    if (!status.ok()) Fail(status);
    for (Done& done : batch.dones) std::move(done)(status);
  }

  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stopping_; }

  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (failure_.ok()) failure_ = status;
    healthy_.store(false, std::memory_order_release);
  }

  const BatchOptions options_;
  const BatchWriter writer_;
  const std::unique_ptr<LineOutput> output_;

  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // With BatchWriter::kAppendingThread: an appending thread is writing (WriteWhileQueued).
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // The first failure; once set, every Append is refused with it.
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  // Mirrors failure_.ok() for IsHealthy, which a health check may call often.
  std::atomic<bool> healthy_{true};

  // With BatchWriter::kOwnThread; started last, once every member it uses is constructed.
  std::thread thread_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<DecisionLogSink>> NewBatchingDecisionLogSink(
    std::unique_ptr<LineOutput> output, const BatchOptions& options, BatchWriter writer) {
  if (options.max_batch < 1) {
    return absl::InvalidArgumentError("config: decision_log.max_batch: must be at least 1");
  }
  return std::make_unique<BatchingDecisionLogSink>(std::move(output), options, writer);
}

}  // namespace evaluatecode::service::observability
