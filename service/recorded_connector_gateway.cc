#include "service/recorded_connector_gateway.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/value_equality.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace evaluatecode::service {
namespace {

connectors::ConnectorErrorReason ReasonFromName(const std::string& name) {
  using connectors::ConnectorErrorReason;
  for (ConnectorErrorReason reason :
       {ConnectorErrorReason::kConnectorNotAllowed, ConnectorErrorReason::kInvalidParams,
        ConnectorErrorReason::kEgressDenied, ConnectorErrorReason::kConnectorTimeout,
        ConnectorErrorReason::kConnectorUnavailable, ConnectorErrorReason::kVendorError,
        ConnectorErrorReason::kResponseTooLarge}) {
    if (connectors::ConnectorErrorReasonName(reason) == name) return reason;
  }
  return name.empty() ? ConnectorErrorReason::kNone : ConnectorErrorReason::kConnectorUnavailable;
}

}  // namespace

RecordedConnectorGateway::RecordedConnectorGateway(
    std::vector<evaluate::v1::ConnectorCall> recordings)
    : recordings_(std::move(recordings)) {}

void RecordedConnectorGateway::Call(connectors::ConnectorRequest request,
                                    std::function<void(connectors::ConnectorResult)> done) {
  connectors::ConnectorResult result;
  result.connector = request.connector;
  result.operation = request.operation;
  result.redacted_params = request.params;
  result.from_cache = true;
  if (std::find(request.allowed_connectors.begin(), request.allowed_connectors.end(),
                request.connector) == request.allowed_connectors.end()) {
    result.reason = connectors::ConnectorErrorReason::kConnectorNotAllowed;
    result.message = absl::StrCat("connector '", request.connector,
                                  "' is not in the request's connectors list");
    done(std::move(result));
    return;
  }
  for (const evaluate::v1::ConnectorCall& recording : recordings_) {
    if (recording.connector() != request.connector ||
        recording.operation() != request.operation ||
        (recording.has_params() &&
         !StructsEqual(recording.params(), request.params))) {
      continue;
    }
    result.reason = ReasonFromName(recording.error_reason());
    if (!result.ok()) result.message = absl::StrCat("recorded ", recording.error_reason());
    result.http_status = recording.http_status();
    result.body = std::make_shared<const google::protobuf::Value>(recording.response());
    done(std::move(result));
    return;
  }
  std::string params;
  google::protobuf::util::MessageToJsonString(request.params, &params);
  result.reason = connectors::ConnectorErrorReason::kReplayMissingRecording;
  result.message = absl::StrCat("no recorded response for ", request.connector, ".",
                                request.operation, "(", params, ")");
  done(std::move(result));
}

std::vector<connectors::ConnectorDescription> RecordedConnectorGateway::ListConnectors() const {
  std::map<std::string, std::vector<std::string>> operations;
  for (const evaluate::v1::ConnectorCall& recording : recordings_) {
    std::vector<std::string>& ops = operations[recording.connector()];
    if (std::find(ops.begin(), ops.end(), recording.operation()) == ops.end()) {
      ops.push_back(recording.operation());
    }
  }
  std::vector<connectors::ConnectorDescription> connectors;
  for (const auto& [name, ops] : operations) {
    connectors::ConnectorDescription& description = connectors.emplace_back();
    description.name = name;
    description.description = "recorded responses";
    for (const std::string& op : ops) description.operations.push_back({op, "", "", {}});
  }
  return connectors;
}

absl::StatusOr<std::vector<evaluate::v1::ConnectorCall>> ParseRecordings(absl::string_view json) {
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return absl::InvalidArgumentError("fixtures: not valid JSON");
  if (parsed.is_object() && parsed.contains("connectorCalls")) parsed = parsed["connectorCalls"];
  if (parsed.is_object() && parsed.contains("connector_calls")) parsed = parsed["connector_calls"];
  if (!parsed.is_array()) {
    return absl::InvalidArgumentError(
        "fixtures: expected an array of connector calls, or an object with connectorCalls");
  }
  std::vector<evaluate::v1::ConnectorCall> recordings;
  for (size_t i = 0; i < parsed.size(); ++i) {
    evaluate::v1::ConnectorCall call;
    const auto status = google::protobuf::util::JsonStringToMessage(parsed[i].dump(), &call);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fixtures[", i, "]: ", std::string(status.message())));
    }
    if (call.http_status() == 0 && call.error_reason().empty()) call.set_http_status(200);
    recordings.push_back(std::move(call));
  }
  return recordings;
}

}  // namespace evaluatecode::service
