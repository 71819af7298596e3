#include "service/gateway_connector_host.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/await_callback.h"
#include "google/protobuf/util/time_util.h"

namespace evaluatecode::service {

GatewayConnectorHost::GatewayConnectorHost(
    connectors::ConnectorGateway& gateway, std::string tenant,
    std::vector<std::string> allowed_connectors, absl::Time deadline, uint32_t max_calls,
    google::protobuf::RepeatedPtrField<evaluate::v1::ConnectorCall>* calls,
    observability::Metrics* metrics, SerializedAnswers* answers)
    : gateway_(gateway),
      tenant_(std::move(tenant)),
      allowed_connectors_(std::move(allowed_connectors)),
      deadline_(deadline),
      max_calls_(max_calls),
      metrics_(metrics),
      answers_(answers),
      calls_(calls) {}

sandbox::ConnectorCallOutcome GatewayConnectorHost::Call(const std::string& connector,
                                                         const std::string& operation,
                                                         const google::protobuf::Struct& params) {
  sandbox::ConnectorCallOutcome outcome =
      AwaitCallback<sandbox::ConnectorCallOutcome>([&](sandbox::ConnectorCallDone done) {
        CallAsync(connector, operation, params, std::move(done));
      });
  // A kept body is valid only inside the callback: the script on this thread gets its own copy.
  if (outcome.kept_body != nullptr) {
    outcome.body = *outcome.kept_body;
    outcome.kept_body = nullptr;
    outcome.kept_body_bytes = nullptr;
  }
  return outcome;
}

void GatewayConnectorHost::CallAsync(const std::string& connector, const std::string& operation,
                                     const google::protobuf::Struct& params,
                                     sandbox::ConnectorCallDone done) {
  const int index = calls_->size();
  evaluate::v1::ConnectorCall& record = *calls_->Add();
  record.set_connector(connector);
  record.set_operation(operation);
  if (static_cast<uint32_t>(calls_->size()) > max_calls_) {
    record.set_error_reason("CONNECTOR_CALL_LIMIT");
    return std::move(done)(sandbox::ConnectorCallOutcome{
        "CONNECTOR_CALL_LIMIT",
        absl::StrCat("this evaluation may make at most ", max_calls_,
                     " connector calls (limits.max_connector_calls)")});
  }

  connectors::ConnectorRequest request;
  request.tenant = tenant_;
  request.connector = connector;
  request.operation = operation;
  request.params = params;
  request.deadline = deadline_;
  request.allowed_connectors = allowed_connectors_;
  // The gateway takes a copyable callback; the arguments may be gone once `done` has run.
  auto shared_done = std::make_shared<sandbox::ConnectorCallDone>(std::move(done));
  gateway_.Call(std::move(request), [this, index, shared_done](connectors::ConnectorResult result) {
    std::move(*shared_done)(Record(index, std::move(result)));
  });
}

sandbox::ConnectorCallOutcome GatewayConnectorHost::Record(int index,
                                                           connectors::ConnectorResult result) {
  const std::string reason(connectors::ConnectorErrorReasonName(result.reason));
  evaluate::v1::ConnectorCall& record = *calls_->Mutable(index);
  if (metrics_ != nullptr) {
    metrics_->RecordConnectorCall(record.connector(), record.operation(),
                                  reason.empty() ? "OK" : reason, result.duration, result.attempts,
                                  result.from_cache);
  }
  *record.mutable_params() = std::move(result.redacted_params);
  record.set_http_status(result.http_status);
  *record.mutable_duration() = google::protobuf::util::TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(result.duration));
  record.set_attempts(static_cast<uint32_t>(result.attempts));
  record.set_from_cache(result.from_cache);
  record.set_error_reason(reason);
  // The record shares the answer rather than copying it: a record on an arena (the gRPC call's)
  // holds the body by pointer, and the arena keeps it alive as long as the record; a record on the
  // heap would delete the pointer, so it takes a copy. The script's run reads the answer from the
  // record.
  sandbox::ConnectorCallOutcome outcome{reason, std::move(result.message), result.http_status};
  if (google::protobuf::Arena* arena = record.GetArena(); arena != nullptr) {
    record.unsafe_arena_set_allocated_response(
        const_cast<google::protobuf::Value*>(result.body.get()));
    arena->Own(new connectors::ConnectorBody(std::move(result.body)));
    if (answers_ != nullptr) {
      // Serialized once, for the worker and the reply both.
      std::string* bytes = google::protobuf::Arena::Create<std::string>(arena);
      record.response().SerializeToString(bytes);
      answers_->Add(record, *bytes);
      outcome.kept_body_bytes = bytes;
    }
  } else {
    *record.mutable_response() = *result.body;
  }
  outcome.kept_body = &record.response();
  return outcome;
}

}  // namespace evaluatecode::service
