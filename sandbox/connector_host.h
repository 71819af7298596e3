#ifndef EVALUATECODE_SANDBOX_CONNECTOR_HOST_H_
#define EVALUATECODE_SANDBOX_CONNECTOR_HOST_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
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
  // Set instead of `body` by a host that keeps the body (in its call record): valid while the
  // CallAsync callback runs, and only there.
  const google::protobuf::Value* kept_body = nullptr;
  // That body serialized, when the host keeps it so too (valid as long): what a worker is sent,
  // rather than the body serialized again.
  const std::string* kept_body_bytes = nullptr;
  // Set instead of an answer when the host will answer later: the evaluation stops here (nothing
  // of it counts) and is run again from the top with this call answered. Its clock and random seed
  // are fixed, so the run repeats the same calls.
  bool suspend = false;
};

// Called once with a connector call's outcome.
using ConnectorCallDone = absl::AnyInvocable<void(ConnectorCallOutcome) &&>;

// Serves the connector calls of one evaluation, one at a time. Thread-compatible.
class ConnectorHost {
 public:
  virtual ~ConnectorHost() = default;
  // For a script running on the calling thread, which waits for the answer (or is told to
  // suspend).
  virtual ConnectorCallOutcome Call(const std::string& connector, const std::string& operation,
                                    const google::protobuf::Struct& params) = 0;
  // For an evaluation suspended while the vendor answers (WorkerSandbox): `done` gets the outcome,
  // on any thread, and must not block. By default the call is made with Call on this thread; a
  // host that can wait without a thread overrides it.
  virtual void CallAsync(const std::string& connector, const std::string& operation,
                         const google::protobuf::Struct& params, ConnectorCallDone done) {
    std::move(done)(Call(connector, operation, params));
  }
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
