// Per-tenant quotas: a tenant far over its quota is refused at once and does not raise another
// tenant's error rate.
#include <atomic>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::evaluate::v1::EvaluateCodeRequest;
using ::evaluate::v1::EvaluateCodeResponse;

EvaluateCodeRequest ForTenant(const std::string& tenant) {
  EvaluateCodeRequest request =
      testing::MakeRequest("var x = 0; for (var i = 0; i < 2e5; i++) x += i; return x > 0;");
  (*request.mutable_labels())["tenant"] = tenant;
  return request;
}

TEST(QuotaTest, ATenantAtTenTimesItsQuotaDoesNotRaiseAnothersErrorRate) {
  service::ServerConfig config = testing::TestConfig();
  config.evaluator_threads = 2;
  config.quotas.tenants["noisy"] = {/*max_concurrent=*/1, /*requests_per_second=*/20,
                                    /*burst=*/5};
  testing::TestServer server(config);

  std::atomic<int> noisy_ok{0}, noisy_refused{0}, noisy_other{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> noisy;
  for (int t = 0; t < 6; ++t) {
    noisy.emplace_back([&] {
      while (!stop) {
        EvaluateCodeResponse response;
        grpc::Status status = testing::Evaluate(server.stub(), ForTenant("noisy"), &response);
        if (status.ok()) {
          ++noisy_ok;
        } else if (testing::DetailsOf(status).info.reason() == "QUOTA_EXCEEDED") {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
          ++noisy_refused;
        } else {
          ++noisy_other;
        }
      }
    });
  }
  int quiet_ok = 0, quiet_failed = 0;
  for (int i = 0; i < 60; ++i) {
    EvaluateCodeResponse response;
    if (testing::Evaluate(server.stub(), ForTenant("quiet"), &response).ok()) {
      ++quiet_ok;
    } else {
      ++quiet_failed;
    }
  }
  stop = true;
  for (std::thread& thread : noisy) thread.join();

  EXPECT_EQ(quiet_failed, 0);
  EXPECT_EQ(quiet_ok, 60);
  EXPECT_GT(noisy_refused, 10 * noisy_ok / 2);  // far over quota: most calls refused
  EXPECT_GT(noisy_ok, 0);
  EXPECT_EQ(noisy_other, 0);
}

TEST(QuotaTest, QuotasComeFromTheConfig) {
  absl::StatusOr<service::ServerConfig> config = service::ParseConfig(R"(
quotas:
  default: {max_concurrent: 8, requests_per_second: 100}
  tenants:
    acme: {max_concurrent: 2, requests_per_second: 5.5, burst: 10}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->quotas.defaults.max_concurrent, 8);
  EXPECT_EQ(config->quotas.tenants.at("acme").requests_per_second, 5.5);
  EXPECT_FALSE(service::ParseConfig("quotas:\n  tenants:\n    acme: {rps: 1}\n").ok());
}

}  // namespace
}  // namespace evaluatecode
