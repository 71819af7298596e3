#include "service/script_api.h"

#include "service/typescript_declarations.h"

namespace evaluatecode::service {

ScriptApi ScriptApiOf(const connectors::ConnectorGateway& gateway) {
  ScriptApi api;
  const std::vector<connectors::ConnectorDescription> offered = gateway.ListConnectors();
  for (const connectors::ConnectorDescription& connector : offered) {
    sandbox::ConnectorCatalogEntry& entry = api.catalog.emplace_back();
    entry.name = connector.name;
    entry.type = connector.type;
    for (const connectors::OperationDescription& operation : connector.operations) {
      entry.operations.push_back(operation.name);
    }
  }
  api.declarations = TypeScriptDeclarations(offered);
  return api;
}

}  // namespace evaluatecode::service
