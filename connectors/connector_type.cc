#include "connectors/connector_type.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace evaluatecode::connectors {

absl::Status ConnectorTypeRegistry::Register(std::unique_ptr<ConnectorType> type) {
  std::string name(type->name());
  if (types_.count(name) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("connector type '", name, "' registered twice"));
  }
  types_.emplace(std::move(name), std::move(type));
  return absl::OkStatus();
}

const ConnectorType* ConnectorTypeRegistry::Find(absl::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : it->second.get();
}

std::string ConnectorTypeRegistry::Names() const {
  return absl::StrJoin(types_, ", ", [](std::string* out, const auto& entry) {
    out->append(entry.first);
  });
}

}  // namespace evaluatecode::connectors
