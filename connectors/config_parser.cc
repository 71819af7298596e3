#include "connectors/config_parser.h"

#include <curl/curl.h>

#include <cstdint>
#include <functional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "connectors/egress_policy.h"
#include "connectors/path_template.h"

namespace evaluatecode::connectors {
namespace {

using Handler = std::function<absl::Status(const YAML::Node& value, const std::string& path)>;

std::string Where(const YAML::Node& node, const std::string& path) {
  return absl::StrCat("config: ", path, " (line ", node.Mark().line + 1, ")");
}

absl::Status Error(const YAML::Node& node, const std::string& path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(Where(node, path), ": ", message));
}

// The child `key` of a mapping when present, else the mapping itself: for messages' line numbers.
// (A missing child of a yaml-cpp node is a "zombie" whose Mark() throws.)
YAML::Node Child(const YAML::Node& node, const char* key) {
  if (node.IsMap()) {
    const YAML::Node child = node[key];
    if (child.IsDefined()) return child;
  }
  return node;
}

std::string ScalarOrDescription(const YAML::Node& node) {
  return node.IsScalar() ? absl::StrCat("'", node.Scalar(), "'") : "a non-scalar";
}

// Iterates the keys of mapping `node` (absent or null: nothing to do), rejecting duplicates, and
// calls `each` with the key, its value and its path.
absl::Status ForEachEntry(
    const YAML::Node& node, const std::string& path,
    const std::function<absl::Status(const std::string&, const YAML::Node&, const std::string&)>&
        each) {
  if (!node.IsDefined() || node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) return Error(node, path, "expected a mapping");
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) return Error(it->first, path, "keys must be plain names");
    const std::string key = it->first.Scalar();
    const std::string key_path = absl::StrCat(path, ".", key);
    // yaml-cpp keeps duplicate keys; the second would silently win elsewhere.
    if (!seen.insert(key).second) return Error(it->first, key_path, "duplicate key");
    absl::Status status = each(key, it->second, key_path);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// A mapping whose keys must all be in `handlers`.
absl::Status ReadMapping(const YAML::Node& node, const std::string& path,
                         const std::vector<std::pair<const char*, Handler>>& handlers) {
  return ForEachEntry(node, path,
                      [&](const std::string& key, const YAML::Node& value,
                          const std::string& key_path) -> absl::Status {
                        for (const auto& [name, handler] : handlers) {
                          if (key == name) return handler(value, key_path);
                        }
                        std::vector<std::string> names;
                        for (const auto& handler : handlers) names.push_back(handler.first);
                        return Error(value, key_path,
                                     absl::StrCat("unknown key; expected one of ",
                                                  absl::StrJoin(names, ", ")));
                      });
}

Handler String(std::string* out) {
  return [out](const YAML::Node& node, const std::string& path) -> absl::Status {
    if (!node.IsScalar()) return Error(node, path, "expected a string");
    *out = node.Scalar();
    return absl::OkStatus();
  };
}

Handler Bool(bool* out) {
  return [out](const YAML::Node& node, const std::string& path) -> absl::Status {
    if (node.IsScalar() && node.Scalar() == "true") {
      *out = true;
    } else if (node.IsScalar() && node.Scalar() == "false") {
      *out = false;
    } else {
      return Error(node, path,
                   absl::StrCat("expected true or false, got ", ScalarOrDescription(node)));
    }
    return absl::OkStatus();
  };
}

absl::Status ReadUnsigned(const YAML::Node& node, const std::string& path, uint64_t min,
                          uint64_t max, uint64_t* out) {
  uint64_t value = 0;
  if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value) || value < min || value > max) {
    return Error(node, path,
                 absl::StrCat("expected an integer from ", min, " to ", max, ", got ",
                              ScalarOrDescription(node)));
  }
  *out = value;
  return absl::OkStatus();
}

template <typename T>
Handler Unsigned(T* out, uint64_t min, uint64_t max) {
  return [out, min, max](const YAML::Node& node, const std::string& path) -> absl::Status {
    uint64_t value = 0;
    absl::Status status = ReadUnsigned(node, path, min, max, &value);
    if (status.ok()) *out = static_cast<T>(value);
    return status;
  };
}

