#include "connectors/connector_gateway.h"

namespace evaluatecode::connectors {

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
