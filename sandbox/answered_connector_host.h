#ifndef EVALUATECODE_SANDBOX_ANSWERED_CONNECTOR_HOST_H_
#define EVALUATECODE_SANDBOX_ANSWERED_CONNECTOR_HOST_H_

#include <optional>
#include <string>

#include "sandbox/connector_host.h"
#include "sandbox/worker_protocol.pb.h"

namespace evaluatecode::sandbox {

// The connector host of an evaluation in a worker. Workers never wait for a vendor: this host
// answers the evaluation's calls from its earlier runs (EvaluateRequest.answered), in order, and
// suspends it at the first call they do not answer, which pending() then holds for the supervisor.
// A call that differs from the recorded one at its position (the script took another path) is a
// new call: the recording is not used from there on. Thread-compatible.
class AnsweredConnectorHost final : public ConnectorHost {
 public:
  // `request` must outlive the host.
  explicit AnsweredConnectorHost(const ipc::EvaluateRequest& request) : request_(request) {}

  // ConnectorHost
  ConnectorCallOutcome Call(const std::string& connector, const std::string& operation,
                            const google::protobuf::Struct& params) override;

  // The call the evaluation is suspended at (with its index among the evaluation's calls), if any.
  const std::optional<ipc::ConnectorCall>& pending() const { return pending_; }

 private:
  const ipc::EvaluateRequest& request_;
  int next_index_ = 0;
  std::optional<ipc::ConnectorCall> pending_;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_ANSWERED_CONNECTOR_HOST_H_
