// evalctl: run, check and call EvaluateCode scripts from a terminal, with the server's own engine.
//
//   evalctl run SCRIPT [--input input.json] [--fixtures calls.json] [--config config.yaml]
//   evalctl check SCRIPT [--config config.yaml]
//   evalctl call SCRIPT --server HOST:PORT [--input input.json]
//   evalctl types [--config config.yaml] [--fixtures calls.json]
//   evalctl replay RECORD.json --code SCRIPT
//   evalctl backtest --code SCRIPT --records RECORDS.jsonl --server HOST:PORT [--diffs OUT.jsonl]
//
// `replay` re-runs one recorded evaluation (a decision record, or a RecordedEvaluation) in replay
// mode — recorded clock, seed and connector responses, no network — and says whether the result,
// decision and logs are the same. `backtest` streams a file of records to a server's Backtest RPC
// with candidate code, prints the summary table and writes the changed records' results.
//
// `run` evaluates in this process (in-process sandbox, same compiler, runtime and limits as the
// server) and prints what the server would answer: the EvaluateCodeResponse as JSON, or the error
// as {"code", "message", "details"}. Vendor calls are answered from --fixtures (recorded
// connector calls) when given, else by the connectors in --config. Exit code: 0 on success, 1 when
// the evaluation (or check) failed, 2 on a usage or set-up error.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/builtin_connector_types.h"
#include "connectors/curl_http_client.h"
#include "connectors/http_connector_gateway.h"
#include "evaluate/v1/evaluate.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/config.h"
#include "service/error_status.h"
#include "service/evaluator.h"
#include "service/id_generator.h"
#include "service/recorded_connector_gateway.h"
#include "service/request_validator.h"
#include "service/sandbox_factory.h"
#include "service/script_api.h"
#include "service/typescript_declarations.h"
#include "tools/evalctl/recorded_evaluation.h"

ABSL_FLAG(std::string, input, "", "JSON file with the script's input (default: {}).");
ABSL_FLAG(std::string, fixtures, "",
          "JSON file of recorded connector calls that answer the script's vendor calls.");
ABSL_FLAG(std::string, config, "", "Server config (limits, connectors); default: built-in.");
ABSL_FLAG(std::string, server, "", "HOST:PORT of a running server (for `call`).");
ABSL_FLAG(std::string, connectors, "",
          "Comma-separated connectors the evaluation may call (default: all available).");
ABSL_FLAG(std::string, tenant, "", "The tenant label of the evaluation.");
ABSL_FLAG(uint32_t, timeout_ms, 0, "The evaluation's timeout (default: the config's).");
ABSL_FLAG(std::string, now, "",
          "The script's clock, RFC 3339 (e.g. 2026-11-20T10:14:03Z); default: the current time.");
ABSL_FLAG(uint64_t, random_seed, 0, "Seed of Math.random(); default: a random one.");
ABSL_FLAG(std::string, code, "", "The script to replay or backtest (replay, backtest).");
ABSL_FLAG(std::string, records, "", "JSON lines of recorded evaluations (backtest).");
ABSL_FLAG(std::string, diffs, "", "Where backtest writes the changed records' results.");
ABSL_FLAG(uint32_t, parallelism, 0, "Replays a backtest runs at once (0: the server's choice).");

