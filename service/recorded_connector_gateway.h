#ifndef EVALUATECODE_SERVICE_RECORDED_CONNECTOR_GATEWAY_H_
#define EVALUATECODE_SERVICE_RECORDED_CONNECTOR_GATEWAY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "connectors/connector_gateway.h"
#include "evaluate/v1/evaluate.pb.h"

namespace evaluatecode::service {

// A ConnectorGateway that answers from recorded calls instead of vendors: authors' fixtures for
// `evalctl run --fixtures`, and recorded connector_calls for replays. It makes no network call.
//
// A call is answered by the first recording with the same connector and operation whose params
// equal the call's (a recording without params matches any). Unmatched calls fail
// REPLAY_MISSING_RECORDING with a message naming the call; connectors missing from the request's
// list fail CONNECTOR_NOT_ALLOWED, as they would live. Thread-safe (immutable).
class RecordedConnectorGateway final : public connectors::ConnectorGateway {
 public:
  explicit RecordedConnectorGateway(std::vector<evaluate::v1::ConnectorCall> recordings);

  // connectors::ConnectorGateway
  void Call(connectors::ConnectorRequest request,
            std::function<void(connectors::ConnectorResult)> done) override;
  std::vector<connectors::ConnectorDescription> ListConnectors() const override;

 private:
  const std::vector<evaluate::v1::ConnectorCall> recordings_;
};

// Reads fixtures: a JSON array of ConnectorCall objects as the API returns them
// ({"connector", "operation", "params", "httpStatus", "response", "errorReason"}), or an object
// with such an array under "connectorCalls" (an EvaluateCode response or a decision record).
absl::StatusOr<std::vector<evaluate::v1::ConnectorCall>> ParseRecordings(absl::string_view json);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_RECORDED_CONNECTOR_GATEWAY_H_
