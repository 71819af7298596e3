#include "service/caller_authorizer.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"
#include "service/error_status.h"

namespace evaluatecode::service {
namespace {

using evaluate::v1::EvaluationError;

// Identities are echoed in refusals so that operators can fix the table; a header is the
// client's text, so it is cut short.
constexpr size_t kMaxEchoedIdentityBytes = 256;

std::string Quoted(const std::vector<std::string>& identities) {
  std::vector<std::string> quoted;
  for (const std::string& identity : identities) {
    quoted.push_back(absl::StrCat("'", identity.substr(0, kMaxEchoedIdentityBytes), "'"));
  }
  return absl::StrJoin(quoted, ", ");
}

}  // namespace

bool Caller::MayUse(absl::string_view connector) const {
  if (policy == nullptr) return true;
  return std::any_of(policy->connectors.begin(), policy->connectors.end(),
                     [connector](const std::string& allowed) {
                       return allowed == "*" || allowed == connector;
                     });
}

std::vector<std::string> CallerAuthorizer::PresentedIdentities(
    const grpc::ServerContextBase& context) const {
  std::vector<std::string> presented;
  switch (config_.identity) {
    case IdentitySource::kNone:
      break;
    case IdentitySource::kClientCertificate: {
      // gRPC puts properties on the context only for a certificate it verified against the CA.
      const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
      if (auth == nullptr || !auth->IsPeerAuthenticated()) break;
      for (const grpc::string_ref& name : auth->FindPropertyValues(GRPC_X509_SAN_PROPERTY_NAME)) {
        presented.emplace_back(name.data(), name.size());
      }
      break;
    }
    case IdentitySource::kHeader: {
      const auto [begin, end] = context.client_metadata().equal_range(config_.header);
      for (auto it = begin; it != end; ++it) {
        if (!it->second.empty()) presented.emplace_back(it->second.data(), it->second.size());
      }
      break;
    }
  }
  return presented;
}

std::variant<Caller, EvaluationError> CallerAuthorizer::Authorize(
    const grpc::ServerContextBase& context) const {
  if (config_.identity == IdentitySource::kNone) return Caller{};
  return Authorize(PresentedIdentities(context));
}

std::variant<Caller, EvaluationError> CallerAuthorizer::Authorize(
    const std::vector<std::string>& presented) const {
  if (config_.identity == IdentitySource::kNone) return Caller{};
  if (presented.empty()) {
    return NewError(
        evaluate::v1::CALLER_UNAUTHENTICATED,
        config_.identity == IdentitySource::kHeader
            ? absl::StrCat("the call carries no '", config_.header,
                           "' identity header (auth.header); call through the mesh")
            : std::string("the call presented no verified client certificate with a subject "
                          "alternative name (auth.identity: client_certificate)"));
  }
  // Several SANs may be presented; the first one in the table names the caller.
  for (const std::string& identity : presented) {
    const auto found = config_.callers.find(identity);
    if (found != config_.callers.end()) return Caller{identity, &found->second};
  }
  return NewError(evaluate::v1::CALLER_NOT_AUTHORIZED,
                  absl::StrCat("caller ", Quoted(presented),
                               " is not in the authorization table (auth.callers)"));
}

std::optional<EvaluationError> CallerAuthorizer::CheckConnectors(
    const Caller& caller, const google::protobuf::RepeatedPtrField<std::string>& connectors) const {
  for (int i = 0; i < connectors.size(); ++i) {
    if (caller.MayUse(connectors.Get(i))) continue;
    EvaluationError error =
        NewError(evaluate::v1::CALLER_NOT_AUTHORIZED,
                 absl::StrCat("caller '", caller.identity, "' may not use connector '",
                              connectors.Get(i), "' (auth.callers.", caller.identity,
                              ".connectors)"));
    error.set_field(absl::StrCat("connectors[", i, "]"));
    return error;
  }
  return std::nullopt;
}

QuotaConfig CallerQuotaConfig(const AuthConfig& config) {
  QuotaConfig quotas;
  for (const auto& [identity, policy] : config.callers) quotas.tenants[identity] = policy.quota;
  return quotas;
}

}  // namespace evaluatecode::service
