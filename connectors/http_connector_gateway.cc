#include "connectors/http_connector_gateway.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "connectors/circuit_breaker.h"
#include "connectors/path_template.h"
#include "connectors/request_builder.h"
#include "connectors/response_cache.h"
#include "connectors/retry_policy.h"
#include "connectors/secret_scrubber.h"
#include "connectors/token_bucket.h"
#include "nlohmann/json.hpp"

namespace evaluatecode::connectors {
namespace {

using Reason = ConnectorErrorReason;

// Secrets shorter than this are refused: scrubbing them would redact ordinary text and leave the
// real key recognisable.
constexpr size_t kMinSecretBytes = 8;
// Deeper JSON is refused rather than converted: the conversion recurses, and protobuf reads a Value
// back only to about 33 nested objects (three messages per level), so a deeper body would not
// survive the worker channel or the client.
constexpr int kMaxJsonDepth = 32;

// A configured connector and its per-connector state.
class Connector {
 public:
  ConnectorConfig config;
  const ConnectorType* type = nullptr;
  std::unique_ptr<CircuitBreaker> breaker;  // null when disabled
  std::unique_ptr<TokenBucket> bucket;      // null when unlimited
  std::unique_ptr<ResponseCache> cache;     // null when cache_ttl is 0

  // The scrubber of the connector's current secret: building one (base64 and URL forms of the
  // secret) cost more than scrubbing an answer, so calls share it until the secret changes.
  std::shared_ptr<const SecretScrubber> ScrubberFor(const std::string& secret,
                                                    const std::vector<std::string>& extra_forms) {
    absl::MutexLock lock(&scrubber_mu);
    if (scrubber == nullptr || scrubber_secret != secret) {
      scrubber = std::make_shared<const SecretScrubber>(std::vector<std::string>{secret},
                                                        extra_forms);
      scrubber_secret = secret;
    }
    return scrubber;
  }

  const OperationSpec* FindOperation(const std::string& name) const {
    for (const OperationSpec& op : config.operations) {
      if (op.name == name) return &op;
    }
    return nullptr;
  }

 private:
  absl::Mutex scrubber_mu;
  std::string scrubber_secret ABSL_GUARDED_BY(scrubber_mu);
  std::shared_ptr<const SecretScrubber> scrubber ABSL_GUARDED_BY(scrubber_mu);
};

// Builds a protobuf Value straight from nlohmann's SAX events: no JSON tree in between (parsing a
// vendor's answer into a tree and copying the tree over was ≈ 11 % of the server's CPU in workload
// 3). Refuses values nested deeper than kMaxJsonDepth. A repeated key keeps its last value, as
// nlohmann's own parser does.
class ValueBuilder {
 public:
  explicit ValueBuilder(google::protobuf::Value* root) : root_(root) {}

  bool null() { return Scalar([](auto* v) { v->set_null_value(google::protobuf::NULL_VALUE); }); }
  bool boolean(bool value) { return Scalar([&](auto* v) { v->set_bool_value(value); }); }
  bool number_integer(nlohmann::json::number_integer_t value) {
    return Scalar([&](auto* v) { v->set_number_value(static_cast<double>(value)); });
  }
  bool number_unsigned(nlohmann::json::number_unsigned_t value) {
    return Scalar([&](auto* v) { v->set_number_value(static_cast<double>(value)); });
  }
  bool number_float(nlohmann::json::number_float_t value, const std::string& /*text*/) {
    return Scalar([&](auto* v) { v->set_number_value(value); });
  }
  bool string(std::string& value) {
    return Scalar([&](auto* v) { v->set_string_value(std::move(value)); });
  }
  bool binary(nlohmann::json::binary_t& /*value*/) { return false; }  // not produced by JSON text
  bool start_object(std::size_t /*elements*/) {
    return Open([](auto* v) { v->mutable_struct_value(); });
  }
  bool key(std::string& key) {
    google::protobuf::Value& slot =
        (*open_.back()->mutable_struct_value()->mutable_fields())[std::move(key)];
    slot.Clear();
    member_ = &slot;
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(std::size_t /*elements*/) {
    return Open([](auto* v) { v->mutable_list_value(); });
  }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*error*/) {
    return false;
  }

