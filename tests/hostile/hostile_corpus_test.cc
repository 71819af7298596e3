// Every script of the hostile corpus (tests/hostile/corpus/*.js) against the real server with
// sandbox workers, while a stream of good evaluations runs beside them. Each hostile script must
// get its expected answer (the first comment lines say which) within its deadline + 50 ms, plus the
// worker kill grace where a native built-in has to be killed; every good evaluation must succeed
// with the right decision.
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::evaluate::v1::Decision;
using ::evaluate::v1::EvaluateCodeRequest;
using ::evaluate::v1::EvaluateCodeResponse;

constexpr absl::Duration kKillGrace = absl::Milliseconds(100);
constexpr absl::Duration kMargin = absl::Milliseconds(50);

std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/evaluatecode/", path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

struct HostileCase {
  std::string name;
  std::string code;
  std::string expect;  // an ErrorInfo reason, or "OK"
  std::string limits_json;
  bool native = false;  // stopped by killing the worker
  std::string result_json;
};

std::string Header(const std::string& code, const std::string& key) {
  std::smatch match;
  if (std::regex_search(code, match, std::regex("// " + key + ": (.*)\n"))) return match[1];
  return "";
}

std::vector<HostileCase> LoadCorpus() {
  const std::string directory = Runfile("tests/hostile/corpus");
  std::vector<std::string> names;
  DIR* dir = opendir(directory.c_str());
  while (dirent* entry = dir != nullptr ? readdir(dir) : nullptr) {
    const std::string name = entry->d_name;
    if (name.size() > 3 && name.substr(name.size() - 3) == ".js") names.push_back(name);
  }
  if (dir != nullptr) closedir(dir);
  std::sort(names.begin(), names.end());
  std::vector<HostileCase> cases;
  for (const std::string& name : names) {
    HostileCase c;
    c.name = name;
    c.code = ReadFile(directory + "/" + name);
    c.expect = Header(c.code, "expect");
    c.limits_json = Header(c.code, "limits");
    c.native = Header(c.code, "bound") == "native";
    c.result_json = Header(c.code, "result");
    cases.push_back(std::move(c));
  }
  return cases;
}

// The good stream: the example decision script over the sample inputs, checked every time.
class GoodStream {
 public:
  explicit GoodStream(evaluate::v1::EvaluateService::Stub& stub) : stub_(stub) {
    const std::string code = ReadFile(Runfile("examples/document-selfie-decision.js"));
    const std::pair<const char*, Decision::Outcome> samples[] = {
        {"clean-approve", Decision::APPROVE},
        {"selfie-mismatch", Decision::REVIEW},
        {"watchlist-hit", Decision::DECLINE}};
    for (const auto& [name, outcome] : samples) {
      EvaluateCodeRequest request = testing::MakeRequest(
          code, ReadFile(Runfile(absl::StrCat("examples/inputs/", name, ".json"))), 2000);
      (*request.mutable_labels())["tenant"] = "good-tenant";
      requests_.push_back({request, outcome});
    }
    thread_ = std::thread([this] { Run(); });
  }

  // Stops the stream; returns {succeeded, failed}.
  std::pair<int, int> Stop() {
    stop_ = true;
    thread_.join();
    return {succeeded_, failed_};
  }

 private:
  void Run() {
    for (size_t i = 0; !stop_; ++i) {
      const auto& [request, outcome] = requests_[i % requests_.size()];
      EvaluateCodeResponse response;
      grpc::Status status = testing::Evaluate(stub_, request, &response, 5000);
      if (status.ok() && response.decision().outcome() == outcome) {
        ++succeeded_;
      } else {
        ++failed_;
        ADD_FAILURE() << "good evaluation failed: " << status.error_message();
      }
    }
  }

  evaluate::v1::EvaluateService::Stub& stub_;
  std::vector<std::pair<EvaluateCodeRequest, Decision::Outcome>> requests_;
  std::atomic<bool> stop_{false};
  int succeeded_ = 0;
  int failed_ = 0;
  std::thread thread_;
};

TEST(HostileCorpusTest, EveryScriptGetsItsAnswerInTimeWhileGoodEvaluationsSucceed) {
  std::vector<HostileCase> corpus = LoadCorpus();
  ASSERT_GE(corpus.size(), 60u);

  service::ServerConfig config = testing::TestConfig();
  config.evaluator_threads = 3;  // hostile cases one at a time, the good stream beside them
  config.worker_kill_grace = kKillGrace;
  testing::TestServer server(config);
  GoodStream good(server.stub());

  for (const HostileCase& c : corpus) {
    SCOPED_TRACE(c.name);
    EvaluateCodeRequest request = testing::MakeRequest(c.code);
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(c.limits_json, request.mutable_limits()).ok())
        << c.limits_json;
    (*request.mutable_labels())["tenant"] = "hostile-tenant";
    const absl::Duration timeout = absl::Milliseconds(request.limits().timeout_ms());

    EvaluateCodeResponse response;
    const absl::Time start = absl::Now();
    grpc::Status status = testing::Evaluate(server.stub(), request, &response,
                                            absl::ToInt64Milliseconds(timeout) + 5000);
    const absl::Duration elapsed = absl::Now() - start;

    if (c.expect == "OK") {
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!c.result_json.empty()) {
        std::string result;
        ASSERT_TRUE(google::protobuf::util::MessageToJsonString(response.result(), &result).ok());
        EXPECT_EQ(result, c.result_json);
      }
    } else {
      EXPECT_EQ(testing::DetailsOf(status).info.reason(), c.expect) << status.error_message();
    }
    const absl::Duration bound = timeout + kMargin + (c.native ? kKillGrace : absl::ZeroDuration());
    EXPECT_LE(elapsed, bound);
  }

  const auto [succeeded, failed] = good.Stop();
  EXPECT_EQ(failed, 0);
  EXPECT_GT(succeeded, static_cast<int>(corpus.size()));
}

}  // namespace
}  // namespace evaluatecode
