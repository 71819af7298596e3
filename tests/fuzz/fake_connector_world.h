#ifndef EVALUATECODE_TESTS_FUZZ_FAKE_CONNECTOR_WORLD_H_
#define EVALUATECODE_TESTS_FUZZ_FAKE_CONNECTOR_WORLD_H_

#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/time_source.h"
#include "connectors/connector_type.h"
#include "connectors/http_client.h"
#include "connectors/http_connector_gateway.h"
#include "connectors/random_source.h"
#include "connectors/secret_store.h"

namespace evaluatecode::connectors {

// The secret every connector of a FakeConnectorWorld gets.
inline constexpr char kFuzzSecret[] = "fz_live_S3cr3tKey_0123456789";

// Single-threaded collaborators for a gateway under a fuzzer: an HttpClient that queues what it is
// given and answers only when the fuzzer drains it (so `done` never runs inside Send, as the
// interface requires), a fixed secret, and fixed randomness. Thread-hostile.
class FakeConnectorWorld {
 public:
  // Answers one request. Called once per attempt, in order.
  using Responder = std::function<HttpResponse(const HttpRequest&)>;

  class QueueClient final : public HttpClient {
   public:
    void Send(HttpRequest request, std::function<void(HttpResponse)> done) override {
      sends.emplace_back(std::move(request), std::move(done));
    }
    void RunAfter(absl::Duration, std::function<void()> fn) override {
      timers.push_back(std::move(fn));
    }
    std::deque<std::pair<HttpRequest, std::function<void(HttpResponse)>>> sends;
    std::deque<std::function<void()>> timers;
    std::vector<HttpRequest> sent;
  };

  class FixedSecrets final : public SecretStore {
   public:
    absl::StatusOr<std::string> Get(const std::string&) override { return kFuzzSecret; }
  };

  class FixedRandom final : public RandomSource {
   public:
    double Uniform() override { return 0.5; }
  };

  GatewayOptions Options(std::vector<ConnectorConfig> connectors,
                         const ConnectorTypeRegistry* types) {
    GatewayOptions options;
    options.connectors = std::move(connectors);
    options.types = types;
    options.http_client = &client;
    options.secrets = &secrets;
    options.time_source = &time;
    options.random = &random;
    return options;
  }

  // Runs the I/O "loop" until nothing is pending: answers every send with `responder` and fires
  // every timer at once. Returns the number of requests answered.
  int Drain(const Responder& responder) {
    int answered = 0;
    while (!client.sends.empty() || !client.timers.empty()) {
      if (!client.sends.empty()) {
        auto [request, done] = std::move(client.sends.front());
        client.sends.pop_front();
        HttpResponse response = responder(request);
        client.sent.push_back(std::move(request));
        ++answered;
        done(std::move(response));
      } else {
        std::function<void()> fn = std::move(client.timers.front());
        client.timers.pop_front();
        fn();
      }
    }
    return answered;
  }

  QueueClient client;
  FixedSecrets secrets;
  FixedRandom random;
  RealTimeSource time;
};

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_TESTS_FUZZ_FAKE_CONNECTOR_WORLD_H_
