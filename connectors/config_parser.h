#ifndef EVALUATECODE_CONNECTORS_CONFIG_PARSER_H_
#define EVALUATECODE_CONNECTORS_CONFIG_PARSER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "connectors/connector_config.h"
#include "connectors/connector_type.h"
#include "yaml-cpp/yaml.h"

namespace evaluatecode::connectors {

// Reads the `connectors:` section of the service config: a mapping from connector name to its
// definition. An absent or null node is no connectors. Example:
//
//   connectors:
//     sift:                              # the name scripts use: connectors.sift.score({...})
//       type: sift                       # built-in definition: operations come from the type
//       base_url: https://api.sift.com   # optional for sift
//       auth: {secret_file: /var/run/secrets/sift/api_key}
//       timeout_ms: 800
//       cache_ttl_ms: 30000
//     acme:
//       description: ACME identity lookups
//       base_url: https://api.acme.example/v2
//       auth: {type: header, header: Authorization, prefix: "Bearer ",
//              secret_file: /var/run/secrets/acme/token}
//       timeout_ms: 1500                 # per attempt, clamped by the evaluation's deadline
//       connect_timeout_ms: 500
//       max_response_bytes: 262144
//       retry: {max_attempts: 3, base_backoff_ms: 25, max_backoff_ms: 250}
//       circuit_breaker: {failure_rate_percent: 50, window_calls: 20, minimum_calls: 10,
//                         open_ms: 30000, half_open_calls: 1}
//       rate_limit: {requests_per_second: 50, burst: 100}
//       operations:
//         person:
//           method: GET
//           path: /people/{person_id}
//           description: A person's risk profile
//           parameters:
//             person_id: {type: string, required: true}
//             fields: {type: string_list}         # in: query by default for GET
//             email: {type: string, sensitive: true}
//
// Keys of a connector: type, description, enabled, base_url, allow_insecure_loopback, timeout_ms,
// connect_timeout_ms, max_response_bytes, cache_ttl_ms, cache_max_entries, auth (type: none,
// header, query or basic; header, prefix, param, username, secret_file), retry, circuit_breaker,
// rate_limit, operations (method, path, description, parameters: type string, number, integer,
// boolean or string_list; required; in: path, query or body; description; sensitive).
//
// `path` is the node's config path for messages. An unknown key, a wrong type, an unknown
// connector type or a broken rule (https only; http only to a loopback host with
// allow_insecure_loopback; every path placeholder a declared, required path parameter; …) is
// kInvalidArgument naming the key and its line: "config: connectors.acme.timeout_ms (line 7): …".
// Disabled connectors are omitted from the result.
absl::StatusOr<std::vector<ConnectorConfig>> ParseConnectorsConfig(
    const YAML::Node& node, const ConnectorTypeRegistry& types,
    const std::string& path = "connectors");

// Parses YAML text whose top level holds a `connectors:` key, as ParseConnectorsConfig does. For
// tools and tests; the service embeds the section in its own file.
absl::StatusOr<std::vector<ConnectorConfig>> ParseConnectorsConfigText(
    absl::string_view yaml_text, const ConnectorTypeRegistry& types);

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_CONFIG_PARSER_H_
