// Fuzz target: the connector configuration, connectors::ParseConnectorsConfigText (YAML text with a
// top-level `connectors:` key), then the gateway built from what it accepted.
//
// Properties: no crash and no escaping exception; a rejection is kInvalidArgument whose message
// starts with "config: " (naming the key); every accepted connector is enabled, named, has at
// least one operation and a base URL whose scheme (as curl reads it) is https, or http with
// allow_insecure_loopback; and NewConnectorGateway accepts every configuration the parser accepted
// (the server builds one from the other at startup).
#include <curl/curl.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "common/time_source.h"
#include "connectors/builtin_connector_types.h"
#include "connectors/config_parser.h"
#include "connectors/http_connector_gateway.h"
#include "tests/fuzz/fake_connector_world.h"
#include "tests/fuzz/fuzz_check.h"

namespace evaluatecode::connectors {
namespace {

std::string CurlScheme(const std::string& url) {
  CURLU* parsed = curl_url();
  std::string scheme;
  char* text = nullptr;
  if (curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_SCHEME, &text, 0) == CURLUE_OK && text != nullptr) {
    scheme = text;
  }
  curl_free(text);
  curl_url_cleanup(parsed);
  return scheme;
}

void Run(const std::string& text) {
  static const ConnectorTypeRegistry* types = NewBuiltinConnectorTypes().release();
  absl::StatusOr<std::vector<ConnectorConfig>> parsed = ParseConnectorsConfigText(text, *types);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               "ParseConnectorsConfigText returned %s", parsed.status().ToString().c_str());
    FUZZ_CHECK(absl::StartsWith(parsed.status().message(), "config: "),
               "error message does not name the key: %s", parsed.status().ToString().c_str());
    return;
  }
  std::set<std::string> names;
  for (const ConnectorConfig& config : *parsed) {
    FUZZ_CHECK(config.enabled, "a disabled connector '%s' was returned", config.name.c_str());
    FUZZ_CHECK(!config.name.empty(), "a connector without a name");
    FUZZ_CHECK(names.insert(config.name).second, "two connectors named '%s'",
               config.name.c_str());
    // The scheme as curl (which sends the requests) reads it. The text itself may be unnormalised
    // (curl accepts "https:/host"), see docs/reliability.md.
    const std::string scheme = CurlScheme(config.base_url);
    FUZZ_CHECK(scheme == "https" || (config.allow_insecure_loopback && scheme == "http"),
               "connector '%s' accepted with base_url '%s' (scheme '%s')", config.name.c_str(),
               config.base_url.c_str(), scheme.c_str());
    FUZZ_CHECK(!config.operations.empty(), "connector '%s' has no operations",
               config.name.c_str());
  }
  FakeConnectorWorld world;
  absl::StatusOr<std::unique_ptr<ConnectorGateway>> gateway =
      NewConnectorGateway(world.Options(*std::move(parsed), types));
  FUZZ_CHECK(gateway.ok(), "the gateway refused a parsed config: %s",
             gateway.status().ToString().c_str());
}

}  // namespace
}  // namespace evaluatecode::connectors

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evaluatecode::connectors::Run(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
