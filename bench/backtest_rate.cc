// Backtest throughput vs the live EvaluateCode rate for the same script, in one run.
//
// Evaluates `--records` live with `--concurrency` callers (recording each response), then streams
// the same records through the Backtest RPC with that parallelism and the same code, and prints
// records per second of both as JSON. Talks only to 127.0.0.1.
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "evaluate/v1/evaluate.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, target, "", "127.0.0.1:PORT of the server.");
ABSL_FLAG(std::string, code, "", "The script file.");
ABSL_FLAG(std::string, input, "", "The input JSON file.");
ABSL_FLAG(int, records, 1000, "Evaluations to record, then backtest.");
ABSL_FLAG(int, concurrency, 2, "Live callers, and the backtest's parallelism.");

namespace {

std::string Read(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string target = absl::GetFlag(FLAGS_target);
  if (!absl::StartsWith(target, "127.0.0.1:")) {
    std::cerr << "backtest_rate: --target must be 127.0.0.1:PORT\n";
    return 2;
  }
  auto stub = evaluate::v1::EvaluateService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  evaluate::v1::EvaluateCodeRequest request;
  request.set_code(Read(absl::GetFlag(FLAGS_code)));
  if (!google::protobuf::util::JsonStringToMessage(Read(absl::GetFlag(FLAGS_input)),
                                                   request.mutable_input())
           .ok()) {
    std::cerr << "backtest_rate: bad --input\n";
    return 2;
  }
  const int n = absl::GetFlag(FLAGS_records);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);

  std::vector<evaluate::v1::RecordedEvaluation> records(n);
  std::atomic<int> next{0}, failed{0};
  const absl::Time live_start = absl::Now();
  std::vector<std::thread> callers;
  for (int t = 0; t < concurrency; ++t) {
    callers.emplace_back([&] {
      for (int i; (i = next++) < n;) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        records[i].set_record_id(absl::StrCat("r", i));
        *records[i].mutable_request() = request;
        if (!stub->EvaluateCode(&context, request, records[i].mutable_response()).ok()) ++failed;
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  const double live_seconds = absl::ToDoubleSeconds(absl::Now() - live_start);

  grpc::ClientContext context;
  auto stream = stub->Backtest(&context);
  evaluate::v1::BacktestRequest start;
  start.mutable_start()->set_code(request.code());
  start.mutable_start()->set_parallelism(concurrency);
  const absl::Time backtest_start = absl::Now();
  stream->Write(start);
  std::thread writer([&] {
    for (const evaluate::v1::RecordedEvaluation& record : records) {
      evaluate::v1::BacktestRequest message;
      *message.mutable_record() = record;
      if (!stream->Write(message)) break;
    }
    stream->WritesDone();
  });
  evaluate::v1::BacktestResponse response;
  int results = 0, changed = 0;
  while (stream->Read(&response)) {
    if (response.has_result()) {
      ++results;
      changed += response.result().result_changed() ? 1 : 0;
    }
  }
  writer.join();
  const grpc::Status status = stream->Finish();
  const double backtest_seconds = absl::ToDoubleSeconds(absl::Now() - backtest_start);

  const double live_rate = n / live_seconds;
  const double backtest_rate = results / backtest_seconds;
  std::cout << "{\"records\": " << n << ", \"concurrency\": " << concurrency
            << ", \"live_failed\": " << failed << ", \"live_per_second\": " << live_rate
            << ", \"backtest_results\": " << results << ", \"backtest_changed\": " << changed
            << ", \"backtest_ok\": " << (status.ok() ? "true" : "false")
            << ", \"backtest_per_second\": " << backtest_rate
            << ", \"ratio\": " << backtest_rate / live_rate << "}\n";
  return status.ok() && failed == 0 && results == n && changed == 0 ? 0 : 1;
}
