#include "connectors/builtin_connector_types.h"

#include "connectors/sift/sift_connector_type.h"

namespace evaluatecode::connectors {

std::unique_ptr<ConnectorTypeRegistry> NewBuiltinConnectorTypes() {
  auto registry = std::make_unique<ConnectorTypeRegistry>();
  // Names are distinct by construction, so Register cannot fail here.
  (void)registry->Register(sift::NewSiftConnectorType());
  return registry;
}

}  // namespace evaluatecode::connectors
