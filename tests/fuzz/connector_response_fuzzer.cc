// Fuzz target: what a vendor sends back, through the real connector gateway
// (connectors/http_connector_gateway.cc: NewConnectorGateway -> Call -> PrepareRequest ->
// HttpClient -> Classify -> ParseBody -> the type's VendorError -> scrubbing -> cache), with a
// queueing fake HttpClient in place of curl. Connectors come from real YAML through
// ParseConnectorsConfigText: Sift (type sift, HTTP Basic), a generic GET/POST API with a header key
// and a response cache, and one with the key in the query.
//
// Input: [operation][transport][status][retry-after][param length][param bytes...][body...]. In the
// body, "@@" becomes the raw secret and "##" its HTTP Basic base64 (a vendor that echoes them).
//
// Properties:
// - `done` runs exactly once; attempts never exceed the retry policy; a POST is retried only when
//   its connection was never made.
// - The secret, raw or as Basic base64, appears nowhere in the result (message, body keys and
//   strings, params).
// - The reason matches what happened: a transport error maps to its documented reason, an HTTP
//   answer is CONNECTOR OK only for 2xx, http_status is the vendor's.
// - A successful body survives a protobuf binary round trip; an identical GET right after a success is served from
//   the cache with the same body.
// - Every URL sent holds the script's parameter only URL-escaped.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "connectors/builtin_connector_types.h"
#include "connectors/config_parser.h"
#include "connectors/connector_gateway.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/fuzz/fake_connector_world.h"
#include "tests/fuzz/fuzz_check.h"

namespace evaluatecode::connectors {
namespace {

constexpr char kConfig[] = R"(
connectors:
  sift:
    type: sift
    base_url: http://127.0.0.1:9
    allow_insecure_loopback: true
    auth: {secret_file: /fuzz/sift}
    retry: {max_attempts: 3, base_backoff_ms: 1, max_backoff_ms: 2}
  acme:
    base_url: http://127.0.0.1:9/v2
    allow_insecure_loopback: true
    auth: {type: header, header: X-Api-Key, prefix: "Bearer ", secret_file: /fuzz/acme}
    cache_ttl_ms: 30000
    retry: {max_attempts: 3, base_backoff_ms: 1, max_backoff_ms: 2}
    circuit_breaker: {failure_rate_percent: 50, window_calls: 20, minimum_calls: 10, open_ms: 30000, half_open_calls: 1}
    operations:
      person:
        method: GET
        path: /people/{person_id}
        parameters:
          person_id: {type: string, required: true}
      update:
        method: POST
        path: /people/{person_id}
        parameters:
          person_id: {type: string, required: true}
          note: {type: string, in: body}
  plain:
    base_url: http://127.0.0.1:9
    allow_insecure_loopback: true
    auth: {type: query, param: key, secret_file: /fuzz/plain}
    retry: {max_attempts: 2, base_backoff_ms: 1, max_backoff_ms: 2}
    operations:
      lookup:
        method: GET
        path: /lookup
        parameters:
          q: {type: string}
)";

struct Operation {
  const char* connector;
  const char* operation;
  const char* param;  // the parameter that gets the fuzzed string
  bool idempotent;
  int max_attempts;
};

constexpr Operation kOperations[] = {
    {"sift", "score", "user_id", true, 3},   {"sift", "rescore", "user_id", false, 3},
    {"acme", "person", "person_id", true, 3}, {"acme", "update", "person_id", false, 3},
    {"plain", "lookup", "q", true, 2},
};

constexpr int kStatuses[] = {200, 201, 204, 299, 301, 302, 400, 401, 404, 429, 500, 502, 503, 504};

struct Environment {
  Environment() {
    types = NewBuiltinConnectorTypes();
    absl::StatusOr<std::vector<ConnectorConfig>> parsed = ParseConnectorsConfigText(kConfig, *types);
    FUZZ_CHECK(parsed.ok(), "config: %s", parsed.status().ToString().c_str());
    connectors = *std::move(parsed);
    secret_forms = {kFuzzSecret, absl::Base64Escape(absl::StrCat(kFuzzSecret, ":")),
                    absl::WebSafeBase64Escape(absl::StrCat(kFuzzSecret, ":"))};
  }
  std::unique_ptr<ConnectorTypeRegistry> types;
  std::vector<ConnectorConfig> connectors;
  std::vector<std::string> secret_forms;
};

const Environment& Env() {
  static const Environment* env = new Environment();
  return *env;
}

void CheckNoSecret(const std::string& text, const char* where) {
  for (const std::string& form : Env().secret_forms) {
    FUZZ_CHECK(!absl::StrContains(text, form), "the secret leaked into the %s: %.500s", where,
               text.c_str());
  }
}

void CheckNoSecret(const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kStringValue:
      CheckNoSecret(value.string_value(), "body");
      break;
    case google::protobuf::Value::kStructValue:
      for (const auto& [key, item] : value.struct_value().fields()) {
        CheckNoSecret(key, "body keys");
        CheckNoSecret(item);
      }
      break;
    case google::protobuf::Value::kListValue:
      for (const auto& item : value.list_value().values()) CheckNoSecret(item);
      break;
    default:
      break;
  }
}

ConnectorErrorReason ReasonFor(TransportError error) {
  switch (error) {
    case TransportError::kNone: return ConnectorErrorReason::kNone;
    case TransportError::kEgressDenied: return ConnectorErrorReason::kEgressDenied;
    case TransportError::kTimeout: return ConnectorErrorReason::kConnectorTimeout;
    case TransportError::kTooLarge: return ConnectorErrorReason::kResponseTooLarge;
    default: return ConnectorErrorReason::kConnectorUnavailable;
  }
}

bool UrlSafe(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("-._~%/?=&,:").find(c) != std::string_view::npos;
}

