#include "service/observability/stdout_decision_log_sink.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/details/console_globals.h"

namespace evaluatecode::service::observability {
namespace {

// Thread-safe: writes are serialized by spdlog's console mutex.
class StdoutDecisionLogSink final : public DecisionLogSink {
 public:
  explicit StdoutDecisionLogSink(FILE* stream) : stream_(stream) {}

  // DecisionLogSink
  void Append(std::string line, Done done) override {
    if (!healthy_.load(std::memory_order_acquire)) {
      std::move(done)(absl::UnavailableError("decision log: stdout failed earlier"));
      return;
    }
    line += '\n';
    bool failed = false;
    int error = 0;
    {
      // spdlog's stdout sinks hold this mutex while they write: the same lock keeps our lines whole.
      std::lock_guard<std::mutex> lock(spdlog::details::console_mutex::mutex());
      if (std::fwrite(line.data(), 1, line.size(), stream_) != line.size() ||
          std::fflush(stream_) != 0) {
        failed = true;
        error = errno;
        std::clearerr(stream_);
      }
    }
    if (failed) {
      healthy_.store(false, std::memory_order_release);
      std::move(done)(absl::UnavailableError(
          absl::StrCat("decision log: writing to stdout failed: ", std::strerror(error))));
      return;
    }
    std::move(done)(absl::OkStatus());
  }
  bool IsHealthy() const override { return healthy_.load(std::memory_order_acquire); }

 private:
  FILE* const stream_;
  std::atomic<bool> healthy_{true};
};

}  // namespace

std::unique_ptr<DecisionLogSink> NewStdoutDecisionLogSink(FILE* stream) {
  return std::make_unique<StdoutDecisionLogSink>(stream);
}

}  // namespace evaluatecode::service::observability
