#ifndef EVALUATECODE_SERVICE_GATEWAY_CONNECTOR_HOST_H_
#define EVALUATECODE_SERVICE_GATEWAY_CONNECTOR_HOST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "connectors/connector_gateway.h"
#include "evaluate/v1/evaluate.pb.h"
#include "sandbox/connector_host.h"
#include "service/observability/metrics.h"
#include "service/serialized_answers.h"

namespace evaluatecode::service {

// Serves one evaluation's connector calls through the connector gateway, with the evaluation's
// tenant, allowed connectors and deadline, counting them against max_connector_calls and recording
// each one (redacted params, outcome, response) in order, where the evaluator says: in the
// response itself, so that a record is built once, on the response's arena.
// Thread-compatible: one call at a time (an evaluation makes its calls one after the other).
class GatewayConnectorHost final : public sandbox::ConnectorHost {
 public:
  // `gateway`, `calls`, `metrics` and `answers` (both may be null) must outlive the host. The
  // answers of records on an arena are serialized once, into `answers`, when it is given.
  GatewayConnectorHost(connectors::ConnectorGateway& gateway, std::string tenant,
                       std::vector<std::string> allowed_connectors, absl::Time deadline,
                       uint32_t max_calls,
                       google::protobuf::RepeatedPtrField<evaluate::v1::ConnectorCall>* calls,
                       observability::Metrics* metrics = nullptr,
                       SerializedAnswers* answers = nullptr);

  // sandbox::ConnectorHost
  sandbox::ConnectorCallOutcome Call(const std::string& connector, const std::string& operation,
                                     const google::protobuf::Struct& params) override;
  // Waits for the vendor on no thread: `done` runs on the gateway's I/O thread (or on this one,
  // when the gateway answers at once).
  void CallAsync(const std::string& connector, const std::string& operation,
                 const google::protobuf::Struct& params, sandbox::ConnectorCallDone done) override;


 private:
  // Completes the record of call `index` with its result and turns the result into the outcome
  // the script sees.
  sandbox::ConnectorCallOutcome Record(int index, connectors::ConnectorResult result);

  connectors::ConnectorGateway& gateway_;
  const std::string tenant_;
  const std::vector<std::string> allowed_connectors_;
  const absl::Time deadline_;
  const uint32_t max_calls_;
  observability::Metrics* const metrics_;
  SerializedAnswers* const answers_;
  google::protobuf::RepeatedPtrField<evaluate::v1::ConnectorCall>* const calls_;
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_GATEWAY_CONNECTOR_HOST_H_
