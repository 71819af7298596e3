#include "connectors/config_parser.h"

#include <memory>
#include <string>

#include "connectors/builtin_connector_types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::connectors {
namespace {

using ::evaluatecode::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class ConfigParserTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::vector<ConnectorConfig>> Parse(const std::string& yaml) {
    return ParseConnectorsConfigText(yaml, *types_);
  }
  // A generic connector whose body is `extra` (indented by 4).
  absl::StatusOr<std::vector<ConnectorConfig>> ParseAcme(const std::string& extra) {
    return Parse(R"(connectors:
  acme:
    base_url: https://api.acme.example/v2
)" + extra);
  }

  std::unique_ptr<ConnectorTypeRegistry> types_ = NewBuiltinConnectorTypes();
};

constexpr char kOperation[] = R"(    operations:
      person:
        path: /people/{person_id}
        parameters:
          person_id: {type: string, required: true}
)";

TEST_F(ConfigParserTest, ParsesAGenericConnector) {
  ASSERT_OK_AND_ASSIGN(auto configs, Parse(R"(connectors:
  acme:
    description: ACME identity lookups
    base_url: https://api.acme.example/v2
    auth: {type: header, header: Authorization, prefix: "Bearer ", secret_file: /secrets/acme}
    timeout_ms: 1500
    connect_timeout_ms: 500
    max_response_bytes: 262144
    cache_ttl_ms: 30000
    retry: {max_attempts: 2, base_backoff_ms: 10, max_backoff_ms: 100}
    circuit_breaker: {failure_rate_percent: 40, window_calls: 30, minimum_calls: 5, open_ms: 2000, half_open_calls: 2}
    rate_limit: {requests_per_second: 50, burst: 100}
    operations:
      person:
        method: get
        path: /people/{person_id}
        description: A person's risk profile
        parameters:
          person_id: {type: string, required: true}
          fields: {type: string_list}
          limit: {type: integer}
          email: {type: string, sensitive: true}
      report:
        method: POST
        path: /reports
        parameters:
          amount: {type: number, required: true}
          flag: {type: boolean, in: query}
)"));
  ASSERT_THAT(configs, SizeIs(1));
  const ConnectorConfig& c = configs[0];
  EXPECT_EQ(c.name, "acme");
  EXPECT_EQ(c.description, "ACME identity lookups");
  EXPECT_EQ(c.auth.kind, AuthSpec::Kind::kHeader);
  EXPECT_EQ(c.auth.header, "Authorization");
  EXPECT_EQ(c.auth.prefix, "Bearer ");
  EXPECT_EQ(c.auth.secret_file, "/secrets/acme");
  EXPECT_EQ(c.timeout, absl::Milliseconds(1500));
  EXPECT_EQ(c.connect_timeout, absl::Milliseconds(500));
  EXPECT_EQ(c.max_response_bytes, 262144u);
  EXPECT_EQ(c.cache_ttl, absl::Seconds(30));
  EXPECT_EQ(c.retry.max_attempts, 2);
  EXPECT_EQ(c.retry.max_backoff, absl::Milliseconds(100));
  EXPECT_EQ(c.circuit_breaker.failure_rate_percent, 40);
  EXPECT_EQ(c.circuit_breaker.half_open_calls, 2);
  EXPECT_EQ(c.circuit_breaker.open_duration, absl::Seconds(2));
  EXPECT_EQ(c.rate_limit.requests_per_second, 50);
  EXPECT_EQ(c.rate_limit.burst, 100);
  ASSERT_THAT(c.operations, SizeIs(2));
  const OperationSpec& person = c.operations[0];
  EXPECT_EQ(person.method, "GET");
  ASSERT_THAT(person.parameters, SizeIs(4));
  EXPECT_EQ(person.parameters[0].location, ParameterLocation::kPath);
  EXPECT_EQ(person.parameters[1].location, ParameterLocation::kQuery);
  EXPECT_EQ(person.parameters[1].type, ParameterType::kStringList);
  EXPECT_EQ(person.parameters[2].type, ParameterType::kInteger);
  EXPECT_TRUE(person.parameters[3].sensitive);
  const OperationSpec& report = c.operations[1];
  EXPECT_EQ(report.parameters[0].location, ParameterLocation::kBody);  // POST default
  EXPECT_EQ(report.parameters[1].location, ParameterLocation::kQuery);
}

TEST_F(ConfigParserTest, SiftTypeNeedsOnlyASecretFile) {
  ASSERT_OK_AND_ASSIGN(auto configs, Parse(R"(connectors:
  sift:
    type: sift
    auth: {secret_file: /var/run/secrets/sift/api_key}
)"));
  ASSERT_THAT(configs, SizeIs(1));
  const ConnectorConfig& c = configs[0];
  EXPECT_EQ(c.base_url, "https://api.sift.com");
  EXPECT_EQ(c.auth.kind, AuthSpec::Kind::kBasic);
  EXPECT_EQ(c.auth.username, "");
  std::vector<std::string> names;
  for (const OperationSpec& op : c.operations) names.push_back(op.name + " " + op.method + " " + op.path);
  EXPECT_THAT(names, ElementsAre("score GET /v205/score/{user_id}",
                                 "user_score GET /v205/users/{user_id}/score",
                                 "rescore POST /v205/users/{user_id}/score"));
}

TEST_F(ConfigParserTest, SiftWithQueryAuthUsesApiKey) {
  ASSERT_OK_AND_ASSIGN(auto configs, Parse(R"(connectors:
  fraud:
    type: sift
    base_url: https://sift.internal.example
    auth: {type: query, secret_file: /k}
)"));
  EXPECT_EQ(configs[0].auth.kind, AuthSpec::Kind::kQuery);
  EXPECT_EQ(configs[0].auth.query_param, "api_key");
  EXPECT_EQ(configs[0].base_url, "https://sift.internal.example");
}

TEST_F(ConfigParserTest, EmptyOrAbsentSectionIsNoConnectors) {
  ASSERT_OK_AND_ASSIGN(auto none, Parse(""));
  EXPECT_THAT(none, SizeIs(0));
  ASSERT_OK_AND_ASSIGN(auto null_section, Parse("connectors:\n"));
  EXPECT_THAT(null_section, SizeIs(0));
}

TEST_F(ConfigParserTest, DisabledConnectorsAreOmitted) {
  ASSERT_OK_AND_ASSIGN(auto configs, ParseAcme(std::string("    enabled: false\n") + kOperation));
  EXPECT_THAT(configs, SizeIs(0));
}

TEST_F(ConfigParserTest, LoopbackHttpNeedsTheSwitch) {
  const std::string body = std::string(kOperation);
  EXPECT_THAT(Parse("connectors:\n  t:\n    base_url: http://127.0.0.1:8080\n" + body),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("connectors.t.base_url (line 3): http is allowed only")));
  EXPECT_OK(Parse("connectors:\n  t:\n    base_url: http://127.0.0.1:8080\n"
                  "    allow_insecure_loopback: true\n" + body).status());
  EXPECT_OK(Parse("connectors:\n  t:\n    base_url: http://[::1]:8080\n"
                  "    allow_insecure_loopback: true\n" + body).status());
  EXPECT_OK(Parse("connectors:\n  t:\n    base_url: http://localhost:8080\n"
                  "    allow_insecure_loopback: true\n" + body).status());
  // The switch never opens http to other hosts.
  EXPECT_THAT(Parse("connectors:\n  t:\n    base_url: http://api.acme.example\n"
                    "    allow_insecure_loopback: true\n" + body),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("use https")));
}

struct BadConfig {
  const char* name;
  std::string yaml;
  const char* message;
};

class BadConfigTest : public ConfigParserTest, public ::testing::WithParamInterface<BadConfig> {};

TEST_P(BadConfigTest, IsRejectedNamingKeyAndLine) {
  EXPECT_THAT(Parse(GetParam().yaml),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().message)));
}