 private:
  // Where the next value goes: the root, the next element of the open array, or the member whose
  // key came last.
  google::protobuf::Value* Next() {
    if (open_.empty()) return root_;
    google::protobuf::Value* container = open_.back();
    if (container->kind_case() == google::protobuf::Value::kListValue) {
      return container->mutable_list_value()->add_values();
    }
    return member_;
  }
  template <typename Set>
  bool Scalar(Set set) {
    if (open_.size() > static_cast<size_t>(kMaxJsonDepth)) return false;
    set(Next());
    return true;
  }
  template <typename Set>
  bool Open(Set set) {
    if (open_.size() > static_cast<size_t>(kMaxJsonDepth)) return false;
    google::protobuf::Value* value = Next();
    set(value);
    open_.push_back(value);
    return true;
  }
  bool Close() {
    open_.pop_back();
    return true;
  }

  google::protobuf::Value* const root_;
  std::vector<google::protobuf::Value*> open_;
  google::protobuf::Value* member_ = nullptr;
};

// The answer's body, parsed and scrubbed: null_value when empty; nullptr if it is not JSON (or too
// deep). The tree lives on an arena of its own that the last holder of the body frees in one go:
// freeing it node by node, and allocating it so, was ≈ 10 % of the server's instructions in
// workload 3.
ConnectorBody ParseBody(const std::string& text, const SecretScrubber* scrubber) {
  if (text.empty()) return NullConnectorBody();
  // About ten bytes of tree per byte of JSON (a Sift answer: 722 → 7,184): most answers fit the
  // first block.
  google::protobuf::ArenaOptions options;
  options.start_block_size = std::clamp<size_t>(text.size() * 12, 256, 64 * 1024);
  options.max_block_size = std::max(options.start_block_size, options.max_block_size);
  auto arena = std::make_shared<google::protobuf::Arena>(options);
  auto* value = google::protobuf::Arena::CreateMessage<google::protobuf::Value>(arena.get());
  ValueBuilder builder(value);
  if (!nlohmann::json::sax_parse(text, &builder)) return nullptr;
  if (scrubber != nullptr) scrubber->ScrubValue(value);
  return ConnectorBody(std::move(arena), value);
}

std::string LengthPrefixed(absl::string_view text) { return absl::StrCat(text.size(), ":", text); }

std::string Millis(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Milliseconds(d), " ms");
}

// One caller waiting on an identical call already in flight.
struct Follower {
  std::function<void(ConnectorResult)> done;
  absl::Time start;
  google::protobuf::Struct redacted_params;
};

struct InFlight {
  absl::Time deadline;
  std::vector<Follower> followers;
};

// The state of one call across its attempts. Touched by one thread at a time: the caller's until
// the first Send, then the I/O thread.
struct CallState {
  Connector* connector = nullptr;
  const OperationSpec* operation = nullptr;
  std::string tenant;
  std::string key;
  bool registered = false;  // in in_flight_ under `key`
  bool cacheable = false;
  absl::Time start;
  absl::Time deadline;
  HttpRequest http;
  std::shared_ptr<const SecretScrubber> scrubber;  // null when the connector has no secret
  google::protobuf::Struct redacted_params;
  std::function<void(ConnectorResult)> done;
  int attempts = 0;
};

class HttpConnectorGateway final : public ConnectorGateway {
 public:
  explicit HttpConnectorGateway(GatewayOptions options)
      : http_(*options.http_client),
        secrets_(*options.secrets),
        time_(*options.time_source),
        random_(*options.random),
        observer_(options.observer) {
    for (ConnectorConfig& config : options.connectors) {
      auto connector = std::make_unique<Connector>();
      if (!config.type.empty() && options.types != nullptr) {
        connector->type = options.types->Find(config.type);
      }
      if (config.circuit_breaker.failure_rate_percent > 0) {
        CircuitBreaker::TransitionListener on_transition;
        if (observer_ != nullptr) {
          on_transition = [observer = observer_, name = config.name](CircuitBreaker::State state) {
            observer->OnBreakerStateChanged(name, state);
          };
        }
        connector->breaker = std::make_unique<CircuitBreaker>(config.circuit_breaker, time_,
                                                              std::move(on_transition));
      }
      if (config.rate_limit.requests_per_second > 0) {
        connector->bucket = std::make_unique<TokenBucket>(
            std::max(1.0, config.rate_limit.burst), config.rate_limit.requests_per_second, time_);
      }
      if (config.cache_ttl > absl::ZeroDuration()) {
        connector->cache = std::make_unique<ResponseCache>(config.cache_max_entries, time_);
      }
      connector->config = std::move(config);
      const std::string name = connector->config.name;
      connectors_.emplace(name, std::move(connector));
    }
  }

