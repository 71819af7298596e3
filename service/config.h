#ifndef EVALUATECODE_SERVICE_CONFIG_H_
#define EVALUATECODE_SERVICE_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/connector_config.h"
#include "service/caller_authorizer.h"
#include "service/observability/decision_log.h"
#include "service/observability/metrics.h"
#include "service/tenant_quotas.h"

namespace evaluatecode::service {

// One set of per-evaluation limits (the server's defaults, or its maxima).
struct LimitValues {
  absl::Duration timeout;
  uint64_t memory_bytes = 0;
  uint32_t max_connector_calls = 0;
  uint64_t max_log_bytes = 0;
  uint64_t max_output_bytes = 0;
};

// The server's configuration: the YAML file (see deploy/config.example.yaml and docs/operations.md)
// with flags applied on top. Field defaults are the values used when a key is absent.
struct ServerConfig {
  // server:
  std::string listen_address = "127.0.0.1:50051";   // listen
  size_t max_message_bytes = 4 << 20;                  // max_message_bytes: per request and reply
  size_t max_code_bytes = 256 << 10;                   // max_code_bytes: cap on EvaluateCodeRequest.code
  absl::Duration keepalive_time = absl::Seconds(60);   // keepalive_time_ms
  absl::Duration keepalive_timeout = absl::Seconds(20);  // keepalive_timeout_ms
  // max_connection_age_ms: connections are closed gracefully after this, so clients re-resolve and
  // load spreads over new replicas; 0 = never.
  absl::Duration max_connection_age = absl::Minutes(5);
  absl::Duration max_connection_age_grace = absl::Seconds(30);  // max_connection_age_grace_ms
  // drain_grace_ms: on SIGTERM, how long in-flight evaluations may take before they are stopped.
  absl::Duration drain_grace = absl::Seconds(10);
  // tls: PEM files, re-read when they change (certificate rotation needs no restart). Without
  // cert_file the port is plaintext (for a mesh or local use).
  struct Tls {
    std::string cert_file;       // cert_file: the server's certificate chain
    std::string key_file;        // key_file: its private key
    std::string client_ca_file;  // client_ca_file: when set, clients must present a certificate
                                 // signed by this CA (mTLS); others fail the handshake
  } tls;
  // health_listen: HOST:PORT of a plaintext port serving only grpc.health.v1, for probes that cannot
  // present a client certificate when the main port requires mTLS; empty = none.
  std::string health_listen_address;

  // http_client: the one HTTP client every connector's calls go through. Calls past a cap wait
  // inside it (their deadline running), so with a vendor of latency L one host serves at most
  // max_host_connections / L calls per second.
  int http_max_host_connections = 128;   // max_host_connections (per host:port)
  int http_max_total_connections = 1024;  // max_total_connections

  // evaluator:
  // threads: evaluations in flight. With isolation "workers" an evaluation waiting for a worker or
  // a vendor holds no thread (a few evaluator threads only start evaluations), so I/O-bound
  // traffic can have many more in flight than cores; "in_process" runs one per evaluator thread.
  int evaluator_threads = 64;
  // workers: sandbox worker processes, the evaluations running at once (isolation "workers");
  // 0 = as many as threads, but at most one per CPU the server can use (UsableCpuCount: its
  // affinity and its cgroup's CPU quota).
  int evaluator_workers = 0;
  int queue_capacity = 256;                           // queue_capacity: waiting evaluations
  size_t evaluator_stack_bytes = 4 << 20;             // thread_stack_bytes (at least 1 MiB)
  size_t compile_cache_entries = 1024;                // compile_cache_entries
  absl::Duration compile_timeout = absl::Seconds(2);  // compile_timeout_ms
  size_t compile_memory_bytes = 64 << 20;             // compile_memory_bytes
  // isolation: "workers" runs scripts in supervised sandbox worker processes (`workers` of them);
  // "in_process" runs them on the evaluator threads themselves (for development and the CLI).
  std::string isolation = "workers";
  // pin_workers: keep each sandbox worker and its driver thread on one CPU of the server's own
  // (worker i on the i-th, round robin), and give a run to the worker on the CPU its request
  // arrived on when that one is idle. For a server that owns its CPUs (docs/operations.md).
  bool pin_workers = false;
  // worker_binary: the executable started as a worker; empty = this server's own binary.
  std::string worker_binary;
  // worker_kill_grace_ms: how long past its deadline a script may run inside a native built-in
  // before its worker is killed.
  absl::Duration worker_kill_grace = absl::Milliseconds(100);
  // write_ahead_patience_ms: under load, the next waiting evaluation is written to a worker behind
  // a run that follows a short one, and taken back for any worker if that run lasts longer than
  // this; 0: never written ahead.
  absl::Duration write_ahead_patience = absl::Milliseconds(1);
  size_t worker_address_space_bytes = size_t{4} << 30;  // worker_address_space_bytes (RLIMIT_AS)
  // worker_cpu_limit_ms: RLIMIT_CPU of each worker (whole seconds, rounded up), a backstop should
  // the supervisor fail to stop a runaway; a worker past 90 % of it is replaced between
  // evaluations, so a healthy one never meets it.
  absl::Duration worker_cpu_limit = absl::Hours(1);
  // core_js / typescript_js: the npm files of the script runtime (core-js-bundle's minified.js and
  // typescript's lib/typescript.js); empty = the copies in the binary's Bazel runfiles.
  std::string core_js_path;
  std::string typescript_js_path;

  // limits: default: and limits: max:
  LimitValues default_limits{absl::Seconds(1), 32 << 20, 10, 64 << 10, 1 << 20};
  LimitValues max_limits{absl::Seconds(30), 256 << 20, 50, 1 << 20, 4 << 20};

  // logging:
  std::string log_level = "info";  // level: trace, debug, info, warn, error, critical or off

  // connectors: the vendor APIs scripts may call (see connectors/config_parser.h).
  std::vector<connectors::ConnectorConfig> connectors;

  // metrics: Prometheus /metrics on its own address (see service/observability/).
  observability::MetricsOptions metrics;
  // decision_log: the audit record of every evaluation (see service/observability/).
  observability::DecisionLogOptions decision_log;

  // quotas: per-tenant concurrency and rate (default: for every tenant; tenants: by name).
  QuotaConfig quotas;

  // auth: who may call, and with which connectors and quotas (see service/caller_authorizer.h).
  AuthConfig auth;
};

// Parses YAML config text. An unknown key, a value of the wrong type or an inconsistent setting is
// kInvalidArgument with a message naming the key, e.g. "config: server.max_message_bytes: …".
absl::StatusOr<ServerConfig> ParseConfig(absl::string_view yaml_text);

// Reads and parses the file at `path` (kNotFound / kInvalidArgument naming the file).
absl::StatusOr<ServerConfig> LoadConfigFile(const std::string& path);

// Checks cross-field rules (defaults within maxima, sane minima). ParseConfig calls it; call it
// again after overriding fields from flags.
absl::Status ValidateConfig(const ServerConfig& config);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_CONFIG_H_
