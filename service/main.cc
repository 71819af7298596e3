// evaluate_server: flags and config in, a running server out, until SIGTERM or SIGINT.
#include <curl/curl.h>

#include <csignal>
#include <optional>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "service/config.h"
#include "service/logging.h"
#include "service/server.h"
#include "service/worker_mode.h"

ABSL_FLAG(std::string, config, "",
          "Path of the YAML config file (see deploy/config.example.yaml); built-in defaults if "
          "empty.");
ABSL_FLAG(std::string, listen, "", "HOST:PORT to listen on; overrides server.listen.");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT to serve /metrics on; overrides metrics.listen (port 0 picks a free port).");

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "evaluate_server: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using evaluatecode::service::LogEvent;
  // Debian builds abseil without NDEBUG, which leaves Mutex deadlock detection on: every lock and
  // unlock maintained a lock graph (≈ 1.5 % of the server's CPU under W1 load, perf). Tests
  // keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage("Runs the EvaluateCode gRPC service.");
  absl::ParseCommandLine(argc, argv);
  if (std::optional<int> exit_code = evaluatecode::service::MaybeRunAsSandboxWorker()) {
    return *exit_code;
  }

  // libcurl's global state must be set up before any thread starts (the connector layer's loop).
  curl_global_init(CURL_GLOBAL_DEFAULT);

  // Signals are taken synchronously by this thread: block them before any other thread starts, so
  // that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  evaluatecode::service::ServerConfig config;
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<evaluatecode::service::ServerConfig> loaded =
        evaluatecode::service::LoadConfigFile(path);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    config = *std::move(loaded);
  }
  if (const std::string listen = absl::GetFlag(FLAGS_listen); !listen.empty()) {
    config.listen_address = listen;
  }
  if (const std::string listen = absl::GetFlag(FLAGS_metrics_listen); !listen.empty()) {
    config.metrics.listen_address = listen;
  }
  auto logger = evaluatecode::service::NewJsonLogger(config.log_level);
  if (!logger.ok()) return Fail(std::string(logger.status().message()));

  auto server = evaluatecode::service::Server::Start(config, *logger);
  if (!server.ok()) return Fail(std::string(server.status().message()));
  const std::string host = config.listen_address.substr(0, config.listen_address.rfind(':'));
  nlohmann::json listening = {{"type", "listening"},
                               {"address", host + ":" + std::to_string((*server)->port())},
                               {"port", (*server)->port()},
                               {"metrics_port", (*server)->metrics_port()}};
  if (!config.health_listen_address.empty()) listening["health_port"] = (*server)->health_port();
  LogEvent(**logger, spdlog::level::info, listening);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogEvent(**logger, spdlog::level::info, {{"type", "signal"}, {"signal", signal_number}});
  (*server)->Shutdown();
  return 0;
}