  // ConnectorGateway
  void Call(ConnectorRequest request, std::function<void(ConnectorResult)> done) override {
    auto call = std::make_shared<CallState>();
    call->start = time_.Now();
    call->deadline = request.deadline;
    call->tenant = request.tenant;
    call->done = std::move(done);

    auto found = connectors_.find(request.connector);
    if (found == connectors_.end()) {
      return Reply(*call, request, Reason::kConnectorNotAllowed,
                   absl::StrCat("connector '", request.connector,
                                "' is not enabled on this server"));
    }
    if (std::find(request.allowed_connectors.begin(), request.allowed_connectors.end(),
                  request.connector) == request.allowed_connectors.end()) {
      return Reply(*call, request, Reason::kConnectorNotAllowed,
                   absl::StrCat("connector '", request.connector,
                                "' is not in this request's connectors list"));
    }
    Connector& connector = *found->second;
    call->connector = &connector;
    call->operation = connector.FindOperation(request.operation);
    if (call->operation == nullptr) {
      std::vector<std::string> names;
      for (const OperationSpec& op : connector.config.operations) names.push_back(op.name);
      return Reply(*call, request, Reason::kInvalidParams,
                   absl::StrCat("connector '", request.connector, "' has no operation '",
                                request.operation, "'; expected one of ",
                                absl::StrJoin(names, ", ")));
    }
    absl::StatusOr<PreparedRequest> prepared =
        PrepareRequest(connector.config, *call->operation, request.params);
    if (!prepared.ok()) {
      return Reply(*call, request, Reason::kInvalidParams, prepared.status().message());
    }
    call->redacted_params = std::move(prepared->redacted_params);
    if (call->start >= call->deadline) {
      return Finish(call, Failure(*call, Reason::kConnectorTimeout,
                                  "the evaluation's deadline passed before the call"));
    }

    // The expanded request identifies the call exactly (parameters in declaration order), and the
    // secret is not part of it yet.
    call->key = absl::StrCat(LengthPrefixed(request.tenant), LengthPrefixed(connector.config.name),
                             LengthPrefixed(call->operation->name), LengthPrefixed(prepared->method),
                             LengthPrefixed(prepared->url), prepared->body);
    call->cacheable = connector.cache != nullptr && IsIdempotentMethod(prepared->method);
    if (call->cacheable) {
      if (std::shared_ptr<const CachedResponse> hit = connector.cache->Get(call->key)) {
        ConnectorResult result = Failure(*call, Reason::kNone, "");
        result.http_status = hit->http_status;
        result.body = hit->body;
        result.from_cache = true;
        return Finish(call, std::move(result));
      }
    }
    if (IsIdempotentMethod(prepared->method)) {
      absl::MutexLock lock(&mu_);
      auto in_flight = in_flight_.find(call->key);
      if (in_flight == in_flight_.end()) {
        in_flight_[call->key].deadline = call->deadline;
        call->registered = true;
      } else if (in_flight->second.deadline <= call->deadline) {
        // The identical call already running will answer before our own deadline: wait for it.
        in_flight->second.followers.push_back(
            Follower{std::move(call->done), call->start, call->redacted_params});
        return;
      }
      // Otherwise the running call may give up before we must: go on our own, unregistered.
    }

    if (connector.breaker != nullptr && !connector.breaker->Admit()) {
      return Finish(call, Failure(*call, Reason::kConnectorUnavailable,
                                  absl::StrCat("connector '", connector.config.name,
                                               "' is failing; its circuit breaker is open")));
    }
    if (connector.bucket != nullptr && !connector.bucket->TryConsume()) {
      RecordBreaker(*call, CircuitBreaker::Outcome::kIgnored);
      if (observer_ != nullptr) observer_->OnRateLimited(connector.config.name);
      return Finish(call, Failure(*call, Reason::kConnectorUnavailable,
                                  absl::StrCat("connector '", connector.config.name,
                                               "' is over its rate limit")));
    }
    absl::Status attached = BuildHttpRequest(*call, *std::move(prepared));
    if (!attached.ok()) {
      RecordBreaker(*call, CircuitBreaker::Outcome::kIgnored);
      return Finish(call, Failure(*call, Reason::kConnectorUnavailable, attached.message()));
    }
    Attempt(call);
  }

