#ifndef EVALUATECODE_CONNECTORS_HTTP_CLIENT_H_
#define EVALUATECODE_CONNECTORS_HTTP_CLIENT_H_

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/egress_policy.h"

namespace evaluatecode::connectors {

// One HTTP exchange as the connector layer builds it: the URL is complete (scheme, host, escaped
// path and query), the secret already attached. Never logged as a whole.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  // Sent when non-empty (or when the method is POST/PUT/PATCH).
  std::string body;
  // Whole-exchange budget (connect, send, receive). Must be positive.
  absl::Duration timeout = absl::Seconds(2);
  // Budget for the TCP (and TLS) connect; clamped to `timeout`.
  absl::Duration connect_timeout = absl::Seconds(1);
  // Cap on the response body after decompression; a longer body fails with kTooLarge. 0 = no cap.
  size_t max_response_bytes = 1 << 20;
  // Permit the plain-http scheme. Only connectors marked allow_insecure_loopback set it; https is
  // the only scheme otherwise (file://, gopher://, … are always refused).
  bool allow_plain_http = false;
  // Which resolved addresses may be connected to. Checked on the address curl actually connects to.
  EgressPolicy egress;
};

// How an exchange ended.
enum class TransportError {
  kNone,             // a full response was received (any HTTP status)
  kEgressDenied,     // the destination address or scheme is not allowed; nothing was sent
  kTimeout,          // `timeout` passed
  kConnectFailed,    // DNS failure, refused, unreachable or connect_timeout; nothing was sent
  kConnectionReset,  // the connection broke after (or while) sending
  kTooLarge,         // the body passed max_response_bytes
  kTls,              // TLS handshake or certificate verification failed
  kCancelled,        // the client shut down before the exchange ended
  kOther,            // anything else curl reports
};

// The name of `e` for messages, e.g. "timeout".
absl::string_view TransportErrorName(TransportError e);

struct HttpResponse {
  TransportError error = TransportError::kNone;
  // A short description of the failure for logs; never contains the URL's query or any header.
  std::string error_detail;
  // The HTTP status; 0 when no response line was received.
  int status = 0;
  // The body (complete only when error == kNone).
  std::string body;
  // Set from a Retry-After header given in seconds; zero when absent.
  absl::Duration retry_after;
};

// Sends HTTP requests on one I/O loop. Implementations are thread-safe: Send and RunAfter may be
// called from any thread, including from inside a callback.
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends `request` and calls `done` exactly once with the outcome, on the client's I/O thread
  // (never inside Send). If the client shuts down first, `done` gets kCancelled.
  virtual void Send(HttpRequest request, std::function<void(HttpResponse)> done) = 0;

  // Calls `fn` once on the I/O thread after `delay` (immediately-ish when non-positive), so that
  // retry backoff holds no thread. On shutdown pending functions still run, early.
  virtual void RunAfter(absl::Duration delay, std::function<void()> fn) = 0;
};

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_HTTP_CLIENT_H_
