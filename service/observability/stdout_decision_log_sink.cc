#include "service/observability/stdout_decision_log_sink.h"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "spdlog/details/console_globals.h"

namespace evaluatecode::service::observability {
namespace {

class StreamLineOutput final : public LineOutput {
 public:
  explicit StreamLineOutput(FILE* stream) : stream_(stream) {}

  // LineOutput
  absl::Status Write(absl::Span<const std::string> lines) override {
    text_.clear();
    for (const std::string& line : lines) absl::StrAppend(&text_, line, "\n");
    // spdlog's stdout sinks hold this mutex while they write: the same lock keeps our lines whole.
    std::lock_guard<std::mutex> lock(spdlog::details::console_mutex::mutex());
    if (std::fwrite(text_.data(), 1, text_.size(), stream_) == text_.size() &&
        std::fflush(stream_) == 0) {
      return absl::OkStatus();
    }
    const int error = errno;
    std::clearerr(stream_);
    return absl::UnavailableError(
        absl::StrCat("decision log: writing to stdout failed: ", std::strerror(error)));
  }
  absl::Status Commit(bool) override { return absl::OkStatus(); }
  absl::Duration CommitWait() const override { return absl::InfiniteDuration(); }
  absl::string_view Name() const override { return "stdout"; }

 private:
  FILE* const stream_;
  // Kept between batches: a fresh buffer per batch cost page faults at every growth.
  std::string text_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<DecisionLogSink>> NewStdoutDecisionLogSink(
    const BatchOptions& batching, FILE* stream) {
  return NewBatchingDecisionLogSink(std::make_unique<StreamLineOutput>(stream), batching,
                                    BatchWriter::kAppendingThread);
}

}  // namespace evaluatecode::service::observability
