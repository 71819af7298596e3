#ifndef EVALUATECODE_TOOLS_EVALCTL_TYPESCRIPT_DECLARATIONS_H_
#define EVALUATECODE_TOOLS_EVALCTL_TYPESCRIPT_DECLARATIONS_H_

#include <string>
#include <vector>

#include "connectors/connector_gateway.h"

namespace evaluatecode::evalctl {

// A TypeScript declaration file for the script API — `input`, `console`, `connectors.*` typed
// from `connectors`, ConnectorError, and the decision result — so that editors complete and check
// scripts.
std::string TypeScriptDeclarations(const std::vector<connectors::ConnectorDescription>& connectors);

}  // namespace evaluatecode::evalctl

#endif  // EVALUATECODE_TOOLS_EVALCTL_TYPESCRIPT_DECLARATIONS_H_
