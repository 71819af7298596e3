#ifndef EVALUATECODE_CONNECTORS_CURL_HTTP_CLIENT_H_
#define EVALUATECODE_CONNECTORS_CURL_HTTP_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/time_source.h"
#include "connectors/http_client.h"

namespace evaluatecode::connectors {

struct CurlHttpClientOptions {
  // Required; timers of RunAfter read it. Not owned; must outlive the client.
  const TimeSource* time_source = nullptr;
  // Cap on simultaneous connections to one host:port (CURLMOPT_MAX_HOST_CONNECTIONS); further
  // requests wait inside curl, their timeout running. 0 = no cap.
  long max_host_connections = 32;
  // Cap on simultaneous connections overall (CURLMOPT_MAX_TOTAL_CONNECTIONS). 0 = no cap.
  long max_total_connections = 512;
  // Name pins in CURLOPT_RESOLVE form, "host:port:address" (IPv6 as "[::1]"). A pinned address is
  // still vetted by each request's egress policy. Tests use it to give a test host name any address
  // without DNS; deployments may pin a vendor.
  std::vector<std::string> resolve;
  std::string user_agent = "evaluatecode-connectors/1";
};

// Creates the HttpClient backed by one curl multi handle driven by one thread that the client
// owns: every transfer shares its connection, DNS and TLS session caches. Every request is sent with
// redirects off, the proxy environment ignored, TLS (>= 1.2) verified, only https (or http where the
// request allows it), its body capped in the write callback, and each address curl is about to
// connect to (or reuse) vetted by the request's EgressPolicy. kInternal if curl cannot be set up.
//
// The returned client is thread-safe. Destroying it cancels transfers still running (their
// callbacks get kCancelled on the client's thread) and joins the thread; nothing may call Send or
// RunAfter concurrently with or after the destructor except those callbacks themselves.
absl::StatusOr<std::unique_ptr<HttpClient>> NewCurlHttpClient(const CurlHttpClientOptions& options);

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_CURL_HTTP_CLIENT_H_
