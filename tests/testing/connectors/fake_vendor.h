#ifndef EVALUATECODE_TESTS_TESTING_CONNECTORS_FAKE_VENDOR_H_
#define EVALUATECODE_TESTS_TESTING_CONNECTORS_FAKE_VENDOR_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace evaluatecode::testing {

// A request the fake vendor received.
struct VendorRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;    // target without the query
  std::string query;   // after '?', or empty
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The raw request head (request line and headers) exactly as received.
  std::string raw_head;

  // The first header named `name` (case-insensitive), or "".
  std::string Header(absl::string_view name) const;
};

// How the fake vendor answers; the fields combine to inject faults.
struct VendorResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Wait before sending anything (latency).
  absl::Duration delay = absl::ZeroDuration();
  // False: no Content-Length; the body ends when the connection closes.
  bool content_length = true;
  // Send the body in pieces of this many bytes with `chunk_delay` between them (a slow body). 0 =
  // all at once.
  size_t chunk_bytes = 0;
  absl::Duration chunk_delay = absl::ZeroDuration();
  // Reset the connection (RST) after this many body bytes; npos = never.
  size_t reset_after_body_bytes = std::string::npos;
  // Reset the connection instead of answering at all.
  bool reset_before_response = false;
};

// A fake vendor API: an HTTP/1.1 server on a loopback port chosen by the kernel, one thread per
// connection, keep-alive. It records every request and answers through a handler the test sets.
// Thread-safe.
class FakeVendor {
 public:
  using Handler = std::function<VendorResponse(const VendorRequest&)>;

  // Starts listening on 127.0.0.1 (or ::1 when `ipv6`). Aborts the test binary on failure.
  explicit FakeVendor(Handler handler, bool ipv6 = false);
  // Stops: closes the listener and every connection, joins all threads.
  ~FakeVendor();

  FakeVendor(const FakeVendor&) = delete;
  FakeVendor& operator=(const FakeVendor&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" (or "http://[::1]:PORT").
  std::string base_url() const;

  void SetHandler(Handler handler) ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<VendorRequest> requests() const ABSL_LOCKS_EXCLUDED(mu_);
  int request_count() const ABSL_LOCKS_EXCLUDED(mu_);
  int connection_count() const ABSL_LOCKS_EXCLUDED(mu_);
  // Everything received on any connection, raw, for canary searches.
  std::string received_bytes() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void AcceptLoop();
  void Serve(int fd);
  bool SleepUnlessStopping(absl::Duration d);

  const bool ipv6_;
  int listen_fd_ = -1;
  int port_ = 0;
  absl::Notification stopping_;
  std::thread accept_thread_;

  mutable absl::Mutex mu_;
  Handler handler_ ABSL_GUARDED_BY(mu_);
  std::vector<VendorRequest> requests_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  std::string received_ ABSL_GUARDED_BY(mu_);
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// Sift v205 helpers.
// A successful score body for `user_id` with one payment_abuse score.
std::string SiftScoreBody(absl::string_view user_id, double score);
// A handler speaking Sift v205: GET /v205/score/{id} and GET|POST /v205/users/{id}/score answer
// SiftScoreBody (score 0.93); a request without `expected_key` (Basic user name or api_key query
// parameter) gets HTTP 200 with {"status":51,"error_message":"Invalid API key"} as Sift does;
// other paths get 404.
FakeVendor::Handler SiftHandler(std::string expected_key);

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_CONNECTORS_FAKE_VENDOR_H_
