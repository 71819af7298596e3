#include "service/config.h"

#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/builtin_connector_types.h"
#include "connectors/config_parser.h"
#include "sandbox/framed_channel.h"
#include "service/observability/observability_config.h"
#include "service/yaml_scalars.h"
#include "yaml-cpp/yaml.h"

namespace evaluatecode::service {
namespace {

// Milliseconds in the file, absl::Duration in the program.
struct Milliseconds {
  absl::Duration* target;
};

// One known key of a mapping and where its value goes (size_t fields are uint64_t on our targets).
struct FieldSpec {
  const char* key;
  std::variant<std::string*, std::vector<std::string>*, bool*, uint64_t*, uint32_t*, int*,
               double*, Milliseconds>
      target;
};

struct FieldReader {
  const YAML::Node& node;
  const std::string& path;

  absl::Status operator()(std::string* out) const { return ReadString(node, path, out); }
  absl::Status operator()(bool* out) const { return ReadBool(node, path, out); }
  absl::Status operator()(std::vector<std::string>* out) const {
    if (!node.IsSequence()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(node, path), ": expected a list of strings"));
    }
    out->clear();
    for (size_t i = 0; i < node.size(); ++i) {
      absl::Status status =
          FieldReader{node[i], absl::StrCat(path, "[", i, "]")}(&out->emplace_back());
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  absl::Status operator()(uint64_t* out) const {
    return ReadUnsigned(node, path, std::numeric_limits<uint64_t>::max(), out);
  }
  absl::Status operator()(uint32_t* out) const {
    uint64_t value = 0;
    absl::Status status = ReadUnsigned(node, path, std::numeric_limits<uint32_t>::max(), &value);
    *out = static_cast<uint32_t>(value);
    return status;
  }
  absl::Status operator()(int* out) const {
    uint64_t value = 0;
    absl::Status status = ReadUnsigned(node, path, std::numeric_limits<int>::max(), &value);
    *out = static_cast<int>(value);
    return status;
  }
  absl::Status operator()(double* out) const {
    double value = 0;
    if (!node.IsScalar() || !absl::SimpleAtod(node.Scalar(), &value) || value < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(node, path), ": expected a non-negative number, got '",
                       node.IsScalar() ? node.Scalar() : "a non-scalar", "'"));
    }
    *out = value;
    return absl::OkStatus();
  }
  absl::Status operator()(Milliseconds out) const {
    uint64_t value = 0;
    absl::Status status = ReadUnsigned(node, path, uint64_t{1} << 40, &value);
    *out.target = absl::Milliseconds(value);
    return status;
  }
};

using SectionReader = std::function<absl::Status(const YAML::Node&, const std::string&)>;