void Run(const uint8_t* data, size_t size) {
  if (size < 5) return;
  const Operation& op = kOperations[data[0] % (sizeof(kOperations) / sizeof(kOperations[0]))];
  const TransportError transport =
      data[1] < 160 ? TransportError::kNone : static_cast<TransportError>(1 + data[1] % 8);
  const int status = data[2] < 128 ? kStatuses[data[2] % (sizeof(kStatuses) / sizeof(int))]
                                   : 100 + (data[2] - 128) * 4;
  const absl::Duration retry_after = absl::Seconds(data[3] % 4);
  size_t param_length = std::min<size_t>(data[4] % 40, size - 5);
  const std::string param(reinterpret_cast<const char*>(data + 5), param_length);
  std::string body(reinterpret_cast<const char*>(data + 5 + param_length),
                   size - 5 - param_length);
  body = absl::StrReplaceAll(body, {{"@@", kFuzzSecret},
                                    {"##", absl::Base64Escape(absl::StrCat(kFuzzSecret, ":"))}});

  FakeConnectorWorld world;
  absl::StatusOr<std::unique_ptr<ConnectorGateway>> gateway =
      NewConnectorGateway(world.Options(Env().connectors, Env().types.get()));
  FUZZ_CHECK(gateway.ok(), "gateway: %s", gateway.status().ToString().c_str());

  ConnectorRequest request;
  request.tenant = "t1";
  request.connector = op.connector;
  request.operation = op.operation;
  (*request.params.mutable_fields())[op.param].set_string_value(param);
  request.deadline = absl::Now() + absl::Seconds(30);
  request.allowed_connectors = {op.connector};

  int calls = 0;
  ConnectorResult result;
  (*gateway)->Call(request, [&](ConnectorResult r) {
    ++calls;
    result = std::move(r);
  });
  const int answered = world.Drain([&](const HttpRequest&) {
    HttpResponse response;
    response.error = transport;
    if (transport == TransportError::kNone) {
      response.status = status;
      response.body = body;
      response.retry_after = retry_after;
    } else {
      response.error_detail = "fuzz";
    }
    return response;
  });
  FUZZ_CHECK(calls == 1, "done ran %d times", calls);
  FUZZ_CHECK(result.attempts == answered, "attempts %d, requests answered %d", result.attempts,
             answered);
  const bool may_resend = op.idempotent || transport == TransportError::kConnectFailed;
  FUZZ_CHECK(answered <= (may_resend ? op.max_attempts : 1), "%d attempts of %s.%s", answered,
             op.connector, op.operation);

  CheckNoSecret(result.message, "message");
  CheckNoSecret(*result.body);
  for (const auto& [key, item] : result.redacted_params.fields()) {
    CheckNoSecret(key, "params");
    CheckNoSecret(item);
  }

  for (const HttpRequest& sent : world.client.sent) {
    const size_t path_start = sent.url.find('/', sizeof("http://") - 1);
    FUZZ_CHECK(path_start != std::string::npos, "url without a path: %s", sent.url.c_str());
    for (size_t i = path_start; i < sent.url.size(); ++i) {
      FUZZ_CHECK(UrlSafe(sent.url[i]), "unescaped byte 0x%02x in url %.300s",
                 static_cast<unsigned char>(sent.url[i]), sent.url.c_str());
    }
  }

  if (answered == 0) {
    // Refused before sending: only bad parameters can do that here.
    FUZZ_CHECK(result.reason == ConnectorErrorReason::kInvalidParams,
               "nothing was sent, yet the reason is %d: %s", static_cast<int>(result.reason),
               result.message.c_str());
    return;
  }
  if (transport != TransportError::kNone) {
    FUZZ_CHECK(result.reason == ReasonFor(transport), "transport error %d gave reason %d",
               static_cast<int>(transport), static_cast<int>(result.reason));
    return;
  }
  FUZZ_CHECK(result.http_status == status, "http_status %d for a %d answer", result.http_status,
             status);
  if (status < 200 || status >= 300) {
    FUZZ_CHECK(result.reason == ConnectorErrorReason::kVendorError,
               "HTTP %d gave reason %d", status, static_cast<int>(result.reason));
    return;
  }
  FUZZ_CHECK(result.reason == ConnectorErrorReason::kNone ||
                 result.reason == ConnectorErrorReason::kVendorError,
             "HTTP %d gave reason %d", status, static_cast<int>(result.reason));
  if (!result.ok()) return;
  // The body crosses process boundaries as protobuf (worker IPC, the gRPC reply): it must survive
  // a binary round trip with the default parser limits.
  std::string wire;
  FUZZ_CHECK(result.body->SerializeToString(&wire), "a successful body that does not serialize");
  google::protobuf::Value reparsed;
  FUZZ_CHECK(reparsed.ParseFromString(wire) &&
                 google::protobuf::util::MessageDifferencer::Equals(reparsed, *result.body),
             "a successful body (%zu wire bytes) that protobuf cannot parse back", wire.size());

  if (op.idempotent && std::string(op.connector) == "acme") {
    int again_calls = 0;
    ConnectorResult again;
    (*gateway)->Call(request, [&](ConnectorResult r) {
      ++again_calls;
      again = std::move(r);
    });
    const int again_answered = world.Drain([](const HttpRequest&) {
      HttpResponse response;
      response.error = TransportError::kConnectionReset;
      return response;
    });
    FUZZ_CHECK(again_calls == 1 && again_answered == 0 && again.from_cache && again.ok(),
               "an identical GET after a success was not served from the cache");
    FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*again.body, *result.body),
               "the cache changed the body");
  }
}

}  // namespace
}  // namespace evaluatecode::connectors

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evaluatecode::connectors::Run(data, size);
  return 0;
}
