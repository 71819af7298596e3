#ifndef EVALUATECODE_CONNECTORS_BUILTIN_CONNECTOR_TYPES_H_
#define EVALUATECODE_CONNECTORS_BUILTIN_CONNECTOR_TYPES_H_

#include <memory>

#include "connectors/connector_type.h"

namespace evaluatecode::connectors {

// A registry holding every built-in connector type ("sift"). A new vendor with a built-in
// definition adds its folder and one line here.
std::unique_ptr<ConnectorTypeRegistry> NewBuiltinConnectorTypes();

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_BUILTIN_CONNECTOR_TYPES_H_
