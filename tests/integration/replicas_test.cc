// Three replicas of the server binary behind one round_robin client channel: the load spreads over
// all of them, and SIGKILLing one under load leaves every call with exactly one answer.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/metrics_scrape.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::evaluate::v1::EvaluateCodeRequest;
using ::evaluate::v1::EvaluateCodeResponse;
using ::evaluate::v1::EvaluateService;
using ::testing::ElementsAre;
using ::testing::Gt;
using ::testing::Pair;
using testing::SampleValue;
using testing::ScrapeMetrics;
using testing::ServerProcess;

constexpr int kReplicas = 3;
constexpr int kCallsInFlight = 32;
constexpr absl::Duration kCallDeadline = absl::Seconds(5);
// Every call has an answer by its deadline; this covers the callback's scheduling on a busy host.
constexpr absl::Duration kAnswerGrace = absl::Seconds(2);
constexpr absl::Duration kLoadBeforeKill = absl::Seconds(2);
constexpr absl::Duration kLoadAfterKill = absl::Seconds(2);
// A bound on how long the client may go on sending calls to a replica whose process has exited
// (its sockets closed), until it reads the connection's close; generous for a loaded host. Counted
// from the exit, not the SIGKILL: the kernel tears the process down first, and the connection
// stays open meanwhile. Measured in 20 runs: exit seen 10 to 33 ms after the SIGKILL, no call
// sent to the victim after it.
constexpr absl::Duration kClientDropsTheVictimWithin = absl::Milliseconds(500);

// About 10 ms of work (the script's clock stands still, so it counts iterations): long enough that
// every replica holds running and queued calls at any moment of the load.
constexpr char kDecisionScript[] =
    "var x = 0; for (var i = 0; i < 1.5e5; i++) { x += i % 7; }"
    " return {decision: x % 2 ? 'approve' : 'decline', reasons: []};";

absl::StatusOr<ServerProcess> StartReplica(int index) {
  const std::string directory = std::getenv("TEST_TMPDIR");
  const std::string config_path = absl::StrCat(directory, "/replica", index, ".yaml");
  FILE* file = std::fopen(config_path.c_str(), "w");
  if (file == nullptr) return absl::InternalError(absl::StrCat("cannot write ", config_path));
  // Decision records go to a file: on stdout they would fill the capture pipe nobody reads
  // during the load and block the replica.
  std::fputs(
      absl::StrCat("decision_log: {sink: file, path: ", directory, "/replica", index, ".jsonl}\n")
          .c_str(),
      file);
  std::fclose(file);
  return ServerProcess::Start(
      {"--config", config_path, "--listen", "127.0.0.1:0", "--metrics_listen", "127.0.0.1:0"});
}

// A replica's EvaluateCode counters, from one scrape of its /metrics.
struct EvaluateCodeCounts {
  double received = 0;
  double answered_ok = 0;
  double open = 0;  // arrived, queued or running, not yet answered (the in-flight gauge)
};

EvaluateCodeCounts CountsOf(const ServerProcess& replica) {
  const std::string exposition = ScrapeMetrics(replica.metrics_port());
  return {SampleValue(exposition, R"(evaluatecode_rpcs_received_total{method="EvaluateCode"})"),
          SampleValue(exposition,
                      R"(evaluatecode_rpcs_handled_total{code="OK",method="EvaluateCode"})"),
          SampleValue(exposition, "evaluatecode_evaluations_in_flight")};
}

// One call as the client saw it end.
struct Answer {
  absl::Time issued;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string peer;  // "ipv4:127.0.0.1:<port>" of the replica the call went to
};

// Keeps `calls_in_flight` EvaluateCode calls of `request` going through the callback API, each
// with kCallDeadline, issuing the next one as each is answered, until stopped. Thread-safe.
class SteadyLoad {
 public:
  SteadyLoad(EvaluateService::Stub& stub, EvaluateCodeRequest request, int calls_in_flight)
      : stub_(stub), request_(std::move(request)) {
    for (int i = 0; i < calls_in_flight; ++i) {
      Call* call;
      {
        absl::MutexLock lock(&mu_);
        call = NewCallLockHeld();
      }
      Start(call);
    }
  }

  // The calls' contexts live here until gRPC has answered them, which their deadline bounds.
  ~SteadyLoad() {
    if (!StopAndAwaitAnswers(kCallDeadline + kAnswerGrace)) {
      std::fprintf(stderr, "calls still unanswered past their deadline\n");
      std::abort();
    }
  }

