#include "service/backtest_reactor.h"

#include <deque>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/cancellation.h"
#include "common/value_equality.h"
#include "google/protobuf/util/time_util.h"
#include "service/error_status.h"
#include "service/raw_messages.h"

namespace evaluatecode::service {
namespace {

using evaluate::v1::BacktestRequest;
using evaluate::v1::BacktestResponse;
using evaluate::v1::BacktestResult;
using evaluate::v1::Decision;
using evaluate::v1::EvaluateCodeRequest;
using evaluate::v1::EvaluateCodeResponse;
using evaluate::v1::EvaluationError;
using evaluate::v1::RecordedEvaluation;
using google::protobuf::util::TimeUtil;

// The replay of `record` with `code`: the recorded request, clock, seed and connector responses.
EvaluateCodeRequest ReplayRequest(const RecordedEvaluation& record, const std::string& code) {
  EvaluateCodeRequest replay = record.request();
  replay.set_code(code);
  const bool failed = record.has_error();
  *replay.mutable_now() =
      failed ? record.error().evaluation_time() : record.response().evaluation_time();
  replay.set_random_seed(failed ? record.error().random_seed() : record.response().random_seed());
  *replay.mutable_replay()->mutable_connector_calls() =
      failed ? record.error().connector_calls() : record.response().connector_calls();
  return replay;
}

// INVALID_REQUEST about the stream's BacktestStart.
EvaluationError InvalidStart(std::string message) {
  EvaluationError error = NewError(evaluate::v1::INVALID_REQUEST, std::move(message));
  error.set_field("start");
  return error;
}

// Messages come and go as bytes (see service/raw_messages.h): one that does not parse fails the
// call with INVALID_ARGUMENT instead of looking like the end of the stream.
class BacktestReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit BacktestReactor(const BacktestDependencies& dependencies) : deps_(dependencies) {
    absl::MutexLock lock(&mu_);
    reading_ = true;
    StartRead(&incoming_bytes_);
  }

