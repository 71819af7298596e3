#ifndef EVALUATECODE_CONNECTORS_CONNECTOR_CONFIG_H_
#define EVALUATECODE_CONNECTORS_CONNECTOR_CONFIG_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/circuit_breaker.h"
#include "connectors/retry_policy.h"

namespace evaluatecode::connectors {

// The value types a parameter may have (the names are also ConnectorParameter.type in the API).
enum class ParameterType { kString, kNumber, kInteger, kBoolean, kStringList };
absl::string_view ParameterTypeName(ParameterType type);

// Where a parameter goes in the request.
enum class ParameterLocation {
  kPath,   // substituted for `{name}` in the path template (must be required)
  kQuery,  // `name=value` in the query string
  kBody,   // a field of the JSON body (POST, PUT, PATCH only)
};

struct ParameterSpec {
  std::string name;
  ParameterType type = ParameterType::kString;
  bool required = false;
  ParameterLocation location = ParameterLocation::kQuery;
  std::string description;
  // Replaced by "[REDACTED]" in the params recorded for the call (e.g. an email address).
  bool sensitive = false;
};

struct OperationSpec {
  std::string name;
  std::string method = "GET";
  // Starts with '/'; `{param}` placeholders are replaced by URL-escaped path parameters.
  std::string path;
  std::string description;
  std::vector<ParameterSpec> parameters;  // in declaration order
};

// How the secret is attached. The secret itself is read through SecretStore at call time.
struct AuthSpec {
  enum class Kind {
    kNone,
    kHeader,  // `header: <prefix><secret>`
    kQuery,   // `?<query_param>=<secret>`
    kBasic,   // Authorization: Basic, the secret as user name (empty password) or as password
  };
  Kind kind = Kind::kNone;
  std::string header;        // kHeader: the header name, e.g. "X-Api-Key"
  std::string prefix;        // kHeader: text before the secret, e.g. "Bearer "
  std::string query_param;   // kQuery: the parameter name, e.g. "api_key"
  // kBasic: when empty the secret is the user name with an empty password (Sift); otherwise this is
  // the user name and the secret the password.
  std::string username;
  std::string secret_file;   // required unless kNone
};

// A token bucket per connector. requests_per_second == 0 means unlimited.
struct RateLimitPolicy {
  double requests_per_second = 0;
  // Tokens the bucket holds (the largest burst). 0 = max(1, requests_per_second).
  double burst = 0;
};

// One vendor, as declared under `connectors:` in the service config (docs in the .cc and in
// ParseConnectorsConfig's comment).
struct ConnectorConfig {
  std::string name;
  // Empty for a generic HTTP connector; otherwise a registered ConnectorType such as "sift".
  std::string type;
  std::string description;
  bool enabled = true;
  // https://host[:port][/prefix]. http only to a loopback host and only with
  // allow_insecure_loopback.
  std::string base_url;
  // Dev/test switch: permits http:// to a loopback base URL and loopback addresses after DNS. Never
  // in production.
  bool allow_insecure_loopback = false;
  absl::Duration timeout = absl::Seconds(2);          // per attempt; clamped by the deadline
  absl::Duration connect_timeout = absl::Seconds(1);  // clamped by timeout
  size_t max_response_bytes = 1 << 20;
  absl::Duration cache_ttl = absl::ZeroDuration();  // 0 = no cache
  size_t cache_max_entries = 10000;
  RetryPolicy retry;
  CircuitBreakerPolicy circuit_breaker;
  RateLimitPolicy rate_limit;
  AuthSpec auth;
  std::vector<OperationSpec> operations;
};

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_CONNECTOR_CONFIG_H_