// Milliseconds in the file, absl::Duration in the program.
Handler Millis(absl::Duration* out, uint64_t min, uint64_t max) {
  return [out, min, max](const YAML::Node& node, const std::string& path) -> absl::Status {
    uint64_t value = 0;
    absl::Status status = ReadUnsigned(node, path, min, max, &value);
    if (status.ok()) *out = absl::Milliseconds(value);
    return status;
  };
}

Handler Number(double* out, double max) {
  return [out, max](const YAML::Node& node, const std::string& path) -> absl::Status {
    double value = 0;
    if (!node.IsScalar() || !absl::SimpleAtod(node.Scalar(), &value) || !(value >= 0) ||
        value > max) {
      return Error(node, path,
                   absl::StrCat("expected a number from 0 to ", max, ", got ",
                                ScalarOrDescription(node)));
    }
    *out = value;
    return absl::OkStatus();
  };
}

bool IsName(absl::string_view name, bool lower_only) {
  if (name.empty() || name.size() > 63) return false;
  if (!(absl::ascii_isalpha(name[0]) || (!lower_only && name[0] == '_'))) return false;
  for (char c : name) {
    const bool ok = lower_only ? (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')
                               : (absl::ascii_isalnum(c) || c == '_');
    if (!ok) return false;
  }
  return true;
}

bool IsHeaderToken(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_')) return false;
  }
  return true;
}