// Reads the mapping `node` (absent or null is fine: defaults stay) whose keys must all be in
// `fields` or `sections`; each section is read by its own callback.
absl::Status ReadMapping(const YAML::Node& node, const std::string& path,
                         std::initializer_list<FieldSpec> fields,
                         std::initializer_list<std::pair<const char*, SectionReader>> sections) {
  if (!node.IsDefined() || node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(node, path.empty() ? "top level" : path), ": expected a mapping"));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    const std::string key_path = path.empty() ? key : absl::StrCat(path, ".", key);
    bool known = false;
    for (const FieldSpec& field : fields) {
      if (key != field.key) continue;
      known = true;
      absl::Status status = std::visit(FieldReader{it->second, key_path}, field.target);
      if (!status.ok()) return status;
    }
    for (const auto& [name, read] : sections) {
      if (key != name) continue;
      known = true;
      absl::Status status = read(it->second, key_path);
      if (!status.ok()) return status;
    }
    if (!known) {
      std::vector<std::string> names;
      for (const FieldSpec& field : fields) names.push_back(field.key);
      for (const auto& section : sections) names.push_back(section.first);
      return absl::InvalidArgumentError(absl::StrCat(Where(it->first, key_path),
                                                     ": unknown key; expected one of ",
                                                     absl::StrJoin(names, ", ")));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadLimits(const YAML::Node& node, const std::string& path, LimitValues* limits) {
  return ReadMapping(node, path,
                              {{"timeout_ms", Milliseconds{&limits->timeout}},
                               {"memory_bytes", &limits->memory_bytes},
                               {"max_connector_calls", &limits->max_connector_calls},
                               {"max_log_bytes", &limits->max_log_bytes},
                               {"max_output_bytes", &limits->max_output_bytes}},
                              {});
}

absl::Status ReadQuota(const YAML::Node& node, const std::string& path, QuotaLimits* limits) {
  return ReadMapping(node, path,
                     {{"max_concurrent", &limits->max_concurrent},
                      {"requests_per_second", &limits->requests_per_second},
                      {"burst", &limits->burst}},
                     {});
}

// Reads a mapping whose keys are names the config chooses (tenants, callers): `read_entry` reads
// each value, at path `path`.<name>. `what` says what the mapping holds, for the error.
absl::Status ReadNamedEntries(
    const YAML::Node& node, const std::string& path, const char* what,
    const std::function<absl::Status(const std::string& name, const YAML::Node& value,
                                     const std::string& value_path)>& read_entry) {
  if (!node.IsDefined() || node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(Where(node, path), ": expected ", what));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
    absl::Status status = read_entry(name, it->second, absl::StrCat(path, ".", name));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ReadAuth(const YAML::Node& node, const std::string& path, AuthConfig* auth) {
  std::string identity = "none";
  absl::Status status = ReadMapping(
      node, path, {{"identity", &identity}, {"header", &auth->header}},
      {{"callers", [auth](const YAML::Node& n, const std::string& p) {
          return ReadNamedEntries(
              n, p, "a mapping of caller identity to its rights",
              [auth](const std::string& caller, const YAML::Node& value, const std::string& at) {
                CallerPolicy& policy = auth->callers[caller];
                return ReadMapping(value, at, {{"connectors", &policy.connectors}},
                                   {{"quota", [&policy](const YAML::Node& q, const std::string& qp) {
                                      return ReadQuota(q, qp, &policy.quota);
                                    }}});
              });
        }}});
  if (!status.ok()) return status;
  const std::pair<const char*, IdentitySource> sources[] = {
      {"none", IdentitySource::kNone},
      {"client_certificate", IdentitySource::kClientCertificate},
      {"header", IdentitySource::kHeader}};
  for (const auto& [name, source] : sources) {
    if (identity == name) {
      auth->identity = source;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(Where(node["identity"], absl::StrCat(path, ".identity")),
                   ": expected none, client_certificate or header, got '", identity, "'"));
}

absl::Status ReadConfig(const YAML::Node& root, ServerConfig* config) {
  return ReadMapping(
      root, "", {},
      {{"server",
        [config](const YAML::Node& node, const std::string& path) {
          return ReadMapping(
              node, path,
              {{"listen", &config->listen_address},
               {"max_message_bytes", &config->max_message_bytes},
               {"max_code_bytes", &config->max_code_bytes},
               {"keepalive_time_ms", Milliseconds{&config->keepalive_time}},
               {"keepalive_timeout_ms", Milliseconds{&config->keepalive_timeout}},
               {"max_connection_age_ms", Milliseconds{&config->max_connection_age}},
               {"max_connection_age_grace_ms", Milliseconds{&config->max_connection_age_grace}},
               {"drain_grace_ms", Milliseconds{&config->drain_grace}},
               {"health_listen", &config->health_listen_address}},
              {{"tls", [config](const YAML::Node& n, const std::string& p) {
                 return ReadMapping(n, p,
                                    {{"cert_file", &config->tls.cert_file},
                                     {"key_file", &config->tls.key_file},
                                     {"client_ca_file", &config->tls.client_ca_file}},
                                    {});
               }}});
        }},
       {"http_client",
        [config](const YAML::Node& node, const std::string& path) {
          return ReadMapping(
              node, path,
              {{"max_host_connections", &config->http_max_host_connections},
               {"max_total_connections", &config->http_max_total_connections}},
              {});
        }},
       {"evaluator",
        [config](const YAML::Node& node, const std::string& path) {
          return ReadMapping(
              node, path,
              {{"threads", &config->evaluator_threads},
               {"workers", &config->evaluator_workers},
               {"queue_capacity", &config->queue_capacity},
               {"thread_stack_bytes", &config->evaluator_stack_bytes},
               {"compile_cache_entries", &config->compile_cache_entries},
               {"compile_timeout_ms", Milliseconds{&config->compile_timeout}},
               {"compile_memory_bytes", &config->compile_memory_bytes},
               {"isolation", &config->isolation},
               {"pin_workers", &config->pin_workers},
               {"worker_binary", &config->worker_binary},
               {"worker_kill_grace_ms", Milliseconds{&config->worker_kill_grace}},
               {"write_ahead_patience_ms", Milliseconds{&config->write_ahead_patience}},
               {"worker_address_space_bytes", &config->worker_address_space_bytes},
               {"worker_cpu_limit_ms", Milliseconds{&config->worker_cpu_limit}},
               {"core_js", &config->core_js_path},
               {"typescript_js", &config->typescript_js_path}},
              {});
        }},
       {"limits",
        [config](const YAML::Node& node, const std::string& path) {
          return ReadMapping(
              node, path, {},
              {{"default",
                [config](const YAML::Node& n, const std::string& p) {
                  return ReadLimits(n, p, &config->default_limits);
                }},
               {"max", [config](const YAML::Node& n, const std::string& p) {
                  return ReadLimits(n, p, &config->max_limits);
                }}});
        }},
       {"logging",
        [config](const YAML::Node& node, const std::string& path) {
          return ReadMapping(node, path, {{"level", &config->log_level}}, {});
        }},
       {"metrics",
        [config](const YAML::Node& node, const std::string& path) {
          absl::StatusOr<observability::MetricsOptions> parsed =
              observability::ParseMetricsOptions(node, path);
          if (!parsed.ok()) return parsed.status();
          config->metrics = *std::move(parsed);
          return absl::OkStatus();
        }},
       {"decision_log",
        [config](const YAML::Node& node, const std::string& path) {
          absl::StatusOr<observability::DecisionLogOptions> parsed =
              observability::ParseDecisionLogOptions(node, path);
          if (!parsed.ok()) return parsed.status();
          config->decision_log = *std::move(parsed);
          return absl::OkStatus();
        }},
       {"quotas",
        [config](const YAML::Node& node, const std::string& path) {
          return ReadMapping(
              node, path, {},
              {{"default",
                [config](const YAML::Node& n, const std::string& p) {
                  return ReadQuota(n, p, &config->quotas.defaults);
                }},
               {"tenants", [config](const YAML::Node& n, const std::string& p) {
                  return ReadNamedEntries(
                      n, p, "a mapping of tenant to quota",
                      [config](const std::string& tenant, const YAML::Node& value,
                               const std::string& at) {
                        return ReadQuota(value, at, &config->quotas.tenants[tenant]);
                      });
                }}});
        }},
       {"auth", [config](const YAML::Node& node, const std::string& path) {
          return ReadAuth(node, path, &config->auth);
        }},
       {"connectors", [config](const YAML::Node& node, const std::string& path) {
          const std::unique_ptr<connectors::ConnectorTypeRegistry> types =
              connectors::NewBuiltinConnectorTypes();
          absl::StatusOr<std::vector<connectors::ConnectorConfig>> parsed =
              connectors::ParseConnectorsConfig(node, *types, path);
          if (!parsed.ok()) return parsed.status();
          config->connectors = *std::move(parsed);
          return absl::OkStatus();
        }}});
}

absl::Status CheckLimitsWithinMaxima(const ServerConfig& config) {
  const LimitValues& d = config.default_limits;
  const LimitValues& m = config.max_limits;
  const struct {
    const char* key;
    bool ok;
  } checks[] = {
      {"timeout_ms", d.timeout <= m.timeout},
      {"memory_bytes", d.memory_bytes <= m.memory_bytes},
      {"max_connector_calls", d.max_connector_calls <= m.max_connector_calls},
      {"max_log_bytes", d.max_log_bytes <= m.max_log_bytes},
      {"max_output_bytes", d.max_output_bytes <= m.max_output_bytes},
  };
  for (const auto& check : checks) {
    if (!check.ok) {
      return absl::InvalidArgumentError(absl::StrCat("config: limits.default.", check.key,
                                                     ": is above limits.max.", check.key));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateConfig(const ServerConfig& config) {
  constexpr uint64_t kMinHeapBytes = 1 << 20;
  const struct {
    const char* key;
    bool ok;
    const char* rule;
  } rules[] = {
      {"server.listen", !config.listen_address.empty(), "must be HOST:PORT"},
      {"server.max_message_bytes",
       config.max_message_bytes >= 1024 && config.max_message_bytes <= sandbox::kMaxFrameBytes / 2,
       "must be from 1024 to 33554432 (a request travels to its sandbox worker in one frame of at "
       "most 64 MiB)"},
      {"server.max_code_bytes", config.max_code_bytes >= 1 &&
                                    config.max_code_bytes <= config.max_message_bytes,
       "must be from 1 to server.max_message_bytes"},
      {"http_client.max_host_connections", config.http_max_host_connections >= 1,
       "must be at least 1"},
      {"http_client.max_total_connections",
       config.http_max_total_connections >= config.http_max_host_connections,
       "must be at least http_client.max_host_connections"},
      {"evaluator.threads", config.evaluator_threads >= 1, "must be at least 1"},
      {"evaluator.workers",
       config.evaluator_workers >= 0 && config.evaluator_workers <= config.evaluator_threads,
       "must be from 0 (automatic) to evaluator.threads"},
      {"evaluator.thread_stack_bytes", config.evaluator_stack_bytes >= (1 << 20),
       "must be at least 1048576 (Duktape needs 1 MiB of native stack)"},
      {"evaluator.compile_cache_entries", config.compile_cache_entries >= 1, "must be at least 1"},
      {"evaluator.isolation", config.isolation == "workers" || config.isolation == "in_process",
       "must be \"workers\" or \"in_process\""},
      {"evaluator.pin_workers", !config.pin_workers || config.isolation == "workers",
       "needs isolation: workers (in process there are no workers to pin)"},
      {"evaluator.worker_address_space_bytes",
       config.worker_address_space_bytes >= config.max_limits.memory_bytes + (256 << 20),
       "must exceed limits.max.memory_bytes by at least 268435456"},
      {"evaluator.worker_cpu_limit_ms", config.worker_cpu_limit >= absl::Seconds(10),
       "must be at least 10000 (a worker spends about a second starting)"},
      {"evaluator.compile_timeout_ms", config.compile_timeout > absl::ZeroDuration(),
       "must be positive"},
      {"evaluator.compile_memory_bytes", config.compile_memory_bytes >= kMinHeapBytes,
       "must be at least 1048576"},
      {"limits.default.timeout_ms", config.default_limits.timeout > absl::ZeroDuration(),
       "must be positive"},
      {"limits.default.memory_bytes", config.default_limits.memory_bytes >= kMinHeapBytes,
       "must be at least 1048576"},
      {"limits.default.max_output_bytes", config.default_limits.max_output_bytes >= 16,
       "must be at least 16"},
      {"server.tls", config.tls.cert_file.empty() == config.tls.key_file.empty(),
       "cert_file and key_file go together"},
      {"server.tls.client_ca_file",
       config.tls.client_ca_file.empty() || !config.tls.cert_file.empty(),
       "needs cert_file and key_file (mTLS is TLS with client certificates)"},
      {"auth.identity",
       config.auth.identity != IdentitySource::kClientCertificate ||
           !config.tls.client_ca_file.empty(),
       "client_certificate needs server.tls.client_ca_file to verify them"},
      {"auth.header", !config.auth.header.empty() &&
                          absl::AsciiStrToLower(config.auth.header) == config.auth.header,
       "must be a lower-case metadata key"},
      {"auth.callers",
       (config.auth.identity == IdentitySource::kNone) == config.auth.callers.empty(),
       "must list the callers when auth.identity is not none, and only then"},
  };
  for (const auto& rule : rules) {
    if (!rule.ok) {
      return absl::InvalidArgumentError(absl::StrCat("config: ", rule.key, ": ", rule.rule));
    }
  }
  return CheckLimitsWithinMaxima(config);
}

absl::StatusOr<ServerConfig> ParseConfig(absl::string_view yaml_text) {
  YAML::Node root;
  // yaml-cpp reports syntax errors by exception; this is the one place that catches them.
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: line ", e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": ", e.msg));
  }
  ServerConfig config;
  absl::Status status = ReadConfig(root, &config);
  if (!status.ok()) return status;
  status = ValidateConfig(config);
  if (!status.ok()) return status;
  return config;
}

absl::StatusOr<ServerConfig> LoadConfigFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("config file ", path, " cannot be read"));
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<ServerConfig> config = ParseConfig(text.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

}  // namespace evaluatecode::service