std::string Acme(const std::string& extra, const std::string& operations = kOperation) {
  return "connectors:\n  acme:\n    base_url: https://api.acme.example\n" + extra + operations;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, BadConfigTest,
    ::testing::Values(
        BadConfig{"YamlSyntax", "connectors: [", "config: line"},
        BadConfig{"TopLevelKey", "conectors: {}\n", "config: conectors (line 1): unknown key"},
        BadConfig{"NotAMapping", "connectors: [a, b]\n", "connectors (line 1): expected a mapping"},
        BadConfig{"UnknownKey", Acme("    timeout: 5\n"),
                  "config: connectors.acme.timeout (line 4): unknown key; expected one of type"},
        BadConfig{"BadTimeout", Acme("    timeout_ms: fast\n"),
                  "connectors.acme.timeout_ms (line 4): expected an integer from 1 to 60000, got 'fast'"},
        BadConfig{"ZeroTimeout", Acme("    timeout_ms: 0\n"), "connectors.acme.timeout_ms (line 4)"},
        BadConfig{"BadBool", Acme("    allow_insecure_loopback: yes\n"),
                  "connectors.acme.allow_insecure_loopback (line 4): expected true or false"},
        BadConfig{"TooManyAttempts", Acme("    retry: {max_attempts: 5}\n"),
                  "connectors.acme.retry.max_attempts (line 4): expected an integer from 1 to 3"},
        BadConfig{"BackoffOrder", Acme("    retry: {base_backoff_ms: 100, max_backoff_ms: 10}\n"),
                  "connectors.acme.retry.max_backoff_ms"},
        BadConfig{"MinimumOverWindow",
                  Acme("    circuit_breaker: {window_calls: 5, minimum_calls: 10}\n"),
                  "circuit_breaker.minimum_calls"},
        BadConfig{"NegativeRate", Acme("    rate_limit: {requests_per_second: -1}\n"),
                  "rate_limit.requests_per_second (line 4): expected a number"},
        BadConfig{"BadName", "connectors:\n  Acme-1:\n    base_url: https://a.example\n",
                  "connectors.Acme-1 (line 3): a connector name must be lower-case"},
        BadConfig{"DuplicateName",
                  Acme("") + "  acme:\n    base_url: https://b.example\n",
                  "connectors.acme (line 9): duplicate key"},
        BadConfig{"MissingBaseUrl", "connectors:\n  acme:\n" + std::string(kOperation),
                  "connectors.acme.base_url (line 3): is required"},
        BadConfig{"FileScheme",
                  "connectors:\n  acme:\n    base_url: file:///etc/passwd\n" + std::string(kOperation),
                  "connectors.acme.base_url (line 3): scheme 'file' is not allowed"},
        BadConfig{"GopherScheme",
                  "connectors:\n  acme:\n    base_url: gopher://a.example\n" + std::string(kOperation),
                  "scheme 'gopher' is not allowed"},
        BadConfig{"CredentialsInUrl",
                  "connectors:\n  acme:\n    base_url: https://user:pw@a.example\n" +
                      std::string(kOperation),
                  "must not hold credentials"},
        BadConfig{"QueryInUrl",
                  "connectors:\n  acme:\n    base_url: https://a.example/?x=1\n" + std::string(kOperation),
                  "must not have a query"},
        BadConfig{"PrivateLiteral",
                  "connectors:\n  acme:\n    base_url: https://10.1.2.3\n" + std::string(kOperation),
                  "connectors.acme.base_url (line 3): egress to a private address is not allowed"},
        BadConfig{"MetadataLiteral",
                  "connectors:\n  acme:\n    base_url: https://169.254.169.254\n" +
                      std::string(kOperation),
                  "link-local"},
        BadConfig{"NoOperations", "connectors:\n  acme:\n    base_url: https://a.example\n",
                  "connectors.acme.operations (line 3): at least one operation is required"},
        BadConfig{"UndeclaredPlaceholder",
                  Acme("", "    operations:\n      get:\n        path: /people/{id}\n"),
                  "connectors.acme.operations.get.path (line 6): {id} is not a declared parameter"},
        BadConfig{"OptionalPathParameter",
                  Acme("", "    operations:\n      get:\n        path: /people/{id}\n"
                           "        parameters:\n          id: {type: string}\n"),
                  "operations.get.parameters.id.required (line 8): a path parameter must be required"},
        BadConfig{"PathParameterWithoutPlaceholder",
                  Acme("", "    operations:\n      get:\n        path: /people\n"
                           "        parameters:\n          id: {type: string, in: path, required: true}\n"),
                  "operations.get.parameters.id.in (line 8): is path but the path has no {id}"},
        BadConfig{"BodyOnGet",
                  Acme("", "    operations:\n      get:\n        path: /people\n"
                           "        parameters:\n          id: {type: string, in: body}\n"),
                  "body parameters need POST, PUT or PATCH, not GET"},
        BadConfig{"UnknownParameterType",
                  Acme("", "    operations:\n      get:\n        path: /people\n"
                           "        parameters:\n          id: {type: uuid}\n"),
                  "operations.get.parameters.id.type (line 8): unknown type 'uuid'"},
        BadConfig{"QueryInPath",
                  Acme("", "    operations:\n      get:\n        path: /people?x=1\n"),
                  "operations.get.path (line 6): path: character '?'"},
        BadConfig{"RelativePath", Acme("", "    operations:\n      get:\n        path: people\n"),
                  "path must start with '/'"},
        BadConfig{"BadMethod",
                  Acme("", "    operations:\n      get:\n        method: TRACE\n        path: /x\n"),
                  "operations.get.method (line 6): expected GET, HEAD"},
        BadConfig{"SecretWithoutAuthType", Acme("    auth: {secret_file: /k}\n"),
                  "connectors.acme.auth.type (line 4): is required with secret_file"},
        BadConfig{"AuthWithoutSecret", Acme("    auth: {type: header, header: X-Api-Key}\n"),
                  "connectors.acme.auth.secret_file (line 4): is required"},
        BadConfig{"BadHeaderName",
                  Acme("    auth: {type: header, header: \"X Key\", secret_file: /k}\n"),
                  "connectors.acme.auth.header (line 4)"},
        BadConfig{"UnknownAuthType", Acme("    auth: {type: oauth, secret_file: /k}\n"),
                  "connectors.acme.auth.type (line 4): unknown auth type 'oauth'"},
        BadConfig{"UnknownConnectorType",
                  "connectors:\n  acme:\n    type: stripe\n    base_url: https://a.example\n",
                  "connectors.acme.type (line 3): unknown connector type 'stripe'; known: sift"},
        BadConfig{"SiftWithOperations",
                  "connectors:\n  sift:\n    type: sift\n    auth: {secret_file: /k}\n" +
                      std::string(kOperation),
                  "connectors.sift.operations: not allowed with type sift"},
        BadConfig{"SiftWithHeaderAuth",
                  "connectors:\n  sift:\n    type: sift\n"
                  "    auth: {type: header, header: X-Key, secret_file: /k}\n",
                  "connectors.sift.auth.type: Sift takes the API key as basic or query"}),
    [](const ::testing::TestParamInfo<BadConfig>& info) { return info.param.name; });

}  // namespace
}  // namespace evaluatecode::connectors