  // grpc::ServerBidiReactor
  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (!ok) {
      reads_done_ = true;
      return ProgressLocked();
    }
    ++messages_read_;
    if (absl::Status parsed = ParseMessage(ReceivedBytes(incoming_bytes_).view(), incoming_);
        !parsed.ok()) {
      FailLocked(NewError(evaluate::v1::INVALID_REQUEST,
                          absl::StrCat("message ", messages_read_, " of the stream: ",
                                       parsed.message())));
    } else if (incoming_.has_start()) {
      if (started_) {
        FailLocked(InvalidStart("BacktestStart sent twice"));
      } else {
        started_ = true;
        code_ = incoming_.start().code();
        parallelism_ = incoming_.start().parallelism() > 0
                           ? static_cast<int>(incoming_.start().parallelism())
                           : deps_.default_parallelism;
      }
    } else if (!started_) {
      FailLocked(InvalidStart("the first message of a Backtest must be a BacktestStart"));
    } else {
      pending_.push_back(std::move(*incoming_.mutable_record()));
    }
    ProgressLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) cancellation_.Cancel(CancellationCause::kCallerCancelled);
    ProgressLocked();
  }

  void OnCancel() override {
    cancellation_.Cancel(CancellationCause::kCallerCancelled);
    absl::MutexLock lock(&mu_);
    ProgressLocked();
  }

  void OnDone() override { delete this; }

 private:
  // Moves the call forward: start replays up to the parallelism, read more when there is room
  // (backpressure: no read while the replays are saturated), write what is ready, and finish when
  // everything is answered. Every gRPC operation is started from here, under the lock, so that
  // each is started exactly once.
  void ProgressLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    if (cancellation_.IsCancelled()) pending_.clear();
    while (!pending_.empty() && running_ < parallelism_) {
      RecordedEvaluation record = std::move(pending_.front());
      pending_.pop_front();
      ++running_;
      auto task = [this, record = std::move(record)](EvaluatorPool::Slot slot) mutable {
        Replay(std::move(record), std::move(slot));
      };
      if (!deps_.pool->TrySubmitAsync(std::move(task))) {
        --running_;
        FailLocked(NewError(evaluate::v1::SERVER_OVERLOADED,
                            "every evaluator is busy; retry with less parallelism"));
        return;
      }
    }
    if (!reading_ && !reads_done_ && !cancellation_.IsCancelled() && running_ < parallelism_) {
      reading_ = true;
      StartRead(&incoming_bytes_);
    }
    if (!writing_ && !outbox_.empty()) {
      const BacktestResponse next = std::move(outbox_.front());
      outbox_.pop_front();
      if (grpc::Status serialized = SerializeMessage(next, &writing_bytes_); !serialized.ok()) {
        FailLocked(std::move(serialized));
        return ProgressLocked();
      }
      writing_ = true;
      StartWrite(&writing_bytes_);
      return;
    }
    // Replays still running use this reactor: it may finish (and be deleted) only after them.
    if (writing_ || running_ > 0) return;
    if (cancellation_.IsCancelled()) {
      // A read still outstanding completes (not ok) once the call is finished.
      finished_ = true;
      Finish(failure_.value_or(grpc::Status(grpc::StatusCode::CANCELLED, "the backtest was cancelled")));
      return;
    }
    if (!reads_done_ || !pending_.empty()) return;
    if (!summary_sent_) {
      summary_sent_ = true;
      outbox_.push_back(SummaryLocked());
      ProgressLocked();
      return;
    }
    finished_ = true;
    Finish(grpc::Status::OK);
  }

  // Ends the call with `error` (its reason's code and ErrorInfo, as every other error).
  void FailLocked(const EvaluationError& error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    FailLocked(ToGrpcStatus(error));
  }
  void FailLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    cancellation_.Cancel(CancellationCause::kCallerCancelled);
    pending_.clear();
    failure_ = std::move(status);
  }

  // One record's replay, from its start to its result.
  struct Replaying {
    BacktestResult result;
    EvaluateCodeRequest request;
    EvaluateCodeResponse response;
  };

  // Starts replaying `record` on an evaluator thread; the replay holds `slot` until it ends.
  void Replay(RecordedEvaluation record, EvaluatorPool::Slot slot) {
    auto replaying = std::make_unique<Replaying>();
    BacktestResult& result = replaying->result;
    result.set_record_id(record.record_id());
    if (record.has_error()) {
      result.set_old_error_reason(record.error().reason());
    } else {
      result.set_old_outcome(record.response().decision().outcome());
      *result.mutable_old_result() = record.response().result();
    }
    replaying->request = ReplayRequest(record, code_);
    std::variant<ResolvedLimits, EvaluationError> validated =
        deps_.validator->Validate(replaying->request);
    if (auto* invalid = std::get_if<EvaluationError>(&validated)) {
      return Replayed(*replaying, std::move(*invalid));
    }
    CallContext call{record.record_id(), deps_.time_source->Now(), absl::InfiniteFuture(),
                     &cancellation_};
    call.random_seed =
        replaying->request.random_seed() != 0 ? replaying->request.random_seed() : 1;
    Replaying& started = *replaying;
    deps_.evaluator->EvaluateAsync(
        started.request, std::get<ResolvedLimits>(validated), call, &started.response,
        [this, replaying = std::move(replaying),
         slot = std::move(slot)](std::optional<EvaluationError> error) mutable {
          Replayed(*replaying, std::move(error));
        });
  }

  // Compares a replay's answer with the recorded one and sends the result.
  void Replayed(Replaying& replaying, std::optional<EvaluationError> error) {
    BacktestResult result = std::move(replaying.result);
    const EvaluateCodeResponse& response = replaying.response;
    absl::Duration engine_time;
    if (error.has_value()) {
      result.set_new_error_reason(error->reason());
      result.set_new_error_message(error->message());
      engine_time = absl::Nanoseconds(TimeUtil::DurationToNanoseconds(error->usage().engine_time()));
    } else {
      result.set_new_outcome(response.decision().outcome());
      *result.mutable_new_result() = response.result();
      engine_time =
          absl::Nanoseconds(TimeUtil::DurationToNanoseconds(response.usage().engine_time()));
    }
    const bool changed = result.old_error_reason() != result.new_error_reason() ||
                         result.old_outcome() != result.new_outcome() ||
                         !ValuesEqual(result.old_result(), result.new_result());
    result.set_result_changed(changed);

    absl::MutexLock lock(&mu_);
    --running_;
    ++records_;
    engine_time_ += engine_time;
    ++transitions_[{result.old_outcome(), result.new_outcome()}];
    if (changed) changed_ids_.push_back(result.record_id());
    if (!result.new_error_reason().empty()) ++errors_by_reason_[result.new_error_reason()];
    if (!cancellation_.IsCancelled()) {
      BacktestResponse out;
      *out.mutable_result() = std::move(result);
      outbox_.push_back(std::move(out));
    }
    ProgressLocked();
  }

  BacktestResponse SummaryLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    BacktestResponse out;
    evaluate::v1::BacktestSummary* summary = out.mutable_summary();
    summary->set_records(records_);
    summary->set_changed(static_cast<uint32_t>(changed_ids_.size()));
    for (const auto& [pair, count] : transitions_) {
      auto* transition = summary->add_transitions();
      transition->set_old_outcome(pair.first);
      transition->set_new_outcome(pair.second);
      transition->set_count(count);
    }
    for (const std::string& id : changed_ids_) summary->add_changed_record_ids(id);
    for (const auto& [reason, count] : errors_by_reason_) {
      (*summary->mutable_errors_by_reason())[reason] = count;
    }
    *summary->mutable_engine_time() =
        TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(engine_time_));
    return out;
  }

  const BacktestDependencies deps_;
  Cancellation cancellation_;
  absl::Mutex mu_;
  grpc::ByteBuffer incoming_bytes_ ABSL_GUARDED_BY(mu_);
  BacktestRequest incoming_ ABSL_GUARDED_BY(mu_);
  uint32_t messages_read_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::string code_;  // set once, before any replay starts
  int parallelism_ ABSL_GUARDED_BY(mu_) = 1;
  std::deque<RecordedEvaluation> pending_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<BacktestResponse> outbox_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer writing_bytes_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool summary_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> failure_ ABSL_GUARDED_BY(mu_);
  uint32_t records_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration engine_time_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<Decision::Outcome, Decision::Outcome>, uint32_t> transitions_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::string> changed_ids_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint32_t> errors_by_reason_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* NewBacktestReactor(
    const BacktestDependencies& dependencies) {
  return new BacktestReactor(dependencies);
}

}  // namespace evaluatecode::service