  std::vector<ConnectorDescription> ListConnectors() const override {
    std::vector<ConnectorDescription> out;
    for (const auto& [name, connector] : connectors_) {  // std::map: sorted by name
      ConnectorDescription description{name, connector->config.description, {},
                                       connector->config.type};
      for (const OperationSpec& op : connector->config.operations) {
        OperationDescription operation{op.name, op.method, op.description, {}};
        for (const ParameterSpec& spec : op.parameters) {
          operation.parameters.push_back({spec.name, std::string(ParameterTypeName(spec.type)),
                                          spec.required, spec.description});
        }
        description.operations.push_back(std::move(operation));
      }
      out.push_back(std::move(description));
    }
    return out;
  }

 private:
  // Attaches the secret and the transport settings. The secret is read now, so a rotated file
  // applies to the next call.
  absl::Status BuildHttpRequest(CallState& call, PreparedRequest prepared) {
    const ConnectorConfig& config = call.connector->config;
    HttpRequest& http = call.http;
    http.method = std::move(prepared.method);
    http.url = std::move(prepared.url);
    http.body = std::move(prepared.body);
    http.headers.push_back({"Accept", "application/json"});
    if (!http.body.empty()) http.headers.push_back({"Content-Type", "application/json"});
    http.connect_timeout = config.connect_timeout;
    http.max_response_bytes = config.max_response_bytes;
    http.allow_plain_http = config.allow_insecure_loopback;
    http.egress.allow_loopback = config.allow_insecure_loopback;

    const AuthSpec& auth = config.auth;
    if (auth.kind == AuthSpec::Kind::kNone) return absl::OkStatus();
    absl::StatusOr<std::string> secret = secrets_.Get(auth.secret_file);
    if (!secret.ok() || secret->size() < kMinSecretBytes) {
      // The path is operator detail, not for scripts; logs get it from the SecretStore's status.
      return absl::UnavailableError(absl::StrCat("credentials for connector '", config.name,
                                                 "' are unavailable"));
    }
    std::vector<std::string> extra_forms;
    switch (auth.kind) {
      case AuthSpec::Kind::kNone:
        break;
      case AuthSpec::Kind::kHeader:
        http.headers.push_back({auth.header, absl::StrCat(auth.prefix, *secret)});
        break;
      case AuthSpec::Kind::kQuery:
        absl::StrAppend(&http.url, http.url.find('?') == std::string::npos ? "?" : "&",
                        EscapeUrlComponent(auth.query_param), "=", EscapeUrlComponent(*secret));
        break;
      case AuthSpec::Kind::kBasic: {
        const std::string credentials = auth.username.empty()
                                            ? absl::StrCat(*secret, ":")
                                            : absl::StrCat(auth.username, ":", *secret);
        http.headers.push_back({"Authorization", absl::StrCat("Basic ", absl::Base64Escape(credentials))});
        extra_forms.push_back(credentials);
        break;
      }
    }
    call.scrubber = call.connector->ScrubberFor(*secret, extra_forms);
    return absl::OkStatus();
  }

  void Attempt(std::shared_ptr<CallState> call) {
    const absl::Duration remaining = call->deadline - time_.Now();
    if (remaining <= absl::ZeroDuration()) {
      RecordBreaker(*call, CircuitBreaker::Outcome::kIgnored);
      return Finish(call, Failure(*call, Reason::kConnectorTimeout,
                                  "the evaluation's deadline passed before the vendor answered"));
    }
    HttpRequest http = call->http;
    http.timeout = std::min(call->connector->config.timeout, remaining);
    if (++call->attempts > 1 && observer_ != nullptr) {
      observer_->OnRetry(call->connector->config.name);
    }
    http_.Send(std::move(http), [this, call](HttpResponse response) {
      OnResponse(call, std::move(response));
    });
  }