  // Issues no more calls; waits up to `timeout` for every issued call to be answered. True if all
  // were.
  bool StopAndAwaitAnswers(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    return mu_.AwaitWithTimeout(absl::Condition(this, &SteadyLoad::AllAnsweredLockHeld), timeout);
  }

  int issued() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(calls_.size());
  }

  std::vector<Answer> answers() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    std::vector<Answer> answers;
    for (const std::unique_ptr<Call>& call : calls_) {
      if (call->answered) answers.push_back(call->answer);
    }
    return answers;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    EvaluateCodeResponse response;
    Answer answer;
    bool answered = false;
  };

  // The next call, counted as issued; nullptr once stopping.
  Call* NewCallLockHeld() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (stopping_) return nullptr;
    Call* call = calls_.emplace_back(std::make_unique<Call>()).get();
    call->answer.issued = absl::Now();
    return call;
  }

  // The callback takes the next call in the same critical section that records the answer: once
  // every issued call is answered, no callback touches this object again.
  void Start(Call* call) ABSL_LOCKS_EXCLUDED(mu_) {
    call->context.set_deadline(absl::ToChronoTime(call->answer.issued + kCallDeadline));
    stub_.async()->EvaluateCode(&call->context, &request_, &call->response,
                                [this, call](grpc::Status status) {
                                  const std::string peer = call->context.peer();
                                  Call* next;
                                  {
                                    absl::MutexLock lock(&mu_);
                                    call->answer.code = status.error_code();
                                    call->answer.peer = peer;
                                    call->answered = true;
                                    ++answered_;
                                    next = NewCallLockHeld();
                                  }
                                  if (next != nullptr) Start(next);
                                });
  }

  bool AllAnsweredLockHeld() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return answered_ == static_cast<int>(calls_.size());
  }

  EvaluateService::Stub& stub_;
  const EvaluateCodeRequest request_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<Call>> calls_ ABSL_GUARDED_BY(mu_);
  int answered_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(ReplicasTest, RoundRobinSpreadsTheLoadAndAKilledReplicaFailsOnlyTheCallsSentToIt) {
  std::vector<ServerProcess> replicas;
  std::vector<std::string> addresses;
  for (int i = 0; i < kReplicas; ++i) {
    absl::StatusOr<ServerProcess> replica = StartReplica(i);
    ASSERT_TRUE(replica.ok()) << replica.status();
    addresses.push_back(absl::StrCat("127.0.0.1:", replica->port()));
    replicas.push_back(*std::move(replica));
  }
  const EvaluateCodeRequest request =
      testing::MakeRequest(kDecisionScript, "{}", /*timeout_ms=*/4000);

  grpc::ChannelArguments arguments;
  arguments.SetServiceConfigJSON(R"({"loadBalancingConfig":[{"round_robin":{}}]})");
  auto stub = EvaluateService::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("ipv4:", absl::StrJoin(addresses, ",")),
                                grpc::InsecureChannelCredentials(), arguments));
  // round_robin picks among the replicas connected so far, and workers boot after their replica
  // listens (about a second each, more on shared cores): the load starts once every replica has
  // answered a call through the channel, so that its first calls do not all go to one replica.
  std::set<std::string> peers_answered;
  const absl::Time warm_up_deadline = absl::Now() + absl::Seconds(20);
  while (peers_answered.size() < kReplicas && absl::Now() < warm_up_deadline) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(warm_up_deadline));
    context.set_wait_for_ready(true);
    EvaluateCodeResponse response;
    grpc::Status status = stub->EvaluateCode(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    peers_answered.insert(context.peer());
  }
  ASSERT_EQ(peers_answered.size(), kReplicas);

  std::vector<EvaluateCodeCounts> at_start;
  for (const ServerProcess& replica : replicas) at_start.push_back(CountsOf(replica));
  SteadyLoad load(*stub, request, kCallsInFlight);
  absl::SleepFor(kLoadBeforeKill);

  constexpr int kVictim = 1;
  ServerProcess& victim = replicas[kVictim];
  const std::string victim_peer = absl::StrCat("ipv4:", addresses[kVictim]);
  std::vector<EvaluateCodeCounts> before_kill;
  for (const ServerProcess& replica : replicas) before_kill.push_back(CountsOf(replica));
  victim.Signal(SIGKILL);
  const absl::Time killed_at = absl::Now();
  ASSERT_TRUE(victim.WaitForExit(absl::Seconds(5)).ok());
  const absl::Time exited_at = absl::Now();

  // round_robin sent each replica about a third of the calls. (Counted on arrival: answers lag
  // arrivals by the calls a replica holds, which differ with the CPU each replica gets.)
  std::vector<int> received_before_kill, served_before_kill;
  int total_received_before_kill = 0;
  for (int i = 0; i < kReplicas; ++i) {
    received_before_kill.push_back(
        static_cast<int>(before_kill[i].received - at_start[i].received));
    served_before_kill.push_back(
        static_cast<int>(before_kill[i].answered_ok - at_start[i].answered_ok));
    total_received_before_kill += received_before_kill.back();
  }
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_GE(received_before_kill[i], 0.2 * total_received_before_kill) << "replica " << i;
    EXPECT_GT(served_before_kill[i], 0) << "replica " << i;
  }
  // Without calls open on the victim the kill would prove nothing.
  EXPECT_GT(before_kill[kVictim].open, 0);

  absl::SleepFor(kLoadAfterKill);
  EXPECT_TRUE(load.StopAndAwaitAnswers(kCallDeadline + kAnswerGrace));
  const std::vector<Answer> answers = load.answers();
  EXPECT_EQ(static_cast<int>(answers.size()), load.issued());

  // Only OK and UNAVAILABLE: no deadline ran out, nothing else went wrong.
  std::map<grpc::StatusCode, int> answers_by_code;
  for (const Answer& answer : answers) ++answers_by_code[answer.code];
  EXPECT_THAT(answers_by_code, ElementsAre(Pair(grpc::StatusCode::OK, Gt(0)),
                                           Pair(grpc::StatusCode::UNAVAILABLE, Gt(0))));

  // Every UNAVAILABLE call was sent to the victim: held by it at the kill, or issued before its
  // process was gone and the client saw the connection close. Every call issued after that
  // succeeded on a survivor.
  const absl::Time victim_dropped_by = exited_at + kClientDropsTheVictimWithin;
  int unavailable_not_from_victim = 0;
  int unavailable_issued_after_kill = 0;
  int unavailable_issued_after_drop = 0;
  absl::Time last_unavailable_issued = absl::InfinitePast();
  int issued_after_drop = 0;
  int ok_on_survivors_after_drop = 0;
  for (const Answer& answer : answers) {
    if (answer.code == grpc::StatusCode::UNAVAILABLE) {
      if (answer.peer != victim_peer) ++unavailable_not_from_victim;
      if (answer.issued > killed_at) ++unavailable_issued_after_kill;
      if (answer.issued > victim_dropped_by) ++unavailable_issued_after_drop;
      last_unavailable_issued = std::max(last_unavailable_issued, answer.issued);
    }
    if (answer.issued > victim_dropped_by) {
      ++issued_after_drop;
      if (answer.code == grpc::StatusCode::OK && answer.peer != victim_peer) {
        ++ok_on_survivors_after_drop;
      }
    }
  }
  EXPECT_EQ(unavailable_not_from_victim, 0);
  EXPECT_EQ(unavailable_issued_after_drop, 0);
  EXPECT_GT(issued_after_drop, 0);
  EXPECT_EQ(ok_on_survivors_after_drop, issued_after_drop);
  for (int i = 0; i < kReplicas; ++i) {
    if (i != kVictim) {
      EXPECT_GT(CountsOf(replicas[i]).answered_ok, before_kill[i].answered_ok) << "replica " << i;
    }
  }

  // The figures docs/reliability.md quotes.
  std::printf(
      "before the kill, per replica: received %s, answered OK %s; open on the victim: %.0f; "
      "victim exited %s after the SIGKILL; issued %d, answered %zu: OK %d, UNAVAILABLE %d (%d of "
      "them issued after the SIGKILL, the last %s after the exit); issued from %s after the exit "
      "on: %d, all OK on the survivors\n",
      absl::StrJoin(received_before_kill, "/").c_str(),
      absl::StrJoin(served_before_kill, "/").c_str(), before_kill[kVictim].open,
      absl::FormatDuration(exited_at - killed_at).c_str(), load.issued(), answers.size(),
      answers_by_code[grpc::StatusCode::OK], answers_by_code[grpc::StatusCode::UNAVAILABLE],
      unavailable_issued_after_kill,
      absl::FormatDuration(last_unavailable_issued - exited_at).c_str(),
      absl::FormatDuration(kClientDropsTheVictimWithin).c_str(), issued_after_drop);
}

}  // namespace
}  // namespace evaluatecode
