#ifndef EVALUATECODE_CONNECTORS_CONNECTOR_TYPE_H_
#define EVALUATECODE_CONNECTORS_CONNECTOR_TYPE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "connectors/connector_config.h"
#include "google/protobuf/struct.pb.h"

namespace evaluatecode::connectors {

// A built-in vendor definition (`type: sift` in config): the operations, auth placement and error
// conventions of one vendor API, so that config needs only a base URL and a secret file. Each type
// lives in its own folder and namespace (connectors/sift/). Implementations are immutable and
// thread-safe.
class ConnectorType {
 public:
  virtual ~ConnectorType() = default;

  // The name used in config, e.g. "sift".
  virtual absl::string_view name() const = 0;

  // Completes `config` (which holds what the YAML said) with what the type defines. `path` is the
  // config path of the connector for messages, e.g. "connectors.fraud". kInvalidArgument naming the
  // key when the YAML sets something the type fixes (e.g. operations).
  virtual absl::Status Configure(const std::string& path, ConnectorConfig* config) const = 0;

  // Looks at a vendor answer received with `http_status` and parsed as `body`. Returns the
  // vendor's own error message when the body reports a failure (e.g. Sift's non-zero `status`),
  // nullopt otherwise.
  virtual std::optional<std::string> VendorError(int http_status,
                                                 const google::protobuf::Value& body) const = 0;
};

// The connector types available to config, by name. Filled at startup, then read-only:
// thread-compatible (concurrent const use is safe).
class ConnectorTypeRegistry {
 public:
  // kAlreadyExists if a type with the same name is registered.
  absl::Status Register(std::unique_ptr<ConnectorType> type);
  // Null if unknown.
  const ConnectorType* Find(absl::string_view name) const;
  // Names, sorted, for messages.
  std::string Names() const;

 private:
  std::map<std::string, std::unique_ptr<ConnectorType>, std::less<>> types_;
};

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_CONNECTOR_TYPE_H_