  void OnResponse(const std::shared_ptr<CallState>& call, HttpResponse response) {
    bool retryable = false;
    CircuitBreaker::Outcome outcome = CircuitBreaker::Outcome::kSuccess;
    ConnectorResult result = Classify(*call, response, &retryable, &outcome);
    RecordBreaker(*call, outcome);
    const ConnectorConfig& config = call->connector->config;
    const bool nothing_sent = response.error == TransportError::kConnectFailed;
    if (retryable && MayResend(call->http.method, nothing_sent) &&
        call->attempts < config.retry.max_attempts) {
      const absl::Duration delay =
          std::max(FullJitterBackoff(config.retry, call->attempts, random_), response.retry_after);
      // Retry only if the wait leaves time for an attempt; otherwise report what we have.
      if (time_.Now() + delay < call->deadline && Readmit(*call)) {
        http_.RunAfter(delay, [this, call] { Attempt(call); });
        return;
      }
    }
    Finish(call, std::move(result));
  }

  // A retry passes the breaker and the rate limit like a first attempt: retries must not hammer a
  // vendor the breaker or the limit protects.
  bool Readmit(CallState& call) {
    Connector& connector = *call.connector;
    if (connector.breaker != nullptr && !connector.breaker->Admit()) return false;
    if (connector.bucket != nullptr && !connector.bucket->TryConsume()) {
      RecordBreaker(call, CircuitBreaker::Outcome::kIgnored);
      return false;
    }
    return true;
  }

  ConnectorResult Classify(const CallState& call, const HttpResponse& response, bool* retryable,
                           CircuitBreaker::Outcome* outcome) {
    using Outcome = CircuitBreaker::Outcome;
    const ConnectorConfig& config = call.connector->config;
    switch (response.error) {
      case TransportError::kNone:
        break;
      case TransportError::kEgressDenied:
        *outcome = Outcome::kIgnored;
        return Failure(call, Reason::kEgressDenied,
                       absl::StrCat("egress denied: ", response.error_detail));
      case TransportError::kTimeout:
        *outcome = Outcome::kFailure;
        return Failure(call, Reason::kConnectorTimeout,
                       absl::StrCat("no answer from connector '", config.name, "' within ",
                                    Millis(std::min(config.timeout, call.deadline - call.start))));
      case TransportError::kConnectFailed:
        *outcome = Outcome::kFailure;
        *retryable = true;  // nothing was sent
        return Failure(call, Reason::kConnectorUnavailable,
                       absl::StrCat("connector '", config.name, "' is unreachable"));
      case TransportError::kConnectionReset:
        *outcome = Outcome::kFailure;
        *retryable = true;
        return Failure(call, Reason::kConnectorUnavailable,
                       absl::StrCat("the connection to connector '", config.name, "' broke"));
      case TransportError::kTooLarge:
        *outcome = Outcome::kIgnored;
        return Failure(call, Reason::kResponseTooLarge,
                       absl::StrCat("the response of connector '", config.name, "' is over ",
                                    config.max_response_bytes, " bytes"));
      case TransportError::kCancelled:
        *outcome = Outcome::kIgnored;
        return Failure(call, Reason::kConnectorUnavailable, "the connector layer is shutting down");
      case TransportError::kTls:
      case TransportError::kOther:
        *outcome = Outcome::kFailure;
        return Failure(call, Reason::kConnectorUnavailable,
                       absl::StrCat("connector '", config.name, "' failed: ",
                                    TransportErrorName(response.error)));
    }

    const int status = response.status;
    ConnectorBody body = ParseBody(response.body, call.scrubber.get());
    const bool is_json = body != nullptr;
    ConnectorResult result = Failure(call, Reason::kNone, "");
    result.http_status = status;
    std::optional<std::string> vendor_error;
    if (is_json) {
      if (call.connector->type != nullptr) {
        vendor_error = call.connector->type->VendorError(status, *body);
      }
      result.body = std::move(body);
    }
    if (status >= 200 && status < 300) {
      if (!is_json) {
        result.reason = Reason::kVendorError;
        result.message = absl::StrCat("connector '", config.name, "' answered with a body that is "
                                      "not JSON (or nested deeper than ", kMaxJsonDepth, ")");
      } else if (vendor_error.has_value()) {
        result.reason = Reason::kVendorError;
        result.message = *std::move(vendor_error);
      }
      return result;
    }
    result.reason = Reason::kVendorError;
    result.message = absl::StrCat("connector '", config.name, "' answered HTTP ", status);
    if (status >= 300 && status < 400) absl::StrAppend(&result.message, " (redirects are not followed)");
    if (vendor_error.has_value()) absl::StrAppend(&result.message, ": ", *vendor_error);
    if (status == 429 || status >= 500) *outcome = Outcome::kFailure;
    *retryable = IsRetryableStatus(status);
    return result;
  }

