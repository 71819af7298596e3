// What the connector layer adds to a vendor call: one gateway call (allowlist, templating, breaker,
// rate limit, secret read and attach, hop to the curl loop thread and back, JSON parse into a
// protobuf Value, scrubbing) against a bare curl easy request to the same loopback fake vendor.
// Both reuse their connection. Run: bazel run -c opt //bench:connector_overhead

#include <curl/curl.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "common/time_source.h"
#include "connectors/builtin_connector_types.h"
#include "connectors/config_parser.h"
#include "connectors/curl_http_client.h"
#include "connectors/http_connector_gateway.h"
#include "connectors/random_source.h"
#include "connectors/secret_store.h"
#include "tests/testing/connectors/fake_vendor.h"

namespace evaluatecode::connectors {
namespace {

constexpr char kKey[] = "sk_bench_0123456789abcdef";

size_t Discard(char* data, size_t size, size_t count, void* userdata) {
  static_cast<std::string*>(userdata)->append(data, size * count);
  return size * count;
}

void BM_BareCurlEasy(benchmark::State& state) {
  testing::FakeVendor vendor(testing::SiftHandler(kKey));
  CURL* easy = curl_easy_init();
  const std::string url = vendor.base_url() + "/v205/score/u1";
  const std::string userpwd = absl::StrCat(kKey, ":");
  std::string body;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  for (auto _ : state) {
    body.clear();
    if (curl_easy_perform(easy) != CURLE_OK) state.SkipWithError("curl failed");
    benchmark::DoNotOptimize(body);
  }
  curl_easy_cleanup(easy);
}
BENCHMARK(BM_BareCurlEasy)->UseRealTime();

class GatewayFixture {
 public:
  explicit GatewayFixture(const std::string& base_url, const std::string& extra = "") {
    const std::string key_file = "/tmp/connector_overhead_key";
    std::ofstream(key_file, std::ios::trunc) << kKey;
    CurlHttpClientOptions options;
    options.time_source = &time_;
    http_ = *NewCurlHttpClient(options);
    auto configs = ParseConnectorsConfigText(
        absl::StrCat("connectors:\n  sift:\n    type: sift\n    base_url: ", base_url,
                     "\n    allow_insecure_loopback: true\n    auth: {secret_file: ", key_file,
                     "}\n", extra),
        *types_);
    GatewayOptions gateway_options;
    gateway_options.connectors = *configs;
    gateway_options.types = types_.get();
    gateway_options.http_client = http_.get();
    gateway_options.secrets = secrets_.get();
    gateway_options.time_source = &time_;
    gateway_options.random = random_.get();
    gateway_ = *NewConnectorGateway(std::move(gateway_options));
  }
  ~GatewayFixture() {
    http_.reset();
    gateway_.reset();
  }
  ConnectorResult Call() {
    ConnectorRequest request;
    request.tenant = "t";
    request.connector = "sift";
    request.operation = "score";
    (*request.params.mutable_fields())["user_id"].set_string_value("u1");
    request.deadline = time_.Now() + absl::Seconds(5);
    request.allowed_connectors = {"sift"};
    return gateway_->CallAndWait(std::move(request));
  }

 private:
  RealTimeSource time_;
  std::unique_ptr<ConnectorTypeRegistry> types_ = NewBuiltinConnectorTypes();
  std::unique_ptr<SecretStore> secrets_ = NewFileSecretStore();
  std::unique_ptr<RandomSource> random_ = NewRandomSource();
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<ConnectorGateway> gateway_;
};

void BM_GatewayCall(benchmark::State& state) {
  testing::FakeVendor vendor(testing::SiftHandler(kKey));
  GatewayFixture fixture(vendor.base_url());
  for (auto _ : state) {
    ConnectorResult result = fixture.Call();
    if (!result.ok()) state.SkipWithError(result.message.c_str());
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_GatewayCall)->UseRealTime();

void BM_GatewayCallCacheHit(benchmark::State& state) {
  testing::FakeVendor vendor(testing::SiftHandler(kKey));
  GatewayFixture fixture(vendor.base_url(), "    cache_ttl_ms: 600000\n");
  fixture.Call();
  for (auto _ : state) {
    ConnectorResult result = fixture.Call();
    if (!result.from_cache) state.SkipWithError("not cached");
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_GatewayCallCacheHit)->UseRealTime();

void BM_GatewayCallBreakerOpen(benchmark::State& state) {
  testing::FakeVendor vendor([](const testing::VendorRequest&) {
    testing::VendorResponse response;
    response.status = 503;
    return response;
  });
  GatewayFixture fixture(vendor.base_url(),
                         "    retry: {max_attempts: 1}\n"
                         "    circuit_breaker: {window_calls: 4, minimum_calls: 4, open_ms: 3600000}\n");
  for (int i = 0; i < 4; ++i) fixture.Call();
  for (auto _ : state) {
    ConnectorResult result = fixture.Call();
    if (result.reason != ConnectorErrorReason::kConnectorUnavailable) state.SkipWithError("not open");
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_GatewayCallBreakerOpen)->UseRealTime();

}  // namespace
}  // namespace evaluatecode::connectors

BENCHMARK_MAIN();
