#ifndef EVALUATECODE_SERVICE_SCRIPT_API_H_
#define EVALUATECODE_SERVICE_SCRIPT_API_H_

#include <string>
#include <vector>

#include "connectors/connector_gateway.h"
#include "sandbox/connector_host.h"

namespace evaluatecode::service {

// What scripts are given besides their input, as a sandbox needs to know it.
struct ScriptApi {
  // The connectors behind `connectors.<name>.<operation>`.
  std::vector<sandbox::ConnectorCatalogEntry> catalog;
  // The TypeScript declarations of the whole API, which CompileCode's type check assumes.
  std::string declarations;
};

// The script API of a server whose connectors are `gateway`'s.
ScriptApi ScriptApiOf(const connectors::ConnectorGateway& gateway);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_SCRIPT_API_H_
