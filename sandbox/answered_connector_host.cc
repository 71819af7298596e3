#include "sandbox/answered_connector_host.h"

#include "common/value_equality.h"
#include "sandbox/worker_messages.h"

namespace evaluatecode::sandbox {

ConnectorCallOutcome AnsweredConnectorHost::Call(const std::string& connector,
                                                 const std::string& operation,
                                                 const google::protobuf::Struct& params) {
  const int index = next_index_++;
  if (!pending_.has_value() && index < request_.answered_size()) {
    const ipc::ConnectorExchange& answered = request_.answered(index);
    if (answered.call().connector() == connector && answered.call().operation() == operation &&
        StructsEqual(answered.call().params(), params)) {
      return FromMessage(answered.reply());
    }
  }
  // Only the first unanswered call counts: the evaluation is being stopped there.
  if (!pending_.has_value()) {
    pending_.emplace();
    pending_->set_connector(connector);
    pending_->set_operation(operation);
    *pending_->mutable_params() = params;
    pending_->set_index(static_cast<uint32_t>(index));
  }
  ConnectorCallOutcome suspend;
  suspend.suspend = true;
  return suspend;
}

}  // namespace evaluatecode::sandbox