bool HasControlChars(absl::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// A parameter as read, before its location default can be decided.
struct ParsedParameter {
  ParameterSpec spec;
  bool location_given = false;
  YAML::Node node;
};

absl::Status ReadParameter(const std::string& name, const YAML::Node& node, const std::string& path,
                           ParsedParameter* out) {
  if (!IsName(name, /*lower_only=*/false)) {
    return Error(node, path, "a parameter name must be an identifier of at most 63 characters");
  }
  out->spec.name = name;
  out->node = node;
  std::string type = "string";
  std::string location;
  absl::Status status =
      ReadMapping(node, path,
                  {{"type", String(&type)},
                   {"required", Bool(&out->spec.required)},
                   {"in", String(&location)},
                   {"description", String(&out->spec.description)},
                   {"sensitive", Bool(&out->spec.sensitive)}});
  if (!status.ok()) return status;
  const std::pair<const char*, ParameterType> kTypes[] = {
      {"string", ParameterType::kString},   {"number", ParameterType::kNumber},
      {"integer", ParameterType::kInteger}, {"boolean", ParameterType::kBoolean},
      {"string_list", ParameterType::kStringList}};
  bool type_known = false;
  for (const auto& [type_name, value] : kTypes) {
    if (type == type_name) {
      out->spec.type = value;
      type_known = true;
    }
  }
  if (!type_known) {
    return Error(Child(node, "type"), path + ".type",
                 absl::StrCat("unknown type '", type,
                              "'; expected string, number, integer, boolean or string_list"));
  }
  if (!location.empty()) {
    out->location_given = true;
    if (location == "path") {
      out->spec.location = ParameterLocation::kPath;
    } else if (location == "query") {
      out->spec.location = ParameterLocation::kQuery;
    } else if (location == "body") {
      out->spec.location = ParameterLocation::kBody;
    } else {
      return Error(Child(node, "in"), path + ".in",
                   absl::StrCat("unknown location '", location, "'; expected path, query or body"));
    }
  }
  return absl::OkStatus();
}

bool MethodHasBody(absl::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

absl::Status ReadOperation(const std::string& name, const YAML::Node& node, const std::string& path,
                           OperationSpec* out) {
  if (!IsName(name, /*lower_only=*/false)) {
    return Error(node, path, "an operation name must be an identifier of at most 63 characters");
  }
  out->name = name;
  std::vector<ParsedParameter> parameters;
  absl::Status status = ReadMapping(
      node, path,
      {{"method", String(&out->method)},
       {"path", String(&out->path)},
       {"description", String(&out->description)},
       {"parameters", [&parameters](const YAML::Node& n, const std::string& p) {
          return ForEachEntry(n, p,
                              [&parameters](const std::string& key, const YAML::Node& value,
                                            const std::string& key_path) {
                                parameters.emplace_back();
                                return ReadParameter(key, value, key_path, &parameters.back());
                              });
        }}});
  if (!status.ok()) return status;
  out->method = absl::AsciiStrToUpper(out->method);
  static constexpr absl::string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
  bool method_known = false;
  for (absl::string_view method : kMethods) method_known = method_known || out->method == method;
  if (!method_known) {
    return Error(Child(node, "method"), path + ".method",
                 "expected GET, HEAD, POST, PUT, PATCH or DELETE");
  }
  if (out->path.empty()) return Error(node, path + ".path", "is required");
  absl::StatusOr<std::vector<std::string>> placeholders = PathTemplatePlaceholders(out->path);
  if (!placeholders.ok()) {
    return Error(Child(node, "path"), path + ".path", placeholders.status().message());
  }
  const std::set<std::string> in_path(placeholders->begin(), placeholders->end());
  for (ParsedParameter& parameter : parameters) {
    ParameterSpec& spec = parameter.spec;
    const std::string parameter_path = absl::StrCat(path, ".parameters.", spec.name);
    const bool placeholder = in_path.count(spec.name) > 0;
    if (!parameter.location_given) {
      spec.location = placeholder                   ? ParameterLocation::kPath
                      : MethodHasBody(out->method) ? ParameterLocation::kBody
                                                   : ParameterLocation::kQuery;
    }
    if (spec.location == ParameterLocation::kPath && !placeholder) {
      return Error(parameter.node, parameter_path + ".in",
                   absl::StrCat("is path but the path has no {", spec.name, "}"));
    }
    if (placeholder && spec.location != ParameterLocation::kPath) {
      return Error(parameter.node, parameter_path + ".in",
                   absl::StrCat("must be path: the path has {", spec.name, "}"));
    }
    if (spec.location == ParameterLocation::kPath && !spec.required) {
      return Error(parameter.node, parameter_path + ".required",
                   "a path parameter must be required: true");
    }
    if (spec.location == ParameterLocation::kBody && !MethodHasBody(out->method)) {
      return Error(parameter.node, parameter_path + ".in",
                   absl::StrCat("body parameters need POST, PUT or PATCH, not ", out->method));
    }
    out->parameters.push_back(std::move(spec));
  }
  for (const std::string& placeholder : *placeholders) {
    bool declared = false;
    for (const ParameterSpec& spec : out->parameters) declared = declared || spec.name == placeholder;
    if (!declared) {
      return Error(Child(node, "path"), path + ".path",
                   absl::StrCat("{", placeholder, "} is not a declared parameter"));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadAuth(const YAML::Node& node, const std::string& path, AuthSpec* auth) {
  std::string kind;
  absl::Status status = ReadMapping(node, path,
                                    {{"type", String(&kind)},
                                     {"header", String(&auth->header)},
                                     {"prefix", String(&auth->prefix)},
                                     {"param", String(&auth->query_param)},
                                     {"username", String(&auth->username)},
                                     {"secret_file", String(&auth->secret_file)}});
  if (!status.ok()) return status;
  if (kind.empty() || kind == "none") {
    auth->kind = AuthSpec::Kind::kNone;
  } else if (kind == "header") {
    auth->kind = AuthSpec::Kind::kHeader;
  } else if (kind == "query") {
    auth->kind = AuthSpec::Kind::kQuery;
  } else if (kind == "basic") {
    auth->kind = AuthSpec::Kind::kBasic;
  } else {
    return Error(Child(node, "type"), path + ".type",
                 absl::StrCat("unknown auth type '", kind, "'; expected none, header, query or basic"));
  }
  return absl::OkStatus();
}

// Checks the base URL with curl's own parser, so what we check is what curl will use.
absl::Status CheckBaseUrl(const YAML::Node& node, const std::string& path,
                          const ConnectorConfig& config) {
  if (config.base_url.empty()) return Error(node, path, "is required");
  CURLU* url = curl_url();
  if (url == nullptr) return absl::InternalError("curl_url failed");
  auto part = [url](CURLUPart which) {
    char* text = nullptr;
    std::string out;
    if (curl_url_get(url, which, &text, 0) == CURLUE_OK && text != nullptr) out = text;
    curl_free(text);
    return out;
  };
  absl::Status status;
  if (curl_url_set(url, CURLUPART_URL, config.base_url.c_str(), 0) != CURLUE_OK) {
    status = Error(node, path, "is not a valid absolute URL");
  } else {
    const std::string scheme = part(CURLUPART_SCHEME);
    std::string host = part(CURLUPART_HOST);
    const std::string bare_host(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
    AddressClass klass = AddressClass::kPublic;
    const bool literal = ClassifyAddressText(bare_host, &klass).ok();
    const bool loopback_host = (literal && klass == AddressClass::kLoopback) ||
                               absl::AsciiStrToLower(bare_host) == "localhost";
    if (!part(CURLUPART_USER).empty() || !part(CURLUPART_PASSWORD).empty()) {
      status = Error(node, path, "must not hold credentials (use auth.secret_file)");
    } else if (!part(CURLUPART_QUERY).empty() || !part(CURLUPART_FRAGMENT).empty() ||
               absl::StrContains(config.base_url, "?") || absl::StrContains(config.base_url, "#")) {
      status = Error(node, path, "must not have a query or fragment (declare parameters)");
    } else if (scheme == "http") {
      if (!config.allow_insecure_loopback || !loopback_host) {
        status = Error(node, path,
                       "http is allowed only to a loopback host with allow_insecure_loopback: true "
                       "(tests and development); use https");
      }
    } else if (scheme != "https") {
      status = Error(node, path, absl::StrCat("scheme '", scheme, "' is not allowed; use https"));
    }
    if (status.ok() && literal) {
      absl::Status allowed = EgressPolicy{config.allow_insecure_loopback}.Check(klass);
      if (!allowed.ok()) status = Error(node, path, allowed.message());
    }
  }
  curl_url_cleanup(url);
  return status;
}

absl::Status CheckAuth(const YAML::Node& node, const std::string& path, const AuthSpec& auth) {
  if (auth.kind == AuthSpec::Kind::kNone) {
    if (!auth.secret_file.empty()) {
      return Error(node, path + ".type", "is required with secret_file (header, query or basic)");
    }
    return absl::OkStatus();
  }
  if (auth.secret_file.empty()) return Error(node, path + ".secret_file", "is required");
  if (auth.kind == AuthSpec::Kind::kHeader && !IsHeaderToken(auth.header)) {
    return Error(node, path + ".header", "must be a header name such as X-Api-Key");
  }
  if (HasControlChars(auth.prefix) || HasControlChars(auth.username) ||
      absl::StrContains(auth.username, ":")) {
    return Error(node, path, "prefix and username must not contain control characters or ':'");
  }
  if (auth.kind == AuthSpec::Kind::kQuery && !IsHeaderToken(auth.query_param)) {
    return Error(node, path + ".param", "must be a parameter name such as api_key");
  }
  return absl::OkStatus();
}

absl::Status ReadConnector(const std::string& name, const YAML::Node& node, const std::string& path,
                           const ConnectorTypeRegistry& types, ConnectorConfig* config) {
  if (!IsName(name, /*lower_only=*/true)) {
    return Error(node, path,
                 "a connector name must be lower-case letters, digits and '_', starting with a "
                 "letter, at most 63 characters (scripts write connectors.<name>)");
  }
  config->name = name;
  bool operations_given = false;
  absl::Status status = ReadMapping(
      node, path,
      {{"type", String(&config->type)},
       {"description", String(&config->description)},
       {"enabled", Bool(&config->enabled)},
       {"base_url", String(&config->base_url)},
       {"allow_insecure_loopback", Bool(&config->allow_insecure_loopback)},
       {"timeout_ms", Millis(&config->timeout, 1, 60000)},
       {"connect_timeout_ms", Millis(&config->connect_timeout, 1, 60000)},
       {"max_response_bytes", Unsigned(&config->max_response_bytes, 1, 64 << 20)},
       {"cache_ttl_ms", Millis(&config->cache_ttl, 0, 86400000)},
       {"cache_max_entries", Unsigned(&config->cache_max_entries, 1, 1000000)},
       {"auth", [config](const YAML::Node& n, const std::string& p) {
          return ReadAuth(n, p, &config->auth);
        }},
       {"retry",
        [config](const YAML::Node& n, const std::string& p) {
          return ReadMapping(n, p,
                             {{"max_attempts", Unsigned(&config->retry.max_attempts, 1, 3)},
                              {"base_backoff_ms", Millis(&config->retry.base_backoff, 0, 10000)},
                              {"max_backoff_ms", Millis(&config->retry.max_backoff, 0, 60000)}});
        }},
       {"circuit_breaker",
        [config](const YAML::Node& n, const std::string& p) {
          CircuitBreakerPolicy& b = config->circuit_breaker;
          return ReadMapping(n, p,
                             {{"failure_rate_percent", Unsigned(&b.failure_rate_percent, 0, 100)},
                              {"window_calls", Unsigned(&b.window_calls, 1, 10000)},
                              {"minimum_calls", Unsigned(&b.minimum_calls, 1, 10000)},
                              {"open_ms", Millis(&b.open_duration, 1, 3600000)},
                              {"half_open_calls", Unsigned(&b.half_open_calls, 1, 100)}});
        }},
       {"rate_limit",
        [config](const YAML::Node& n, const std::string& p) {
          return ReadMapping(
              n, p,
              {{"requests_per_second", Number(&config->rate_limit.requests_per_second, 1e6)},
               {"burst", Number(&config->rate_limit.burst, 1e6)}});
        }},
       {"operations", [config, &operations_given](const YAML::Node& n, const std::string& p) {
          operations_given = true;
          return ForEachEntry(n, p,
                              [config](const std::string& key, const YAML::Node& value,
                                       const std::string& key_path) {
                                config->operations.emplace_back();
                                return ReadOperation(key, value, key_path,
                                                     &config->operations.back());
                              });
        }}});
  if (!status.ok()) return status;

  if (!config->type.empty()) {
    const ConnectorType* type = types.Find(config->type);
    if (type == nullptr) {
      return Error(Child(node, "type"), path + ".type",
                   absl::StrCat("unknown connector type '", config->type, "'; known: ",
                                types.Names()));
    }
    status = type->Configure(path, config);
    if (!status.ok()) return status;
  }
  if (config->operations.empty()) {
    return Error(node, path + ".operations", "at least one operation is required");
  }
  status = CheckBaseUrl(Child(node, "base_url"), path + ".base_url", *config);
  if (!status.ok()) return status;
  status = CheckAuth(Child(node, "auth"), path + ".auth", config->auth);
  if (!status.ok()) return status;
  if (config->connect_timeout > config->timeout) config->connect_timeout = config->timeout;
  if (config->retry.max_backoff < config->retry.base_backoff) {
    return Error(Child(node, "retry"), path + ".retry.max_backoff_ms", "must be at least base_backoff_ms");
  }
  if (config->circuit_breaker.minimum_calls > config->circuit_breaker.window_calls) {
    return Error(Child(node, "circuit_breaker"), path + ".circuit_breaker.minimum_calls",
                 "must be at most window_calls");
  }
  if (config->rate_limit.requests_per_second > 0 && config->rate_limit.burst == 0) {
    config->rate_limit.burst = std::max(1.0, config->rate_limit.requests_per_second);
  }
  if (config->rate_limit.requests_per_second > 0 && config->rate_limit.burst < 1) {
    return Error(Child(node, "rate_limit"), path + ".rate_limit.burst", "must be at least 1");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<ConnectorConfig>> ParseConnectorsConfig(
    const YAML::Node& node, const ConnectorTypeRegistry& types, const std::string& path) {
  std::vector<ConnectorConfig> configs;
  absl::Status status = ForEachEntry(
      node, path,
      [&](const std::string& name, const YAML::Node& value, const std::string& key_path) {
        ConnectorConfig config;
        absl::Status read = ReadConnector(name, value, key_path, types, &config);
        if (read.ok() && config.enabled) configs.push_back(std::move(config));
        return read;
      });
  if (!status.ok()) return status;
  return configs;
}

absl::StatusOr<std::vector<ConnectorConfig>> ParseConnectorsConfigText(
    absl::string_view yaml_text, const ConnectorTypeRegistry& types) {
  YAML::Node root;
  // yaml-cpp reports syntax errors by exception; this is the one place that catches them.
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: line ", e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": ", e.msg));
  }
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    return Error(root, "top level", "expected a mapping");
  }
  std::vector<ConnectorConfig> none;
  for (auto it = root.begin(); root.IsMap() && it != root.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    if (key != "connectors") {
      return Error(it->first, key, "unknown key; expected connectors");
    }
    return ParseConnectorsConfig(it->second, types);
  }
  return none;
}

}  // namespace evaluatecode::connectors
