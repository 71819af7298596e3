// The connector layer end to end against real HTTP servers on loopback: the curl multi transport,
// the egress policy on real sockets, and the gateway's behaviour under injected vendor faults.
// Network traffic goes only to 127.0.0.1 and ::1; forbidden addresses are refused before connect.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "common/time_source.h"
#include "connectors/builtin_connector_types.h"
#include "connectors/config_parser.h"
#include "connectors/curl_http_client.h"
#include "connectors/http_connector_gateway.h"
#include "connectors/path_template.h"
#include "connectors/random_source.h"
#include "connectors/secret_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/connectors/fake_vendor.h"
#include "tests/testing/simulated_time_source.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::connectors {
namespace {

using ::evaluatecode::testing::FakeVendor;
using ::evaluatecode::testing::SiftHandler;
using ::evaluatecode::testing::SimulatedTimeSource;
using ::evaluatecode::testing::VendorRequest;
using ::evaluatecode::testing::VendorResponse;
using ::testing::HasSubstr;
using Reason = ConnectorErrorReason;

constexpr char kKey[] = "sk_live_CANARY+7f3/Qx9=zz&w";

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

// Every encoding of the key a leak could take.
std::vector<std::string> KeyForms() {
  const std::string key = kKey;
  return {key,
          EscapeUrlComponent(key),
          absl::StrReplaceAll(EscapeUrlComponent(key), {{"%2B", "%2b"}, {"%2F", "%2f"}, {"%3D", "%3d"}}),
          absl::Base64Escape(key),
          absl::WebSafeBase64Escape(key),
          absl::Base64Escape(key + ":"),
          "CANARY"};
}

std::string Quote(const std::string& text) { return nlohmann::json(text).dump(); }

std::string ToJson(const google::protobuf::Value& value) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(value, &json);
  return json;
}

// Everything a result exposes, as text.
std::string Exposed(const ConnectorResult& result) {
  std::string params;
  (void)google::protobuf::util::MessageToJsonString(result.redacted_params, &params);
  return absl::StrCat(result.connector, "|", result.operation, "|", result.message, "|",
                      ToJson(*result.body), "|", params);
}

// The transport and a gateway over it, built from YAML.
class Harness {
 public:
  Harness(const std::string& yaml, const TimeSource& gateway_time,
          std::vector<std::string> resolve = {}) {
    CurlHttpClientOptions options;
    options.time_source = &real_time_;
    options.resolve = std::move(resolve);
    auto client = NewCurlHttpClient(options);
    EXPECT_TRUE(client.ok()) << client.status();
    http_ = *std::move(client);
    auto configs = ParseConnectorsConfigText(yaml, *types_);
    EXPECT_TRUE(configs.ok()) << configs.status();
    GatewayOptions gateway_options;
    gateway_options.connectors = *configs;
    gateway_options.types = types_.get();
    gateway_options.http_client = http_.get();
    gateway_options.secrets = secrets_.get();
    gateway_options.time_source = &gateway_time;
    gateway_options.random = random_.get();
    auto gateway = NewConnectorGateway(std::move(gateway_options));
    EXPECT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
  }
  ~Harness() {
    http_.reset();  // answers everything in flight before the gateway goes
    gateway_.reset();
  }

  ConnectorGateway& gateway() { return *gateway_; }

  // One exchange through the transport alone, waited for.
  HttpResponse Send(const HttpRequest& request) {
    absl::Notification done;
    HttpResponse response;
    http_->Send(request, [&](HttpResponse r) {
      response = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    return response;
  }

 private:
  RealTimeSource real_time_;
  std::unique_ptr<ConnectorTypeRegistry> types_ = NewBuiltinConnectorTypes();
  std::unique_ptr<SecretStore> secrets_ = NewFileSecretStore();
  std::unique_ptr<RandomSource> random_ = NewRandomSource();
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<ConnectorGateway> gateway_;
};

class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_file_ = TempPath("sift_api_key");
    std::ofstream(key_file_, std::ios::trunc) << kKey << "\n";
  }

