#include "service/caller_authorizer.h"

#include <string>
#include <variant>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evaluatecode::service {
namespace {

using ::testing::HasSubstr;

AuthConfig TableWith(IdentitySource source) {
  AuthConfig config;
  config.identity = source;
  config.callers["spiffe://test/engine"] = {{"sift"}, {}};
  config.callers["spiffe://test/ops"] = {{"*"}, {/*max_concurrent=*/4, 0, 0}};
  return config;
}

TEST(CallerAuthorizerTest, WithoutAuthenticationEveryCallIsAnUnrestrictedAnonymousCaller) {
  const AuthConfig config;
  CallerAuthorizer authorizer(config);
  auto caller = authorizer.Authorize(std::vector<std::string>{});
  ASSERT_TRUE(std::holds_alternative<Caller>(caller));
  EXPECT_EQ(std::get<Caller>(caller).identity, "");
  EXPECT_TRUE(std::get<Caller>(caller).MayUse("anything"));
}

TEST(CallerAuthorizerTest, NothingPresentedIsUnauthenticated) {
  const AuthConfig config = TableWith(IdentitySource::kClientCertificate);
  auto refused = CallerAuthorizer(config).Authorize(std::vector<std::string>{});
  ASSERT_TRUE(std::holds_alternative<evaluate::v1::EvaluationError>(refused));
  EXPECT_EQ(std::get<evaluate::v1::EvaluationError>(refused).reason(), "CALLER_UNAUTHENTICATED");
}

TEST(CallerAuthorizerTest, TheFirstPresentedIdentityInTheTableNamesTheCaller) {
  const AuthConfig config = TableWith(IdentitySource::kClientCertificate);
  auto caller = CallerAuthorizer(config).Authorize(
      std::vector<std::string>{"engine.workflows.svc", "spiffe://test/engine"});
  ASSERT_TRUE(std::holds_alternative<Caller>(caller));
  EXPECT_EQ(std::get<Caller>(caller).identity, "spiffe://test/engine");
  EXPECT_TRUE(std::get<Caller>(caller).MayUse("sift"));
  EXPECT_FALSE(std::get<Caller>(caller).MayUse("sift_staging"));
}

TEST(CallerAuthorizerTest, UnknownIdentitiesAreNotAuthorizedAndNamedCutShort) {
  const AuthConfig config = TableWith(IdentitySource::kHeader);
  const std::string long_name(1000, 'x');
  auto refused = CallerAuthorizer(config).Authorize(std::vector<std::string>{long_name});
  ASSERT_TRUE(std::holds_alternative<evaluate::v1::EvaluationError>(refused));
  const auto& error = std::get<evaluate::v1::EvaluationError>(refused);
  EXPECT_EQ(error.reason(), "CALLER_NOT_AUTHORIZED");
  EXPECT_THAT(error.message(), HasSubstr(std::string(256, 'x') + "'"));
  EXPECT_LT(error.message().size(), 400u);
}

TEST(CallerAuthorizerTest, ConnectorsOutsideTheRowAreNamedByIndex) {
  const AuthConfig config = TableWith(IdentitySource::kHeader);
  CallerAuthorizer authorizer(config);
  const Caller engine{"spiffe://test/engine", &config.callers.at("spiffe://test/engine")};
  google::protobuf::RepeatedPtrField<std::string> connectors;
  *connectors.Add() = "sift";
  EXPECT_FALSE(authorizer.CheckConnectors(engine, connectors).has_value());
  *connectors.Add() = "http_lookup";
  auto refused = authorizer.CheckConnectors(engine, connectors);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->reason(), "CALLER_NOT_AUTHORIZED");
  EXPECT_EQ(refused->field(), "connectors[1]");
  const Caller ops{"spiffe://test/ops", &config.callers.at("spiffe://test/ops")};
  EXPECT_FALSE(authorizer.CheckConnectors(ops, connectors).has_value());
}

TEST(CallerAuthorizerTest, CallerQuotasAreKeyedByIdentity) {
  const QuotaConfig quotas = CallerQuotaConfig(TableWith(IdentitySource::kHeader));
  EXPECT_EQ(quotas.tenants.at("spiffe://test/ops").max_concurrent, 4);
  EXPECT_EQ(quotas.tenants.at("spiffe://test/engine").max_concurrent, 0);
  EXPECT_EQ(quotas.defaults.max_concurrent, 0);
}

}  // namespace
}  // namespace evaluatecode::service
