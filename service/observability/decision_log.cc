#include "service/observability/decision_log.h"

#include <utility>

#include "service/observability/stdout_decision_log_sink.h"

namespace evaluatecode::service::observability {

DecisionLog::DecisionLog(std::unique_ptr<DecisionLogSink> sink, InputMask mask,
                         const TimeSource& time_source, Metrics* metrics)
    : mask_(std::move(mask)),
      time_source_(time_source),
      metrics_(metrics),
      sink_(std::move(sink)) {}

void DecisionLog::Record(const DecisionRecord& record, DecisionLogSink::Done done) {
  const absl::Time start = time_source_.Now();
  absl::StatusOr<std::string> line = DecisionRecordToJson(record, mask_);
  if (!line.ok()) {
    if (metrics_ != nullptr) metrics_->RecordDecisionLogWrite(time_source_.Now() - start, false);
    std::move(done)(absl::InternalError(line.status().message()));
    return;
  }
  sink_->Append(*std::move(line),
                [this, start, done = std::move(done)](absl::Status status) mutable {
                  if (metrics_ != nullptr) {
                    metrics_->RecordDecisionLogWrite(time_source_.Now() - start, status.ok());
                  }
                  std::move(done)(std::move(status));
                });
}

absl::StatusOr<std::unique_ptr<DecisionLog>> NewDecisionLog(const DecisionLogOptions& options,
                                                            const TimeSource& time_source,
                                                            Metrics* metrics) {
  absl::StatusOr<InputMask> mask = InputMask::Create(options.mask);
  if (!mask.ok()) return mask.status();
  absl::StatusOr<std::unique_ptr<DecisionLogSink>> sink =
      options.sink == DecisionLogOptions::Sink::kFile
          ? NewFileDecisionLogSink(options.file, options.batching, time_source)
          : NewStdoutDecisionLogSink(options.batching);
  if (!sink.ok()) return sink.status();
  return std::make_unique<DecisionLog>(*std::move(sink), *std::move(mask), time_source, metrics);
}

}  // namespace evaluatecode::service::observability
