#include "tests/testing/connectors/fake_vendor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace evaluatecode::testing {
namespace {

void Die(const char* what) {
  std::perror(what);
  std::abort();
}

bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void Reset(int fd) {
  // SO_LINGER with a zero timeout makes close() send RST instead of FIN.
  linger option{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  shutdown(fd, SHUT_RD);
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

// Decodes %XX escapes (the fake's own, minimal URL decoding).
std::string PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    int value = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        absl::SimpleHexAtoi(text.substr(i + 1, 2), &value)) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::string VendorRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

FakeVendor::FakeVendor(Handler handler, bool ipv6) : ipv6_(ipv6), handler_(std::move(handler)) {
  listen_fd_ = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) Die("socket");
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (ipv6) {
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) Die("bind");
    socklen_t length = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin6_port);
  } else {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) Die("bind");
    socklen_t length = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  // Room for a client's whole connection pool arriving at once (the bench server opens up to 256):
  // a full queue drops SYNs, which a real vendor's load balancer would not.
  if (listen(listen_fd_, SOMAXCONN) != 0) Die("listen");
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FakeVendor::~FakeVendor() {
  stopping_.Notify();
  shutdown(listen_fd_, SHUT_RDWR);
  accept_thread_.join();
  close(listen_fd_);
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (std::thread& thread : threads) thread.join();
}

std::string FakeVendor::base_url() const {
  return ipv6_ ? absl::StrCat("http://[::1]:", port_) : absl::StrCat("http://127.0.0.1:", port_);
}

void FakeVendor::SetHandler(Handler handler) {
  absl::MutexLock lock(&mu_);
  handler_ = std::move(handler);
}

std::vector<VendorRequest> FakeVendor::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

int FakeVendor::request_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(requests_.size());
}

int FakeVendor::connection_count() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

std::string FakeVendor::received_bytes() const {
  absl::MutexLock lock(&mu_);
  return received_;
}

bool FakeVendor::SleepUnlessStopping(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return !stopping_.HasBeenNotified();
  return !stopping_.WaitForNotificationWithTimeout(d);
}

void FakeVendor::AcceptLoop() {
  while (!stopping_.HasBeenNotified()) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_.HasBeenNotified()) return;
      continue;
    }
    // Head and body go out in separate writes: without NODELAY, Nagle and delayed ACKs add 40 ms.
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    absl::MutexLock lock(&mu_);
    ++connections_;
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FakeVendor::Serve(int fd) {
  std::string buffer;
  char chunk[16384];
  auto read_more = [&]() -> bool {
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    absl::MutexLock lock(&mu_);
    received_.append(chunk, static_cast<size_t>(n));
    return true;
  };
  bool open = true;
  while (open && !stopping_.HasBeenNotified()) {
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more()) {
        open = false;
        break;
      }
    }
    if (!open) break;
    VendorRequest request;
    request.raw_head = buffer.substr(0, head_end);
    std::vector<std::string> lines = absl::StrSplit(request.raw_head, "\r\n");
    std::vector<std::string> request_line = absl::StrSplit(lines[0], ' ');
    if (request_line.size() >= 2) {
      request.method = request_line[0];
      request.target = request_line[1];
    }
    const size_t question = request.target.find('?');
    request.path = request.target.substr(0, question);
    if (question != std::string::npos) request.query = request.target.substr(question + 1);
    size_t content_length = 0;
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == std::string::npos) continue;
      std::string name = lines[i].substr(0, colon);
      std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      if (absl::EqualsIgnoreCase(name, "content-length")) {
        (void)absl::SimpleAtoi(value, &content_length);
      }
      request.headers.emplace_back(std::move(name), std::move(value));
    }
    buffer.erase(0, head_end + 4);
    while (buffer.size() < content_length) {
      if (!read_more()) {
        open = false;
        break;
      }
    }
    if (!open) break;
    request.body = buffer.substr(0, content_length);
    buffer.erase(0, content_length);

    Handler handler;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      handler = handler_;
    }
    const VendorResponse response = handler(request);
    if (!SleepUnlessStopping(response.delay)) break;
    if (response.reset_before_response) {
      Reset(fd);
      break;
    }
    std::string head = absl::StrCat("HTTP/1.1 ", response.status, " ",
                                    ReasonPhrase(response.status), "\r\n");
    for (const auto& [name, value] : response.headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
    if (response.content_length) {
      absl::StrAppend(&head, "Content-Length: ", response.body.size(), "\r\n");
    } else {
      absl::StrAppend(&head, "Connection: close\r\n");
    }
    absl::StrAppend(&head, "\r\n");
    if (!SendAll(fd, head)) break;
    // A HEAD response has its head only (RFC 9110 9.3.2), whatever the handler returned: body
    // bytes after it would be read as the start of the next response on the connection.
    absl::string_view body = request.method == "HEAD" ? absl::string_view() : response.body;
    const size_t reset_at = std::min(response.reset_after_body_bytes, body.size());
    bool reset = response.reset_after_body_bytes != std::string::npos;
    absl::string_view to_send = body.substr(0, reset ? reset_at : body.size());
    const size_t piece = response.chunk_bytes == 0 ? to_send.size() : response.chunk_bytes;
    bool ok = true;
    while (ok && !to_send.empty()) {
      const size_t n = std::min(piece, to_send.size());
      ok = SendAll(fd, to_send.substr(0, n));
      to_send.remove_prefix(n);
      if (!to_send.empty() && response.chunk_bytes != 0) ok = ok && SleepUnlessStopping(response.chunk_delay);
    }
    if (reset) {
      Reset(fd);
      break;
    }
    if (!ok || !response.content_length) break;
  }
  {
    absl::MutexLock lock(&mu_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  }
  close(fd);
}