  // A sift connector on `base_url` (loopback, marked local) plus `extra` YAML lines.
  std::string SiftYaml(const std::string& base_url, const std::string& extra = "",
                       const std::string& auth_type = "basic") {
    return absl::StrCat("connectors:\n  sift:\n    type: sift\n    base_url: ", base_url,
                        "\n    allow_insecure_loopback: true\n    auth: {type: ", auth_type,
                        ", secret_file: ", key_file_, "}\n", extra);
  }

  ConnectorRequest Request(const std::string& operation, const std::string& params_json,
                           absl::Duration budget = absl::Seconds(10),
                           const std::string& connector = "sift") {
    ConnectorRequest request;
    request.tenant = "tenant-1";
    request.connector = connector;
    request.operation = operation;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(params_json, &request.params).ok());
    request.deadline = real_time_.Now() + budget;
    request.allowed_connectors = {connector};
    return request;
  }

  RealTimeSource real_time_;
  std::string key_file_;
};

TEST_F(IntegrationTest, SiftScoreLookupEndToEnd) {
  FakeVendor sift(SiftHandler(kKey));
  Harness harness(SiftYaml(sift.base_url()), real_time_);
  ConnectorResult result = harness.gateway().CallAndWait(
      Request("score", R"({"user_id": "billy@example.com", "abuse_types": ["payment_abuse"]})"));
  ASSERT_TRUE(result.ok()) << ConnectorErrorReasonName(result.reason) << ": " << result.message;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.attempts, 1);
  const auto& body = result.body->struct_value().fields();
  EXPECT_EQ(body.at("status").number_value(), 0);
  EXPECT_EQ(body.at("scores").struct_value().fields().at("payment_abuse").struct_value().fields()
                .at("score").number_value(),
            0.93);
  EXPECT_EQ(body.at("latest_decisions").struct_value().fields().at("payment_abuse").struct_value()
                .fields().at("id").string_value(),
            "block_user_payment_abuse");
  ASSERT_EQ(sift.request_count(), 1);
  const VendorRequest sent = sift.requests()[0];
  EXPECT_EQ(sent.method, "GET");
  EXPECT_EQ(sent.target, "/v205/score/billy%40example.com?abuse_types=payment_abuse");
  EXPECT_EQ(sent.Header("Authorization"), "Basic " + absl::Base64Escape(std::string(kKey) + ":"));

  ConnectorResult latest = harness.gateway().CallAndWait(Request("user_score", R"({"user_id": "u2"})"));
  ASSERT_TRUE(latest.ok()) << latest.message;
  EXPECT_EQ(sift.requests()[1].target, "/v205/users/u2/score");
}

TEST_F(IntegrationTest, SiftWithQueryAuthAndAWrongKeyIsAVendorError) {
  FakeVendor sift(SiftHandler(kKey));
  Harness harness(SiftYaml(sift.base_url(), "", "query"), real_time_);
  ASSERT_TRUE(harness.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})")).ok());
  EXPECT_EQ(sift.requests()[0].target,
            absl::StrCat("/v205/score/u1?api_key=", EscapeUrlComponent(kKey)));

  FakeVendor other(SiftHandler("some-other-key-entirely"));
  Harness wrong(SiftYaml(other.base_url()), real_time_);
  ConnectorResult result = wrong.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})"));
  EXPECT_EQ(result.reason, Reason::kVendorError);
  EXPECT_THAT(result.message, HasSubstr("Sift status 51: Invalid API key"));
}

