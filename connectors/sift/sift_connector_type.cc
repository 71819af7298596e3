#include "connectors/sift/sift_connector_type.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace evaluatecode::connectors::sift {
namespace {

constexpr char kDefaultBaseUrl[] = "https://api.sift.com";

ParameterSpec UserId() {
  ParameterSpec spec;
  spec.name = "user_id";
  spec.type = ParameterType::kString;
  spec.required = true;
  spec.location = ParameterLocation::kPath;
  spec.description = "The user's id as sent to Sift (URL-escaped here).";
  return spec;
}

ParameterSpec AbuseTypes() {
  ParameterSpec spec;
  spec.name = "abuse_types";
  spec.type = ParameterType::kStringList;
  spec.required = false;
  spec.location = ParameterLocation::kQuery;
  spec.description =
      "Abuse types to score: payment_abuse, account_abuse, content_abuse, promotion_abuse, "
      "account_takeover, legacy. Default: all the account is set up for.";
  return spec;
}

OperationSpec Operation(const char* name, const char* method, const char* path,
                        const char* description) {
  OperationSpec op;
  op.name = name;
  op.method = method;
  op.path = path;
  op.description = description;
  op.parameters = {UserId(), AbuseTypes()};
  return op;
}

class SiftConnectorType final : public ConnectorType {
 public:
  absl::string_view name() const override { return "sift"; }

  absl::Status Configure(const std::string& path, ConnectorConfig* config) const override {
    if (!config->operations.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config: ", path, ".operations: not allowed with type sift (the type defines score, "
                            "user_score and rescore)"));
    }
    if (config->description.empty()) config->description = "Sift fraud scores (Score API v205)";
    if (config->base_url.empty()) config->base_url = kDefaultBaseUrl;
    AuthSpec& auth = config->auth;
    if (auth.kind == AuthSpec::Kind::kNone) auth.kind = AuthSpec::Kind::kBasic;
    if (auth.kind == AuthSpec::Kind::kHeader) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config: ", path, ".auth.type: Sift takes the API key as basic or query, not header"));
    }
    if (auth.kind == AuthSpec::Kind::kQuery && auth.query_param.empty()) {
      auth.query_param = "api_key";
    }
    config->operations = {
        Operation("score", "GET", "/v205/score/{user_id}",
                  "Computes and returns the user's Sift scores, reasons, latest decisions, labels "
                  "and workflow statuses."),
        Operation("user_score", "GET", "/v205/users/{user_id}/score",
                  "Returns the latest stored scores without rescoring."),
        Operation("rescore", "POST", "/v205/users/{user_id}/score",
                  "Forces a rescore and returns the new scores. Never retried."),
    };
    return absl::OkStatus();
  }

  std::optional<std::string> VendorError(int /*http_status*/,
                                         const google::protobuf::Value& body) const override {
    if (body.kind_case() != google::protobuf::Value::kStructValue) return std::nullopt;
    const auto& fields = body.struct_value().fields();
    auto status = fields.find("status");
    if (status == fields.end() ||
        status->second.kind_case() != google::protobuf::Value::kNumberValue ||
        status->second.number_value() == 0) {
      return std::nullopt;
    }
    std::string message = absl::StrCat("Sift status ", status->second.number_value());
    auto error_message = fields.find("error_message");
    if (error_message != fields.end() &&
        error_message->second.kind_case() == google::protobuf::Value::kStringValue) {
      absl::StrAppend(&message, ": ", error_message->second.string_value());
    }
    return message;
  }
};

}  // namespace

std::unique_ptr<ConnectorType> NewSiftConnectorType() {
  return std::make_unique<SiftConnectorType>();
}

}  // namespace evaluatecode::connectors::sift