std::string SiftScoreBody(absl::string_view user_id, double score) {
  return absl::StrCat(
      R"({"status":0,"error_message":"OK","user_id":")", user_id,
      R"(","scores":{"payment_abuse":{"score":)", score,
      R"(,"time":1700000000000,"reasons":[{"name":"Number of users with the same billing info","value":"4","details":{}}],"percentiles":{}}},)",
      R"("latest_decisions":{"payment_abuse":{"id":"block_user_payment_abuse","source":"AUTOMATED_RULE","time":0,"description":""}},)",
      R"("latest_labels":{"payment_abuse":{"is_fraud":true,"time":0,"description":""}},)",
      R"("workflow_statuses":[{"id":"wf1","state":"finished","config":{"id":"c1","version":"1"},"config_display_name":"Checkout","abuse_types":["payment_abuse"],"entity":{"id":")",
      user_id, R"(","type":"user"},"history":[{"app":"decision","name":"Block","state":"finished","config":{"decision_id":"d1"}}]}]})");
}

FakeVendor::Handler SiftHandler(std::string expected_key) {
  return [expected_key](const VendorRequest& request) {
    VendorResponse response;
    response.headers.push_back({"Content-Type", "application/json"});
    // The key arrives as Basic (key as user name, empty password) or as ?api_key=.
    bool authorized = false;
    const std::string authorization = request.Header("Authorization");
    absl::string_view basic = authorization;
    if (absl::ConsumePrefix(&basic, "Basic ")) {
      std::string decoded;
      authorized = absl::Base64Unescape(basic, &decoded) && decoded == expected_key + ":";
    }
    for (absl::string_view pair : absl::StrSplit(request.query, '&')) {
      if (absl::ConsumePrefix(&pair, "api_key=") && PercentDecode(pair) == expected_key) {
        authorized = true;
      }
    }
    if (!authorized) {
      response.body = R"({"status":51,"error_message":"Invalid API key"})";
      return response;
    }
    std::vector<std::string> parts = absl::StrSplit(request.path, '/');
    // "/v205/score/{id}" → ["", "v205", "score", id]; "/v205/users/{id}/score" → [..., "users", id, "score"]
    std::string user_id;
    if (parts.size() == 4 && parts[1] == "v205" && parts[2] == "score" && request.method == "GET") {
      user_id = parts[3];
    } else if (parts.size() == 5 && parts[1] == "v205" && parts[2] == "users" &&
               parts[4] == "score" && (request.method == "GET" || request.method == "POST")) {
      user_id = parts[3];
    } else {
      response.status = 404;
      response.body = R"({"status":54,"error_message":"Not found"})";
      return response;
    }
    response.body = SiftScoreBody(user_id, 0.93);
    return response;
  };
}

}  // namespace evaluatecode::testing