TEST_F(IntegrationTest, CanaryKeyNeverLeavesInAnyEncodingEvenWhenEchoed) {
  // The vendor echoes the raw request head (headers, query) back, as text and as base64, in the
  // body and in its error message.
  auto echo = [](const VendorRequest& request) {
    VendorResponse response;
    response.status = request.path.find("fail") != std::string::npos ? 401 : 200;
    response.body = absl::StrCat(
        R"({"status":)", response.status == 200 ? 0 : 52, R"(,"error_message":)",
        Quote(request.raw_head), R"(,"head_b64":")", absl::Base64Escape(request.raw_head),
        R"(","head_web":")", absl::WebSafeBase64Escape(request.raw_head), R"(","query":)",
        Quote(request.query), R"(,"auth":)", Quote(request.Header("Authorization")),
        "}");
    return response;
  };
  FakeVendor vendor(echo);
  for (const char* auth : {"basic", "query"}) {
    Harness harness(SiftYaml(vendor.base_url(), "", auth), real_time_);
    for (const char* user : {"u1", "fail"}) {
      ConnectorResult result = harness.gateway().CallAndWait(
          Request("score", absl::StrCat(R"({"user_id": ")", user, R"("})")));
      const std::string exposed = Exposed(result);
      for (const std::string& form : KeyForms()) {
        EXPECT_FALSE(absl::StrContains(exposed, form))
            << "auth " << auth << ", user " << user << ": found '" << form << "' in " << exposed;
      }
      EXPECT_THAT(exposed, HasSubstr("[REDACTED]"));
    }
  }
  // The key did reach the vendor (the test would be vacuous otherwise).
  EXPECT_THAT(vendor.received_bytes(), HasSubstr(absl::Base64Escape(std::string(kKey) + ":")));
  EXPECT_THAT(vendor.received_bytes(), HasSubstr(EscapeUrlComponent(kKey)));
}

TEST_F(IntegrationTest, EgressToForbiddenAddressesIsRefusedBeforeConnecting) {
  FakeVendor v4([](const VendorRequest&) { return VendorResponse{}; });
  FakeVendor v6([](const VendorRequest&) { return VendorResponse{}; }, /*ipv6=*/true);
  const int port4 = v4.port();
  const int port6 = v6.port();
  // Production-style connectors (https, not marked local) whose names resolve to forbidden
  // addresses. Loopback names point at the live fake vendors, so a connect would be counted.
  struct Target {
    const char* host;
    int port;
    std::string address;
  } targets[] = {
      {"loopback.test", port4, "127.0.0.1"},
      {"private.test", port4, "10.0.0.1"},
      {"metadata.test", port4, "169.254.169.254"},
      {"loopback6.test", port6, "[::1]"},
      {"mapped.test", port4, "[::ffff:127.0.0.1]"},
      {"cgnat.test", port4, "100.100.100.200"},
  };
  std::string yaml = "connectors:\n";
  std::vector<std::string> resolve;
  for (const Target& t : targets) {
    std::string name(t.host);
    name = name.substr(0, name.find('.'));
    absl::StrAppend(&yaml, "  ", name, ":\n    base_url: https://", t.host, ":", t.port,
                    "\n    operations:\n      get: {path: /x}\n");
    resolve.push_back(absl::StrCat(t.host, ":", t.port, ":", t.address));
  }
  Harness harness(yaml, real_time_, resolve);
  for (const Target& t : targets) {
    std::string name(t.host);
    name = name.substr(0, name.find('.'));
    ConnectorResult result = harness.gateway().CallAndWait(Request("get", "{}", absl::Seconds(5), name));
    EXPECT_EQ(result.reason, Reason::kEgressDenied) << t.host << " -> " << t.address << ": " << result.message;
    EXPECT_THAT(result.message, HasSubstr("is not allowed"));
    EXPECT_EQ(result.attempts, 1);
  }
  EXPECT_EQ(v4.connection_count(), 0);
  EXPECT_EQ(v6.connection_count(), 0);
}

