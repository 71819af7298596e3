#include "service/server_credentials.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace evaluatecode::service {
namespace {

// How often gRPC re-reads the PEM files; a rotated Secret is served within this.
constexpr unsigned int kRefreshIntervalSeconds = 60;

// The watcher only logs a bad file and keeps serving the old one, so bad files are refused here,
// at start, where an operator sees it.
absl::Status CheckPemFile(const char* key, const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: server.tls.", key, ": cannot read '", path, "'"));
  }
  std::stringstream text;
  text << file.rdbuf();
  if (!absl::StrContains(text.str(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: server.tls.", key, ": '", path, "' is not a PEM file"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> NewServerCredentials(
    const ServerConfig::Tls& tls) {
  if (tls.cert_file.empty()) return grpc::InsecureServerCredentials();
  const std::pair<const char*, const std::string&> files[] = {
      {"cert_file", tls.cert_file}, {"key_file", tls.key_file}, {"client_ca_file", tls.client_ca_file}};
  for (const auto& [key, path] : files) {
    if (path.empty()) continue;
    absl::Status readable = CheckPemFile(key, path);
    if (!readable.ok()) return readable;
  }
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file, tls.cert_file, tls.client_ca_file, kRefreshIntervalSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (tls.client_ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace evaluatecode::service