namespace evaluatecode::evalctl {
namespace {

using evaluate::v1::EvaluateCodeRequest;
using evaluate::v1::EvaluateCodeResponse;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

// What a client sees of one EvaluateCode call, as JSON: the response, or the error with its
// EvaluationError detail. `run` and `call` print through this one function.
std::string Render(const grpc::Status& status, const EvaluateCodeResponse& response) {
  if (status.ok()) return ToJson(response);
  evaluate::v1::EvaluationError details;
  google::rpc::Status rpc_status;
  if (rpc_status.ParseFromString(status.error_details())) {
    for (const google::protobuf::Any& any : rpc_status.details()) any.UnpackTo(&details);
  }
  std::string details_json = ToJson(details);
  while (!details_json.empty() && details_json.back() == '\n') details_json.pop_back();
  std::string message = ToJson([&] {
    google::protobuf::Value v;
    v.set_string_value(status.error_message());
    return v;
  }());
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return absl::StrCat(
      "{\n \"code\": \"",
      absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
      "\",\n \"message\": ", message, ",\n \"details\": ", details_json, "\n}\n");
}

absl::StatusOr<service::ServerConfig> LoadConfig() {
  service::ServerConfig config;
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<service::ServerConfig> loaded = service::LoadConfigFile(path);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  config.isolation = "in_process";  // the CLI runs the engine itself
  return config;
}

// The connector layer for `run`: fixtures when given, else the config's connectors.
struct Connectors {
  std::unique_ptr<connectors::HttpClient> http_client;
  std::unique_ptr<connectors::ConnectorTypeRegistry> types;
  std::unique_ptr<connectors::SecretStore> secrets;
  std::unique_ptr<connectors::RandomSource> random;
  std::unique_ptr<connectors::ConnectorGateway> gateway;
};

absl::StatusOr<Connectors> NewConnectors(const service::ServerConfig& config,
                                         const TimeSource& time_source) {
  Connectors out;
  if (const std::string path = absl::GetFlag(FLAGS_fixtures); !path.empty() ||
                                                               config.connectors.empty()) {
    std::vector<evaluate::v1::ConnectorCall> recordings;
    if (!path.empty()) {
      absl::StatusOr<std::string> text = ReadFile(path);
      if (!text.ok()) return text.status();
      absl::StatusOr<std::vector<evaluate::v1::ConnectorCall>> parsed =
          service::ParseRecordings(*text);
      if (!parsed.ok()) return parsed.status();
      recordings = *std::move(parsed);
    }
    out.gateway = std::make_unique<service::RecordedConnectorGateway>(std::move(recordings));
    return out;
  }
  absl::StatusOr<std::unique_ptr<connectors::HttpClient>> http =
      connectors::NewCurlHttpClient({&time_source});
  if (!http.ok()) return http.status();
  out.http_client = *std::move(http);
  out.types = connectors::NewBuiltinConnectorTypes();
  out.secrets = connectors::NewFileSecretStore();
  out.random = connectors::NewRandomSource();
  connectors::GatewayOptions options;
  options.connectors = config.connectors;
  options.types = out.types.get();
  options.http_client = out.http_client.get();
  options.secrets = out.secrets.get();
  options.time_source = &time_source;
  options.random = out.random.get();
  absl::StatusOr<std::unique_ptr<connectors::ConnectorGateway>> gateway =
      connectors::NewConnectorGateway(std::move(options));
  if (!gateway.ok()) return gateway.status();
  out.gateway = *std::move(gateway);
  return out;
}

absl::StatusOr<EvaluateCodeRequest> BuildRequest(const std::string& script_path,
                                                 const connectors::ConnectorGateway* gateway) {
  EvaluateCodeRequest request;
  absl::StatusOr<std::string> code = ReadFile(script_path);
  if (!code.ok()) return code.status();
  request.set_code(*std::move(code));
  if (const std::string path = absl::GetFlag(FLAGS_input); !path.empty()) {
    absl::StatusOr<std::string> input = ReadFile(path);
    if (!input.ok()) return input.status();
    if (!google::protobuf::util::JsonStringToMessage(*input, request.mutable_input()).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
    }
  }
  if (const std::string names = absl::GetFlag(FLAGS_connectors); !names.empty()) {
    for (absl::string_view name : absl::StrSplit(names, ',', absl::SkipEmpty())) {
      request.add_connectors(std::string(name));
    }
  } else if (gateway != nullptr) {
    for (const connectors::ConnectorDescription& c : gateway->ListConnectors()) {
      request.add_connectors(c.name);
    }
  }
  if (const std::string tenant = absl::GetFlag(FLAGS_tenant); !tenant.empty()) {
    (*request.mutable_labels())["tenant"] = tenant;
  }
  request.mutable_limits()->set_timeout_ms(absl::GetFlag(FLAGS_timeout_ms));
  if (const std::string now = absl::GetFlag(FLAGS_now); !now.empty()) {
    if (!google::protobuf::util::TimeUtil::FromString(now, request.mutable_now())) {
      return absl::InvalidArgumentError(absl::StrCat("--now: not an RFC 3339 time: ", now));
    }
  }
  request.set_random_seed(absl::GetFlag(FLAGS_random_seed));
  return request;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "evalctl: %s\n", std::string(status.message()).c_str());
  return 2;
}

int Run(const std::string& script) {
  absl::StatusOr<service::ServerConfig> config = LoadConfig();
  if (!config.ok()) return Fail(config.status());
  RealTimeSource time_source;
  absl::StatusOr<Connectors> connectors = NewConnectors(*config, time_source);
  if (!connectors.ok()) return Fail(connectors.status());
  // The recorded connectors are part of the config the validator checks requests against.
  for (const connectors::ConnectorDescription& c : connectors->gateway->ListConnectors()) {
    if (std::none_of(config->connectors.begin(), config->connectors.end(),
                     [&c](const connectors::ConnectorConfig& known) { return known.name == c.name; })) {
      connectors::ConnectorConfig recorded;
      recorded.name = c.name;
      config->connectors.push_back(recorded);
    }
  }
  absl::StatusOr<std::unique_ptr<sandbox::Sandbox>> sandbox = service::NewSandbox(
      *config, service::ScriptApiOf(*connectors->gateway), time_source, nullptr);
  if (!sandbox.ok()) return Fail(sandbox.status());
  absl::StatusOr<EvaluateCodeRequest> request = BuildRequest(script, connectors->gateway.get());
  if (!request.ok()) return Fail(request.status());

  service::RequestValidator validator(*config);
  service::Evaluator evaluator(**sandbox, *connectors->gateway, time_source);
  EvaluateCodeResponse response;
  std::optional<evaluate::v1::EvaluationError> error;
  auto validated = validator.Validate(*request);
  if (auto* invalid = std::get_if<evaluate::v1::EvaluationError>(&validated)) {
    error = std::move(*invalid);
  } else {
    std::unique_ptr<service::IdGenerator> ids = service::NewRandomIdGenerator();
    service::CallContext call{ids->NewId(), time_source.Now()};
    call.random_seed = ids->NewSeed();
    error = evaluator.Evaluate(*request, std::get<service::ResolvedLimits>(validated), call,
                               &response);
  }
  const grpc::Status status = error ? service::ToGrpcStatus(*error) : grpc::Status::OK;
  std::cout << Render(status, response);
  return status.ok() ? 0 : 1;
}

int Check(const std::string& script) {
  absl::StatusOr<service::ServerConfig> config = LoadConfig();
  if (!config.ok()) return Fail(config.status());
  RealTimeSource time_source;
  // The connectors are not called, only declared for the type check.
  absl::StatusOr<Connectors> connectors = NewConnectors(*config, time_source);
  if (!connectors.ok()) return Fail(connectors.status());
  absl::StatusOr<std::unique_ptr<sandbox::Sandbox>> sandbox = service::NewSandbox(
      *config, service::ScriptApiOf(*connectors->gateway), time_source, nullptr);
  if (!sandbox.ok()) return Fail(sandbox.status());
  absl::StatusOr<std::string> code = ReadFile(script);
  if (!code.ok()) return Fail(code.status());
  service::RecordedConnectorGateway no_connectors({});
  service::Evaluator evaluator(**sandbox, no_connectors, time_source);
  evaluate::v1::CompileCodeRequest request;
  request.set_code(*code);
  evaluate::v1::CompileCodeResponse response;
  std::optional<evaluate::v1::EvaluationError> error = evaluator.Compile(request, &response);
  if (error.has_value()) return Fail(absl::InternalError(error->message()));
  std::cout << ToJson(response);
  return response.valid() ? 0 : 1;
}

int Call(const std::string& script) {
  const std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty()) return Fail(absl::InvalidArgumentError("call needs --server HOST:PORT"));
  absl::StatusOr<EvaluateCodeRequest> request = BuildRequest(script, nullptr);
  if (!request.ok()) return Fail(request.status());
  auto stub = evaluate::v1::EvaluateService::NewStub(
      grpc::CreateChannel(server, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  EvaluateCodeResponse response;
  const grpc::Status status = stub->EvaluateCode(&context, *request, &response);
  std::cout << Render(status, response);
  return status.ok() ? 0 : 1;
}

// Evaluates `request` in this process; the outcome as a client would see it.
struct LocalOutcome {
  grpc::Status status;
  EvaluateCodeResponse response;
};

absl::StatusOr<LocalOutcome> EvaluateLocally(service::ServerConfig config,
                                             const EvaluateCodeRequest& request,
                                             connectors::ConnectorGateway& gateway) {
  RealTimeSource time_source;
  absl::StatusOr<std::unique_ptr<sandbox::Sandbox>> sandbox =
      service::NewSandbox(config, service::ScriptApiOf(gateway), time_source, nullptr);
  if (!sandbox.ok()) return sandbox.status();
  service::RequestValidator validator(config);
  service::Evaluator evaluator(**sandbox, gateway, time_source);
  LocalOutcome outcome;
  std::optional<evaluate::v1::EvaluationError> error;
  auto validated = validator.Validate(request);
  if (auto* invalid = std::get_if<evaluate::v1::EvaluationError>(&validated)) {
    error = std::move(*invalid);
  } else {
    std::unique_ptr<service::IdGenerator> ids = service::NewRandomIdGenerator();
    service::CallContext call{ids->NewId(), time_source.Now()};
    call.random_seed = ids->NewSeed();
    error = evaluator.Evaluate(request, std::get<service::ResolvedLimits>(validated), call,
                               &outcome.response);
  }
  outcome.status = error ? service::ToGrpcStatus(*error) : grpc::Status::OK;
  return outcome;
}

int Replay(const std::string& record_path) {
  absl::StatusOr<std::string> line = ReadFile(record_path);
  if (!line.ok()) return Fail(line.status());
  absl::StatusOr<evaluate::v1::RecordedEvaluation> record = ParseRecordedEvaluation(*line);
  if (!record.ok()) return Fail(record.status());
  const std::string code_path = absl::GetFlag(FLAGS_code);
  if (code_path.empty()) {
    return Fail(absl::InvalidArgumentError(
        "replay needs --code SCRIPT: records keep the code's hash, not the code"));
  }
  absl::StatusOr<std::string> code = ReadFile(code_path);
  if (!code.ok()) return Fail(code.status());
  absl::StatusOr<service::ServerConfig> config = LoadConfig();
  if (!config.ok()) return Fail(config.status());

  const bool failed = record->has_error();
  EvaluateCodeRequest request = record->request();
  request.set_code(*code);
  *request.mutable_now() =
      failed ? record->error().evaluation_time() : record->response().evaluation_time();
  request.set_random_seed(failed ? record->error().random_seed()
                                 : record->response().random_seed());
  *request.mutable_replay()->mutable_connector_calls() =
      failed ? record->error().connector_calls() : record->response().connector_calls();
  service::RecordedConnectorGateway unused({});
  absl::StatusOr<LocalOutcome> outcome = EvaluateLocally(*config, request, unused);
  if (!outcome.ok()) return Fail(outcome.status());
  std::cout << Render(outcome->status, outcome->response);

  // Compared as messages: a Struct's serialized bytes depend on its map's iteration order.
  const bool same =
      !failed && outcome->status.ok() &&
      google::protobuf::util::MessageDifferencer::Equals(outcome->response.result(),
                                                         record->response().result()) &&
      google::protobuf::util::MessageDifferencer::Equals(outcome->response.decision(),
                                                         record->response().decision());
  std::fprintf(stderr, "evalctl: replay %s the recorded %s\n", same ? "matches" : "differs from",
               failed ? "error" : "result and decision");
  return same ? 0 : 1;
}

int Backtest() {
  const std::string server = absl::GetFlag(FLAGS_server);
  const std::string code_path = absl::GetFlag(FLAGS_code);
  const std::string records_path = absl::GetFlag(FLAGS_records);
  if (server.empty() || code_path.empty() || records_path.empty()) {
    return Fail(absl::InvalidArgumentError(
        "backtest needs --code SCRIPT --records RECORDS.jsonl --server HOST:PORT"));
  }
  absl::StatusOr<std::string> code = ReadFile(code_path);
  if (!code.ok()) return Fail(code.status());
  std::ifstream records(records_path);
  if (!records) return Fail(absl::NotFoundError(absl::StrCat("cannot read ", records_path)));

  auto stub = evaluate::v1::EvaluateService::NewStub(
      grpc::CreateChannel(server, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto stream = stub->Backtest(&context);
  evaluate::v1::BacktestRequest start;
  start.mutable_start()->set_code(*code);
  start.mutable_start()->set_parallelism(absl::GetFlag(FLAGS_parallelism));
  stream->Write(start);
  absl::Status read_error;
  std::thread writer([&] {
    std::string line;
    for (int number = 1; std::getline(records, line); ++number) {
      if (line.empty()) continue;
      absl::StatusOr<evaluate::v1::RecordedEvaluation> record = ParseRecordedEvaluation(line);
      if (!record.ok()) {
        read_error = absl::InvalidArgumentError(
            absl::StrCat(records_path, ":", number, ": ", record.status().message()));
        context.TryCancel();
        break;
      }
      evaluate::v1::BacktestRequest message;
      *message.mutable_record() = *std::move(record);
      if (!stream->Write(message)) break;
    }
    stream->WritesDone();
  });
  std::ofstream diffs;
  if (const std::string path = absl::GetFlag(FLAGS_diffs); !path.empty()) diffs.open(path);
  evaluate::v1::BacktestResponse response;
  evaluate::v1::BacktestSummary summary;
  while (stream->Read(&response)) {
    if (response.has_summary()) {
      summary = response.summary();
    } else if (response.result().result_changed() && diffs.is_open()) {
      std::string json;
      google::protobuf::util::MessageToJsonString(response.result(), &json);
      diffs << json << "\n";
    }
  }
  writer.join();
  const grpc::Status status = stream->Finish();
  if (!read_error.ok()) return Fail(read_error);
  if (!status.ok()) return Fail(absl::UnavailableError(status.error_message()));

  std::printf("records %u, changed %u\n\n%-10s -> %-10s %8s\n", summary.records(),
              summary.changed(), "old", "new", "count");
  for (const auto& transition : summary.transitions()) {
    std::printf("%-10s -> %-10s %8u\n",
                evaluate::v1::Decision::Outcome_Name(transition.old_outcome()).c_str(),
                evaluate::v1::Decision::Outcome_Name(transition.new_outcome()).c_str(),
                transition.count());
  }
  for (const auto& [reason, count] : summary.errors_by_reason()) {
    std::printf("error %-30s %8u\n", reason.c_str(), count);
  }
  std::printf("engine time %s\n",
              google::protobuf::util::TimeUtil::ToString(summary.engine_time()).c_str());
  return 0;
}

int Types() {
  absl::StatusOr<service::ServerConfig> config = LoadConfig();
  if (!config.ok()) return Fail(config.status());
  RealTimeSource time_source;
  absl::StatusOr<Connectors> connectors = NewConnectors(*config, time_source);
  if (!connectors.ok()) return Fail(connectors.status());
  std::cout << service::TypeScriptDeclarations(connectors->gateway->ListConnectors());
  return 0;
}

}  // namespace
}  // namespace evaluatecode::evalctl

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "evalctl run|check|call SCRIPT [--input F] [--fixtures F] [--config F] [--server H:P]\n"
      "       evalctl types [--config F] [--fixtures F]\n"
      "       evalctl replay RECORD.json --code SCRIPT\n"
      "       evalctl backtest --code SCRIPT --records RECORDS.jsonl --server H:P [--diffs F]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string command = args.size() > 1 ? args[1] : "";
  if (command == "types") return evaluatecode::evalctl::Types();
  if (command == "backtest") return evaluatecode::evalctl::Backtest();
  if (command == "replay" && args.size() == 3) return evaluatecode::evalctl::Replay(args[2]);
  if (args.size() != 3 || (command != "run" && command != "check" && command != "call")) {
    std::fprintf(stderr, "usage: evalctl run|check|call SCRIPT [flags]  (evalctl --help)\n");
    return 2;
  }
  if (command == "run") return evaluatecode::evalctl::Run(args[2]);
  if (command == "check") return evaluatecode::evalctl::Check(args[2]);
  return evaluatecode::evalctl::Call(args[2]);
}