TEST_F(IntegrationTest, TheLoopbackSwitchAllowsLoopbackButNotPrivateAddresses) {
  FakeVendor vendor([](const VendorRequest&) {
    VendorResponse response;
    response.body = "{}";
    return response;
  });
  // Transport level, where a test may name any host: a local request to a name resolving to a
  // private address first and loopback second connects to loopback only (every address is vetted).
  Harness harness("", real_time_,
                  {absl::StrCat("private.test:", vendor.port(), ":10.0.0.1"),
                   absl::StrCat("mixed.test:", vendor.port(), ":10.0.0.1,127.0.0.1")});
  auto send = [&harness](const std::string& url) {
    HttpRequest request;
    request.url = url;
    request.allow_plain_http = true;
    request.egress.allow_loopback = true;
    request.timeout = absl::Seconds(5);
    return harness.Send(request);
  };
  HttpResponse denied = send(absl::StrCat("http://private.test:", vendor.port(), "/x"));
  EXPECT_EQ(denied.error, TransportError::kEgressDenied);
  EXPECT_THAT(denied.error_detail, HasSubstr("private"));
  EXPECT_EQ(vendor.connection_count(), 0);
  HttpResponse mixed = send(absl::StrCat("http://mixed.test:", vendor.port(), "/x"));
  EXPECT_EQ(mixed.error, TransportError::kNone) << mixed.error_detail;
  EXPECT_EQ(mixed.status, 200);
  EXPECT_EQ(vendor.request_count(), 1);
}

TEST_F(IntegrationTest, OnlyHttpsUnlessPlainHttpIsAllowedAndNeverFile) {
  FakeVendor vendor([](const VendorRequest&) { return VendorResponse{}; });
  Harness harness("", real_time_);
  auto send = [&harness](const std::string& url, bool allow_http) {
    HttpRequest request;
    request.url = url;
    request.allow_plain_http = allow_http;
    request.egress.allow_loopback = true;
    return harness.Send(request);
  };
  EXPECT_EQ(send("file:///etc/passwd", true).error, TransportError::kEgressDenied);
  EXPECT_EQ(send("gopher://127.0.0.1:70/", true).error, TransportError::kEgressDenied);
  EXPECT_EQ(send("dict://127.0.0.1:2628/", true).error, TransportError::kEgressDenied);
  EXPECT_EQ(send(vendor.base_url() + "/x", /*allow_http=*/false).error, TransportError::kEgressDenied);
  EXPECT_EQ(vendor.connection_count(), 0);
  EXPECT_EQ(send(vendor.base_url() + "/x", /*allow_http=*/true).error, TransportError::kNone);
}

TEST_F(IntegrationTest, RedirectsAreNotFollowed) {
  FakeVendor elsewhere([](const VendorRequest&) { return VendorResponse{}; });
  const std::string location = elsewhere.base_url() + "/steal";
  FakeVendor sift([location](const VendorRequest&) {
    VendorResponse response;
    response.status = 302;
    response.headers = {{"Location", location}};
    response.body = R"({"moved":true})";
    return response;
  });
  Harness harness(SiftYaml(sift.base_url()), real_time_);
  ConnectorResult result = harness.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})"));
  EXPECT_EQ(result.reason, Reason::kVendorError);
  EXPECT_EQ(result.http_status, 302);
  EXPECT_THAT(result.message, HasSubstr("redirects are not followed"));
  EXPECT_EQ(elsewhere.connection_count(), 0);
  EXPECT_EQ(elsewhere.request_count(), 0);
}

TEST_F(IntegrationTest, ProxyEnvironmentIsIgnored) {
  FakeVendor proxy([](const VendorRequest&) {
    VendorResponse response;
    response.body = R"({"status":0,"via":"proxy"})";
    return response;
  });
  FakeVendor sift(SiftHandler(kKey));
  // .bazelrc sets no_proxy for loopback; drop it so only our own setting could prevent proxying.
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  for (const char* name : {"http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}) {
    setenv(name, proxy.base_url().c_str(), 1);
  }
  {
    Harness harness(SiftYaml(sift.base_url()), real_time_);
    ConnectorResult result = harness.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})"));
    EXPECT_TRUE(result.ok()) << result.message;
  }
  for (const char* name : {"http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}) {
    unsetenv(name);
  }
  EXPECT_EQ(proxy.connection_count(), 0);
  EXPECT_EQ(sift.request_count(), 1);
}