  void RecordBreaker(const CallState& call, CircuitBreaker::Outcome outcome) {
    if (call.connector != nullptr && call.connector->breaker != nullptr) {
      call.connector->breaker->Record(outcome);
    }
  }

  ConnectorResult Failure(const CallState& call, Reason reason, absl::string_view message) {
    ConnectorResult result;
    if (call.connector != nullptr) result.connector = call.connector->config.name;
    if (call.operation != nullptr) result.operation = call.operation->name;
    result.reason = reason;
    result.message = std::string(message);
    return result;
  }

  // Answers a call refused before it had a connector and an operation.
  void Reply(CallState& call, const ConnectorRequest& request, Reason reason,
             absl::string_view message) {
    ConnectorResult result = Failure(call, reason, message);
    result.connector = request.connector;
    result.operation = request.operation;
    result.redacted_params = call.redacted_params;
    result.duration = time_.Now() - call.start;
    call.done(std::move(result));
  }

  // Completes `call` and every identical call that waited for it. No lock is held while callbacks
  // run.
  void Finish(const std::shared_ptr<CallState>& call, ConnectorResult result) {
    const absl::Time now = time_.Now();
    result.attempts = call->attempts;
    result.duration = now - call->start;
    result.redacted_params = call->redacted_params;
    if (call->scrubber != nullptr) {
      // The body was scrubbed as it was parsed.
      result.message = call->scrubber->Scrub(result.message);
      call->scrubber->ScrubStruct(&result.redacted_params);
    }
    if (result.ok() && call->cacheable && !result.from_cache) {
      auto cached = std::make_shared<CachedResponse>();
      cached->http_status = result.http_status;
      cached->body = result.body;
      call->connector->cache->Put(call->key, std::move(cached), call->connector->config.cache_ttl);
    }
    std::vector<Follower> followers;
    if (call->registered) {
      absl::MutexLock lock(&mu_);
      auto it = in_flight_.find(call->key);
      if (it != in_flight_.end()) {
        followers = std::move(it->second.followers);
        in_flight_.erase(it);
      }
    }
    for (Follower& follower : followers) {
      ConnectorResult copy = result;
      copy.attempts = 0;
      copy.from_cache = true;
      copy.duration = now - follower.start;
      copy.redacted_params = std::move(follower.redacted_params);
      if (call->scrubber != nullptr) call->scrubber->ScrubStruct(&copy.redacted_params);
      follower.done(std::move(copy));
    }
    call->done(std::move(result));
  }

  HttpClient& http_;
  SecretStore& secrets_;
  const TimeSource& time_;
  RandomSource& random_;
  ConnectorObserver* const observer_;  // may be null
  // Built in the constructor, then only read (each Connector's members synchronise themselves).
  std::map<std::string, std::unique_ptr<Connector>> connectors_;

  absl::Mutex mu_;
  std::map<std::string, InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<ConnectorGateway>> NewConnectorGateway(GatewayOptions options) {
  if (options.http_client == nullptr || options.secrets == nullptr ||
      options.time_source == nullptr || options.random == nullptr) {
    return absl::InvalidArgumentError(
        "GatewayOptions: http_client, secrets, time_source and random are required");
  }
  std::set<std::string> names;
  for (const ConnectorConfig& config : options.connectors) {
    if (!names.insert(config.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("connector '", config.name, "' is defined twice"));
    }
    if (!config.type.empty() &&
        (options.types == nullptr || options.types->Find(config.type) == nullptr)) {
      return absl::InvalidArgumentError(
          absl::StrCat("connector '", config.name, "' has unknown type '", config.type, "'"));
    }
    if (config.operations.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("connector '", config.name, "' has no operations"));
    }
  }
  return std::unique_ptr<ConnectorGateway>(new HttpConnectorGateway(std::move(options)));
}

}  // namespace evaluatecode::connectors
