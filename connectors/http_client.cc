#include "connectors/http_client.h"

namespace evaluatecode::connectors {

absl::string_view TransportErrorName(TransportError e) {
  switch (e) {
    case TransportError::kNone: return "none";
    case TransportError::kEgressDenied: return "egress denied";
    case TransportError::kTimeout: return "timeout";
    case TransportError::kConnectFailed: return "connect failed";
    case TransportError::kConnectionReset: return "connection reset";
    case TransportError::kTooLarge: return "response too large";
    case TransportError::kTls: return "TLS failure";
    case TransportError::kCancelled: return "cancelled";
    case TransportError::kOther: return "transport error";
  }
  return "transport error";
}

}  // namespace evaluatecode::connectors
