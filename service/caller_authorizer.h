#ifndef EVALUATECODE_SERVICE_CALLER_AUTHORIZER_H_
#define EVALUATECODE_SERVICE_CALLER_AUTHORIZER_H_

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "evaluate/v1/evaluate.pb.h"
#include "grpcpp/server_context.h"
#include "service/tenant_quotas.h"

namespace evaluatecode::service {

// Where a call's caller identity comes from (auth.identity).
enum class IdentitySource {
  // No caller authentication: every call is anonymous and may use every enabled connector.
  kNone,
  // The subject alternative names (URI, DNS, …) of the client certificate gRPC verified against
  // server.tls.client_ca_file (mTLS).
  kClientCertificate,
  // A metadata header set by a service mesh that terminated mTLS in front of this server. Only
  // sound when nothing but the mesh can reach the port (see the NetworkPolicy in deploy/).
  kHeader,
};

// One row of the authorization table: auth.callers.<identity>.
struct CallerPolicy {
  // Connectors the caller's evaluations may name in `connectors`; "*" allows all enabled ones.
  std::vector<std::string> connectors;
  // The caller's concurrency and rate allowance (0 = unlimited), on top of tenant quotas.
  QuotaLimits quota;
};

// The `auth:` config section.
struct AuthConfig {
  IdentitySource identity = IdentitySource::kNone;
  // header: the metadata key carrying the identity when identity is kHeader (lower case).
  std::string header = "x-evaluatecode-caller";
  // callers: identity → what it may do. Callers absent from the table are refused.
  absl::flat_hash_map<std::string, CallerPolicy> callers;
};

// Who is calling, once authenticated and found in the table.
struct Caller {
  // The identity that matched the table ("" when auth.identity is none).
  std::string identity;
  // The caller's row; null when callers are not authenticated (anything enabled is allowed).
  const CallerPolicy* policy = nullptr;

  // Whether the caller's evaluations may call `connector`.
  bool MayUse(absl::string_view connector) const;
};

// Authenticates calls and looks their callers up in the authorization table, before any work is
// done for them. Thread-safe (immutable).
class CallerAuthorizer {
 public:
  // `config` must outlive the authorizer.
  explicit CallerAuthorizer(const AuthConfig& config) : config_(config) {}

  // The caller of `context`'s call, or CALLER_UNAUTHENTICATED (nothing presented) /
  // CALLER_NOT_AUTHORIZED (presented identities all unknown).
  std::variant<Caller, evaluate::v1::EvaluationError> Authorize(
      const grpc::ServerContextBase& context) const;

  // The same decision for the identities a call presented (a certificate's SANs, or the header).
  std::variant<Caller, evaluate::v1::EvaluationError> Authorize(
      const std::vector<std::string>& presented) const;

  // Checks an evaluation's `connectors` against the caller's row: CALLER_NOT_AUTHORIZED naming the
  // first `connectors[i]` the caller may not use.
  std::optional<evaluate::v1::EvaluationError> CheckConnectors(
      const Caller& caller, const google::protobuf::RepeatedPtrField<std::string>& connectors) const;

 private:
  std::vector<std::string> PresentedIdentities(const grpc::ServerContextBase& context) const;

  const AuthConfig& config_;
};

// Per-caller quotas as a QuotaConfig keyed by identity (callers without a quota are unlimited).
QuotaConfig CallerQuotaConfig(const AuthConfig& config);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_CALLER_AUTHORIZER_H_
