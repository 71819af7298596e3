#include "connectors/connector_gateway.h"

#include <memory>
#include <utility>

namespace evaluatecode::connectors {

const ConnectorBody& NullConnectorBody() {
  static const ConnectorBody* const kNull = [] {
    auto null = std::make_shared<google::protobuf::Value>();
    null->set_null_value(google::protobuf::NULL_VALUE);
    return new ConnectorBody(std::move(null));
  }();
  return *kNull;
}

absl::string_view ConnectorErrorReasonName(ConnectorErrorReason reason) {
  switch (reason) {
    case ConnectorErrorReason::kNone: return "";
    case ConnectorErrorReason::kConnectorNotAllowed: return "CONNECTOR_NOT_ALLOWED";
    case ConnectorErrorReason::kInvalidParams: return "INVALID_PARAMS";
    case ConnectorErrorReason::kEgressDenied: return "EGRESS_DENIED";
    case ConnectorErrorReason::kConnectorTimeout: return "CONNECTOR_TIMEOUT";
    case ConnectorErrorReason::kConnectorUnavailable: return "CONNECTOR_UNAVAILABLE";
    case ConnectorErrorReason::kVendorError: return "VENDOR_ERROR";
    case ConnectorErrorReason::kResponseTooLarge: return "RESPONSE_TOO_LARGE";
    case ConnectorErrorReason::kReplayMissingRecording: return "REPLAY_MISSING_RECORDING";
  }
  return "CONNECTOR_UNAVAILABLE";
}

}  // namespace evaluatecode::connectors
