#include "connectors/request_builder.h"

#include <string>

#include "connectors/path_template.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::connectors {
namespace {

using ::evaluatecode::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

google::protobuf::Struct Params(const std::string& json) {
  google::protobuf::Struct params;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &params).ok()) << json;
  return params;
}

ParameterSpec Param(const char* name, ParameterType type, ParameterLocation location,
                    bool required = false) {
  ParameterSpec spec;
  spec.name = name;
  spec.type = type;
  spec.location = location;
  spec.required = required;
  return spec;
}

class RequestBuilderTest : public ::testing::Test {
 protected:
  RequestBuilderTest() {
    connector_.name = "acme";
    connector_.base_url = "https://api.acme.example/v2/";
    op_.name = "person";
    op_.method = "GET";
    op_.path = "/people/{person_id}/score";
    op_.parameters = {
        Param("person_id", ParameterType::kString, ParameterLocation::kPath, true),
        Param("abuse_types", ParameterType::kStringList, ParameterLocation::kQuery),
        Param("limit", ParameterType::kInteger, ParameterLocation::kQuery),
        Param("ratio", ParameterType::kNumber, ParameterLocation::kQuery),
        Param("verbose", ParameterType::kBoolean, ParameterLocation::kQuery),
    };
  }
  ConnectorConfig connector_;
  OperationSpec op_;
};

TEST_F(RequestBuilderTest, ExpandsPathAndQueryInDeclarationOrder) {
  ASSERT_OK_AND_ASSIGN(
      PreparedRequest request,
      PrepareRequest(connector_, op_,
                     Params(R"({"verbose": true, "ratio": 0.1, "limit": 20,
                                "abuse_types": ["payment_abuse", "account_takeover"],
                                "person_id": "u1"})")));
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.url,
            "https://api.acme.example/v2/people/u1/score?abuse_types=payment_abuse,"
            "account_takeover&limit=20&ratio=0.1&verbose=true");
  EXPECT_EQ(request.body, "");
}

TEST_F(RequestBuilderTest, EscapesValuesSoTheyCannotChangeTheRequest) {
  ASSERT_OK_AND_ASSIGN(
      PreparedRequest request,
      PrepareRequest(connector_, op_,
                     Params(R"({"person_id": "a/../../admin?x=1#f",
                                "abuse_types": ["a,b", "c&d=e"]})")));
  EXPECT_EQ(request.url,
            "https://api.acme.example/v2/people/a%2F..%2F..%2Fadmin%3Fx%3D1%23f/score"
            "?abuse_types=a%2Cb,c%26d%3De");
}

TEST_F(RequestBuilderTest, EscapesUnicodeSpacesAndControlCharacters) {
  ASSERT_OK_AND_ASSIGN(PreparedRequest request,
                       PrepareRequest(connector_, op_,
                                      Params(R"({"person_id": "jöe doe\r\nHost: evil"})")));
  EXPECT_EQ(request.url,
            "https://api.acme.example/v2/people/j%C3%B6e%20doe%0D%0AHost%3A%20evil/score");
}

TEST_F(RequestBuilderTest, KeepsUnreservedCharacters) {
  ASSERT_OK_AND_ASSIGN(PreparedRequest request,
                       PrepareRequest(connector_, op_, Params(R"({"person_id": "A-z_0.9~"})")));
  EXPECT_EQ(request.url, "https://api.acme.example/v2/people/A-z_0.9~/score");
}

TEST_F(RequestBuilderTest, RefusesDotSegmentsAndEmptyPathValues) {
  for (const char* id : {R"("")", R"(".")", R"("..")"}) {
    EXPECT_THAT(PrepareRequest(connector_, op_, Params(std::string(R"({"person_id": )") + id + "}")),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("'person_id' must not be empty, '.' or '..'")));
  }
}