TEST_F(IntegrationTest, OversizeBodyWithoutContentLengthIsCutAtTheCap) {
  FakeVendor sift([](const VendorRequest&) {
    VendorResponse response;
    response.content_length = false;  // delimited by close: curl cannot know the size up front
    response.body = "[" + std::string(10 * 4096, '1') + "]";
    response.chunk_bytes = 1024;
    return response;
  });
  Harness harness(SiftYaml(sift.base_url(), "    max_response_bytes: 4096\n"), real_time_);
  ConnectorResult result = harness.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})"));
  EXPECT_EQ(result.reason, Reason::kResponseTooLarge);
  EXPECT_THAT(result.message, HasSubstr("over 4096 bytes"));
  EXPECT_EQ(result.attempts, 1);

  // With a Content-Length the transfer is refused as soon as the header arrives.
  sift.SetHandler([](const VendorRequest&) {
    VendorResponse response;
    response.body = std::string(1 << 20, ' ');
    return response;
  });
  EXPECT_EQ(harness.gateway().CallAndWait(Request("score", R"({"user_id": "u2"})")).reason,
            Reason::kResponseTooLarge);
}

TEST_F(IntegrationTest, GarbageJsonIsAVendorError) {
  FakeVendor sift([](const VendorRequest&) {
    VendorResponse response;
    response.body = R"({"status":0,"scores":{"payment_abuse":{"score":0.9)";  // truncated
    return response;
  });
  Harness harness(SiftYaml(sift.base_url()), real_time_);
  ConnectorResult result = harness.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})"));
  EXPECT_EQ(result.reason, Reason::kVendorError);
  EXPECT_THAT(result.message, HasSubstr("not JSON"));
}

// The one tight timing bound: a call ends within 50 ms of its budget.
TEST_F(IntegrationTest, TimeoutsAreHonouredWithinFiftyMilliseconds) {
  FakeVendor sift([](const VendorRequest&) {
    VendorResponse response;
    response.delay = absl::Seconds(3);
    response.body = R"({"status":0})";
    return response;
  });
  Harness harness(SiftYaml(sift.base_url(), "    timeout_ms: 300\n"), real_time_);
  // The connector's timeout binds.
  absl::Time start = real_time_.Now();
  ConnectorResult by_connector =
      harness.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})", absl::Seconds(10)));
  absl::Duration elapsed = real_time_.Now() - start;
  EXPECT_EQ(by_connector.reason, Reason::kConnectorTimeout);
  EXPECT_EQ(by_connector.attempts, 1) << "timeouts are not retried";
  EXPECT_GE(elapsed, absl::Milliseconds(295));
  EXPECT_LT(elapsed, absl::Milliseconds(350));

  // The evaluation's remaining budget binds.
  start = real_time_.Now();
  ConnectorResult by_deadline =
      harness.gateway().CallAndWait(Request("score", R"({"user_id": "u2"})", absl::Milliseconds(150)));
  elapsed = real_time_.Now() - start;
  EXPECT_EQ(by_deadline.reason, Reason::kConnectorTimeout);
  EXPECT_GE(elapsed, absl::Milliseconds(145));
  EXPECT_LT(elapsed, absl::Milliseconds(200));
}

TEST_F(IntegrationTest, ASlowBodyTimesOutToo) {
  FakeVendor sift([](const VendorRequest&) {
    VendorResponse response;
    response.body = std::string(2000, ' ') + "{}";
    response.chunk_bytes = 100;
    response.chunk_delay = absl::Milliseconds(50);  // 1 s for the whole body
    return response;
  });
  Harness harness(SiftYaml(sift.base_url(), "    timeout_ms: 250\n"), real_time_);
  const absl::Time start = real_time_.Now();
  ConnectorResult result = harness.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})"));
  EXPECT_EQ(result.reason, Reason::kConnectorTimeout);
  EXPECT_LT(real_time_.Now() - start, absl::Milliseconds(300));
}

