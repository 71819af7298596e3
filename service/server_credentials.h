#ifndef EVALUATECODE_SERVICE_SERVER_CREDENTIALS_H_
#define EVALUATECODE_SERVICE_SERVER_CREDENTIALS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "service/config.h"

namespace evaluatecode::service {

// The credentials of the main gRPC port: plaintext without server.tls.cert_file; TLS with it; and
// mTLS (client certificates required and verified against the CA) with client_ca_file too. The
// files are watched, so a rotated certificate (a Kubernetes Secret update) is picked up without a
// restart. A file that is missing, unreadable or not PEM is kInvalidArgument naming its key.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> NewServerCredentials(
    const ServerConfig::Tls& tls);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_SERVER_CREDENTIALS_H_
