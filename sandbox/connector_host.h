#ifndef EVALUATECODE_SANDBOX_CONNECTOR_HOST_H_
#define EVALUATECODE_SANDBOX_CONNECTOR_HOST_H_

#include <string>
#include <vector>

#include "google/protobuf/struct.pb.h"

namespace evaluatecode::sandbox {

// The narrow door through which a script reaches vendor data: connector name, operation and
// params in, a response or an error out. The sandbox knows nothing else of connectors (no URLs,
// no secrets, no sockets); the service wires this to the connector layer.

// What a script's `connectors.<name>.<operation>(params)` call returned.
struct ConnectorCallOutcome {
  // Empty on success; otherwise a reason name such as "CONNECTOR_TIMEOUT".
  std::string error_reason;
  std::string message;
  int http_status = 0;
  // The parsed JSON body.
  google::protobuf::Value body;
  // Set instead of an answer when the host will answer later: the evaluation stops here (nothing
  // of it counts) and is run again from the top with this call answered. Its clock and random seed
  // are fixed, so the run repeats the same calls.
  bool suspend = false;
};

// Serves the connector calls of one evaluation. Called on the thread running the script, which
// waits for the answer (or is told to suspend). Thread-compatible.
class ConnectorHost {
 public:
  virtual ~ConnectorHost() = default;
  virtual ConnectorCallOutcome Call(const std::string& connector, const std::string& operation,
                                    const google::protobuf::Struct& params) = 0;
};

// The connectors a server offers, as scripts see them: `connectors.<name>.<operation>`.
struct ConnectorCatalogEntry {
  std::string name;
  std::vector<std::string> operations;
  // The built-in type ("sift" gets typed helpers), or "".
  std::string type;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_CONNECTOR_HOST_H_