// A listener whose accept queue is full drops new connections' SYNs, as an overloaded vendor
// does, so a call cannot connect within connect_timeout_ms. Nothing was sent: that is
// CONNECTOR_UNAVAILABLE and retried, not a CONNECTOR_TIMEOUT saying the vendor did not answer.
TEST_F(IntegrationTest, AConnectTimeoutIsUnreachableAndRetried) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 0), 0);  // room for one connection, never accepted
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  pollfd connected{filler, POLLOUT, 0};
  ASSERT_EQ(poll(&connected, 1, 2000), 1) << "the filler connection did not complete";

  Harness harness(SiftYaml(absl::StrCat("http://127.0.0.1:", ntohs(address.sin_port)),
                           "    timeout_ms: 3000\n    connect_timeout_ms: 200\n"
                           "    retry: {base_backoff_ms: 1, max_backoff_ms: 5}\n"),
                  real_time_);
  const absl::Time start = real_time_.Now();
  ConnectorResult result = harness.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})"));
  const absl::Duration elapsed = real_time_.Now() - start;
  EXPECT_EQ(result.reason, Reason::kConnectorUnavailable) << result.message;
  EXPECT_THAT(result.message, HasSubstr("unreachable"));
  EXPECT_EQ(result.attempts, 3);
  EXPECT_GE(elapsed, absl::Milliseconds(3 * 195));
  EXPECT_LT(elapsed, absl::Seconds(2));
  close(filler);
  close(listener);
}

TEST_F(IntegrationTest, ResetsAreRetriedForGetButPostIsSentExactlyOnce) {
  FakeVendor sift([](const VendorRequest&) {
    VendorResponse response;
    response.body = ::evaluatecode::testing::SiftScoreBody("u1", 0.5);
    response.reset_after_body_bytes = 20;  // the connection dies mid-body
    return response;
  });
  Harness harness(SiftYaml(sift.base_url(), "    retry: {base_backoff_ms: 1, max_backoff_ms: 5}\n"),
                  real_time_);
  ConnectorResult get = harness.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})"));
  EXPECT_EQ(get.reason, Reason::kConnectorUnavailable);
  EXPECT_EQ(get.attempts, 3);
  EXPECT_EQ(sift.request_count(), 3);

  ConnectorResult post = harness.gateway().CallAndWait(Request("rescore", R"({"user_id": "u1"})"));
  EXPECT_EQ(post.reason, Reason::kConnectorUnavailable);
  EXPECT_EQ(post.attempts, 1);
  EXPECT_EQ(sift.request_count(), 4) << "POST sent exactly once";

  // A reset before any response, and a 503 storm: the same rule.
  sift.SetHandler([](const VendorRequest&) {
    VendorResponse response;
    response.reset_before_response = true;
    return response;
  });
  EXPECT_EQ(harness.gateway().CallAndWait(Request("rescore", R"({"user_id": "u2"})")).attempts, 1);
  EXPECT_EQ(sift.request_count(), 5);
  sift.SetHandler([](const VendorRequest&) {
    VendorResponse response;
    response.status = 503;
    response.body = "{}";
    return response;
  });
  EXPECT_EQ(harness.gateway().CallAndWait(Request("rescore", R"({"user_id": "u3"})")).attempts, 1);
  EXPECT_EQ(harness.gateway().CallAndWait(Request("score", R"({"user_id": "u3"})")).attempts, 3);
  EXPECT_EQ(sift.request_count(), 9);
}

