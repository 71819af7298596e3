#ifndef EVALUATECODE_SERVICE_TYPESCRIPT_DECLARATIONS_H_
#define EVALUATECODE_SERVICE_TYPESCRIPT_DECLARATIONS_H_

#include <string>
#include <vector>

#include "connectors/connector_gateway.h"

namespace evaluatecode::service {

// A TypeScript declaration file for the script API — `input`, `console`, `connectors.*` typed
// from `connectors`, ConnectorError, and the decision result — so that editors complete and check
// scripts.
std::string TypeScriptDeclarations(const std::vector<connectors::ConnectorDescription>& connectors);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_TYPESCRIPT_DECLARATIONS_H_
