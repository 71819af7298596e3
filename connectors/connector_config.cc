#include "connectors/connector_config.h"

namespace evaluatecode::connectors {

absl::string_view ParameterTypeName(ParameterType type) {
  switch (type) {
    case ParameterType::kString: return "string";
    case ParameterType::kNumber: return "number";
    case ParameterType::kInteger: return "integer";
    case ParameterType::kBoolean: return "boolean";
    case ParameterType::kStringList: return "string_list";
  }
  return "string";
}

}  // namespace evaluatecode::connectors