TEST_F(IntegrationTest, RecoversAfterTransientFailures) {
  int calls = 0;
  absl::Mutex mu;
  FakeVendor sift([&](const VendorRequest& request) {
    absl::MutexLock lock(&mu);
    VendorResponse response;
    if (++calls < 3) {
      response.status = 503;
      response.body = "{}";
      return response;
    }
    return SiftHandler(kKey)(request);
  });
  Harness harness(SiftYaml(sift.base_url()), real_time_);
  ConnectorResult result = harness.gateway().CallAndWait(Request("score", R"({"user_id": "u1"})"));
  EXPECT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.attempts, 3);
}

TEST_F(IntegrationTest, BreakerOpensUnderA503StormAnswersFastAndRecovers) {
  SimulatedTimeSource gateway_time(real_time_.Now());
  FakeVendor sift([](const VendorRequest&) {
    VendorResponse response;
    response.status = 503;
    response.body = "{}";
    return response;
  });
  Harness harness(SiftYaml(sift.base_url(),
                           "    retry: {max_attempts: 1}\n"
                           "    circuit_breaker: {failure_rate_percent: 50, window_calls: 10, "
                           "minimum_calls: 5, open_ms: 30000, half_open_calls: 1}\n"),
                  gateway_time);
  auto request = [&](const std::string& user) {
    ConnectorRequest r = Request("score", absl::StrCat(R"({"user_id": ")", user, R"("})"));
    r.deadline = gateway_time.Now() + absl::Seconds(10);
    return r;
  };
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(harness.gateway().CallAndWait(request(absl::StrCat("u", i))).reason, Reason::kVendorError);
  }
  EXPECT_EQ(sift.request_count(), 5);

  // Open: 200 calls answered without touching the vendor, each far under a millisecond.
  const absl::Time start = real_time_.Now();
  for (int i = 0; i < 200; ++i) {
    ConnectorResult result = harness.gateway().CallAndWait(request(absl::StrCat("x", i)));
    ASSERT_EQ(result.reason, Reason::kConnectorUnavailable);
  }
  const absl::Duration per_call = (real_time_.Now() - start) / 200;
  EXPECT_LT(per_call, absl::Milliseconds(1)) << per_call;
  EXPECT_EQ(sift.request_count(), 5);

  // The vendor recovers; after open_ms one probe goes through and closes the breaker.
  sift.SetHandler(SiftHandler(kKey));
  gateway_time.Advance(absl::Seconds(30));
  EXPECT_TRUE(harness.gateway().CallAndWait(request("probe")).ok());
  EXPECT_TRUE(harness.gateway().CallAndWait(request("after")).ok());
  EXPECT_EQ(sift.request_count(), 7);
}

TEST_F(IntegrationTest, RateLimitHolds) {
  SimulatedTimeSource gateway_time(real_time_.Now());
  FakeVendor sift(SiftHandler(kKey));
  Harness harness(SiftYaml(sift.base_url(), "    rate_limit: {requests_per_second: 5, burst: 5}\n"),
                  gateway_time);
  auto call = [&](int i) {
    ConnectorRequest r = Request("score", absl::StrCat(R"({"user_id": "u)", i, R"("})"));
    r.deadline = gateway_time.Now() + absl::Seconds(10);
    return harness.gateway().CallAndWait(r);
  };
  int ok = 0;
  int limited = 0;
  for (int i = 0; i < 20; ++i) {
    ConnectorResult result = call(i);
    if (result.ok()) ++ok;
    if (result.reason == Reason::kConnectorUnavailable) ++limited;
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(limited, 15);
  EXPECT_EQ(sift.request_count(), 5);
  gateway_time.Advance(absl::Seconds(1));
  for (int i = 20; i < 30; ++i) call(i);
  EXPECT_EQ(sift.request_count(), 10);
}

TEST_F(IntegrationTest, ReusesConnectionsAndServesConcurrentCalls) {
  FakeVendor sift(SiftHandler(kKey));
  Harness harness(SiftYaml(sift.base_url()), real_time_);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(harness.gateway().CallAndWait(Request("score", absl::StrCat(R"({"user_id": "s)", i, R"("})"))).ok());
  }
  EXPECT_EQ(sift.connection_count(), 1) << "keep-alive: one connection for sequential calls";

  constexpr int kCalls = 64;
  absl::BlockingCounter finished(kCalls);
  std::atomic<int> ok{0};
  for (int i = 0; i < kCalls; ++i) {
    harness.gateway().Call(Request("score", absl::StrCat(R"({"user_id": "c)", i, R"("})")),
                           [&](ConnectorResult result) {
                             if (result.ok()) ++ok;
                             finished.DecrementCount();
                           });
  }
  finished.Wait();
  EXPECT_EQ(ok.load(), kCalls);
  EXPECT_EQ(sift.request_count(), 5 + kCalls);
}