TEST_F(RequestBuilderTest, ChecksTypes) {
  struct {
    const char* params;
    const char* message;
  } cases[] = {
      {R"({"person_id": 5})", "parameter 'person_id' must be string"},
      {R"({"person_id": "u", "limit": 1.5})", "'limit' must be integer (a whole number"},
      {R"({"person_id": "u", "limit": "20"})", "'limit' must be integer"},
      {R"({"person_id": "u", "limit": 1e300})", "'limit' must be integer"},
      {R"({"person_id": "u", "ratio": "0.5"})", "'ratio' must be number"},
      {R"({"person_id": "u", "verbose": 1})", "'verbose' must be boolean"},
      {R"({"person_id": "u", "abuse_types": "payment_abuse"})", "'abuse_types' must be string_list"},
      {R"({"person_id": "u", "abuse_types": ["a", 1]})", "'abuse_types' must be string_list"},
      {R"({})", "parameter 'person_id' is required"},
      {R"({"person_id": null})", "parameter 'person_id' is required"},
      {R"({"person_id": "u", "host": "evil.example"})",
       "unknown parameter 'host' for acme.person; expected one of person_id, abuse_types"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(PrepareRequest(connector_, op_, Params(c.params)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.params;
  }
}

TEST_F(RequestBuilderTest, CapsValueLength) {
  const std::string long_id(5000, 'x');
  EXPECT_THAT(PrepareRequest(connector_, op_, Params(R"({"person_id": ")" + long_id + R"("})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than 4096 bytes")));
}

TEST_F(RequestBuilderTest, NumbersUseShortestRoundTripForm) {
  ASSERT_OK_AND_ASSIGN(PreparedRequest request,
                       PrepareRequest(connector_, op_,
                                      Params(R"({"person_id": "u", "limit": -9007199254740992,
                                                 "ratio": 1e21})")));
  EXPECT_THAT(request.url, HasSubstr("limit=-9007199254740992&ratio=1e%2B21"));
}

TEST_F(RequestBuilderTest, BodyParametersBecomeAJsonObject) {
  op_.method = "POST";
  op_.path = "/reports";
  op_.parameters = {Param("amount", ParameterType::kNumber, ParameterLocation::kBody, true),
                    Param("tags", ParameterType::kStringList, ParameterLocation::kBody),
                    Param("dry_run", ParameterType::kBoolean, ParameterLocation::kQuery)};
  ASSERT_OK_AND_ASSIGN(
      PreparedRequest request,
      PrepareRequest(connector_, op_,
                     Params(R"({"amount": 12.5, "tags": ["x\"y"], "dry_run": false})")));
  EXPECT_EQ(request.url, "https://api.acme.example/v2/reports?dry_run=false");
  EXPECT_EQ(request.body, R"({"amount":12.5,"tags":["x\"y"]})");
}

TEST_F(RequestBuilderTest, RedactsSensitiveAndSecretLookingParameters) {
  op_.parameters.push_back(Param("email", ParameterType::kString, ParameterLocation::kQuery));
  op_.parameters.back().sensitive = true;
  op_.parameters.push_back(Param("api_token", ParameterType::kString, ParameterLocation::kQuery));
  ASSERT_OK_AND_ASSIGN(
      PreparedRequest request,
      PrepareRequest(connector_, op_,
                     Params(R"({"person_id": "u1", "email": "a@b.c", "api_token": "t0k3n"})")));
  const auto& fields = request.redacted_params.fields();
  EXPECT_EQ(fields.at("person_id").string_value(), "u1");
  EXPECT_EQ(fields.at("email").string_value(), "[REDACTED]");
  EXPECT_EQ(fields.at("api_token").string_value(), "[REDACTED]");
}

TEST(PathTemplateTest, ListsPlaceholders) {
  ASSERT_OK_AND_ASSIGN(auto names, PathTemplatePlaceholders("/v205/users/{user_id}/score"));
  EXPECT_THAT(names, ElementsAre("user_id"));
  ASSERT_OK_AND_ASSIGN(auto two, PathTemplatePlaceholders("/a/{x}/b/{y_2}"));
  EXPECT_THAT(two, ElementsAre("x", "y_2"));
  ASSERT_OK_AND_ASSIGN(auto none, PathTemplatePlaceholders("/v205/events"));
  EXPECT_THAT(none, ElementsAre());
}

TEST(PathTemplateTest, RejectsMalformedTemplates) {
  for (const char* bad : {"", "v205/x", "/a/{x", "/a/x}", "/a/{}", "/a/{1x}", "/a/{x}/{x}",
                          "/a?b=1", "/a#frag", "/a b", "/a%2F"}) {
    EXPECT_THAT(PathTemplatePlaceholders(bad), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("")))
        << bad;
  }
}

TEST(PathTemplateTest, ExpandsWithEscapedValues) {
  ASSERT_OK_AND_ASSIGN(std::string path,
                       ExpandPathTemplate("/v205/score/{user_id}",
                                          {{"user_id", EscapeUrlComponent("a b/c")}}));
  EXPECT_EQ(path, "/v205/score/a%20b%2Fc");
  EXPECT_THAT(ExpandPathTemplate("/v205/score/{user_id}", {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("user_id")));
}

}  // namespace
}  // namespace evaluatecode::connectors