// Finished transfers' handles are reused (curl_easy_reset): a transfer must carry nothing of the
// one before it on the same handle — method, body, headers, HEAD's "no body".
TEST_F(IntegrationTest, AReusedHandleCarriesNothingOfTheTransferBefore) {
  FakeVendor vendor([](const VendorRequest&) {
    VendorResponse response;
    response.body = "hello";
    return response;
  });
  Harness harness("", real_time_);
  auto send = [&](const std::string& method, const std::string& path, const std::string& body,
                  std::vector<std::pair<std::string, std::string>> headers) {
    HttpRequest request;
    request.method = method;
    request.url = vendor.base_url() + path;
    request.body = body;
    request.headers = std::move(headers);
    request.allow_plain_http = true;
    request.egress.allow_loopback = true;
    return harness.Send(request);
  };
  EXPECT_EQ(send("POST", "/first", "first-body", {{"X-Only-First", "1"}}).error,
            TransportError::kNone);
  EXPECT_EQ(send("HEAD", "/head", "", {}).body, "");
  const HttpResponse get = send("GET", "/get", "", {});
  EXPECT_EQ(get.error, TransportError::kNone) << get.error_detail;
  EXPECT_EQ(get.body, "hello");
  EXPECT_EQ(send("PUT", "/put", "x", {}).error, TransportError::kNone);
  EXPECT_EQ(send("GET", "/last", "", {}).body, "hello");

  const std::vector<VendorRequest> seen = vendor.requests();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, "first-body");
  EXPECT_EQ(seen[0].Header("X-Only-First"), "1");
  EXPECT_EQ(seen[1].method, "HEAD");
  for (int i : {2, 4}) {
    EXPECT_EQ(seen[i].method, "GET") << i;
    EXPECT_EQ(seen[i].body, "") << i;
    EXPECT_EQ(seen[i].Header("X-Only-First"), "") << i;
    EXPECT_EQ(seen[i].Header("Content-Length"), "") << i;
  }
  EXPECT_EQ(seen[3].method, "PUT");
  EXPECT_EQ(seen[3].body, "x");
}

TEST_F(IntegrationTest, WorksOverIpv6Loopback) {
  FakeVendor sift(SiftHandler(kKey), /*ipv6=*/true);
  Harness harness(SiftYaml(sift.base_url()), real_time_);
  ConnectorResult result = harness.gateway().CallAndWait(Request("score", R"({"user_id": "u6"})"));
  EXPECT_TRUE(result.ok()) << result.message;
}

TEST_F(IntegrationTest, ShutdownAnswersCallsInFlight) {
  FakeVendor sift([](const VendorRequest&) {
    VendorResponse response;
    response.delay = absl::Seconds(5);
    return response;
  });
  std::optional<ConnectorResult> result;
  {
    Harness harness(SiftYaml(sift.base_url(), "    timeout_ms: 10000\n"), real_time_);
    harness.gateway().Call(Request("score", R"({"user_id": "u1"})"),
                           [&](ConnectorResult r) { result = std::move(r); });
    while (sift.request_count() == 0) absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->reason, Reason::kConnectorUnavailable);
  EXPECT_THAT(result->message, HasSubstr("shutting down"));
}

}  // namespace
}  // namespace evaluatecode::connectors
