#include "connectors/curl_http_client.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/thread_name.h"

namespace evaluatecode::connectors {
namespace {

// State of one exchange, owned by the loop thread from the moment it is dequeued.
struct Transfer {
  HttpRequest request;
  std::function<void(HttpResponse)> done;
  HttpResponse response;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  // Set by the socket callbacks when they refuse an address, so the resulting curl error (which
  // only says "could not connect" or "aborted") is reported as an egress denial.
  bool egress_denied = false;
  std::string egress_detail;
  // Set by the write callback when the body passes the cap.
  bool too_large = false;
  // Whether any of the request went out (CURLINFO_REQUEST_SIZE), read when the transfer ends.
  bool request_sent = false;

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }
};

// CURLOPT_OPENSOCKETFUNCTION: sees every address curl is about to connect to, after DNS and after
// CURLOPT_RESOLVE pins, so a name that (re)binds to a forbidden address is refused before any
// packet is sent. CURL_SOCKET_BAD makes curl try the next address, then fail COULDNT_CONNECT.
curl_socket_t OpenSocket(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(clientp);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  const AddressClass klass = ClassifySockaddr(&address->addr, address->addrlen);
  absl::Status allowed = transfer->request.egress.Check(klass);
  if (!allowed.ok()) {
    transfer->egress_denied = true;
    transfer->egress_detail = std::string(allowed.message());
    return CURL_SOCKET_BAD;
  }
  // Close-on-exec: worker processes are exec'ed from this server and must not inherit sockets.
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// CURLOPT_PREREQFUNCTION: runs for new AND reused connections, just before the request is sent. A
// reused connection never passes OpenSocket, so this second check keeps a connection opened under
// one connector's policy from serving a stricter one.
int PreRequest(void* clientp, char* conn_primary_ip, char* /*conn_local_ip*/, int /*primary*/,
               int /*local*/) {
  auto* transfer = static_cast<Transfer*>(clientp);
  AddressClass klass = AddressClass::kReserved;
  absl::Status parsed = ClassifyAddressText(conn_primary_ip, &klass);
  absl::Status allowed = parsed.ok() ? transfer->request.egress.Check(klass) : parsed;
  if (!allowed.ok()) {
    transfer->egress_denied = true;
    transfer->egress_detail = std::string(allowed.message());
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

// Counts bytes after decompression, so a missing Content-Length or a compression bomb stops at the
// cap too (CURLOPT_MAXFILESIZE alone trusts the announced length).
size_t WriteBody(char* data, size_t size, size_t count, void* userdata) {
  auto* transfer = static_cast<Transfer*>(userdata);
  const size_t bytes = size * count;
  const size_t cap = transfer->request.max_response_bytes;
  if (cap > 0 && transfer->response.body.size() + bytes > cap) {
    transfer->too_large = true;
    return CURL_WRITEFUNC_ERROR;
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

size_t ReadHeader(char* data, size_t size, size_t count, void* userdata) {
  auto* transfer = static_cast<Transfer*>(userdata);
  const size_t bytes = size * count;
  absl::string_view line(data, bytes);
  constexpr absl::string_view kRetryAfter = "retry-after:";
  if (absl::StartsWithIgnoreCase(line, kRetryAfter)) {
    int seconds = 0;
    // Only the delta-seconds form; an HTTP date is ignored (backoff applies instead).
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(kRetryAfter.size())), &seconds) &&
        seconds > 0) {
      transfer->response.retry_after = absl::Seconds(std::min(seconds, 3600));
    }
  }
  return bytes;
}

long ToMillis(absl::Duration d) {
  // curl treats 0 as "no timeout": never let a positive budget round down to it.
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
  return static_cast<long>(std::clamp<int64_t>(ms, 1, std::numeric_limits<long>::max()));
}

TransportError MapCurlCode(CURLcode code, const Transfer& transfer) {
  // A refused address followed by an allowed one that worked is a success.
  if (code == CURLE_OK) return TransportError::kNone;
  if (transfer.egress_denied) return TransportError::kEgressDenied;
  if (transfer.too_large) return TransportError::kTooLarge;
  switch (code) {
    case CURLE_OK: return TransportError::kNone;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return TransportError::kEgressDenied;
    // curl says "timed out" for a connection never made, too (CURLOPT_CONNECTTIMEOUT_MS, which
    // fires first when it is the shorter): nothing was sent then, so it is a failure to connect,
    // safe to retry, not a vendor slow to answer.
    case CURLE_OPERATION_TIMEDOUT:
      return !transfer.request_sent && transfer.request.connect_timeout < transfer.request.timeout
                 ? TransportError::kConnectFailed
                 : TransportError::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return TransportError::kConnectFailed;
    case CURLE_FILESIZE_EXCEEDED: return TransportError::kTooLarge;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return TransportError::kConnectionReset;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return TransportError::kTls;
    default:
      return TransportError::kOther;
  }
}

// Finished transfers' handles kept for reuse, with their buffers: enough for a burst of calls;
// handles past it are freed.
constexpr size_t kMaxIdleHandles = 256;

// The loop waits on its own epoll set and tells curl which sockets are ready
// (curl_multi_socket_action), so that an event costs the work of the transfers it concerns.
// curl_multi_perform instead visited every transfer on every wake-up, and each visit polled that
// transfer's socket: with a hundred calls waiting on vendors, a hundred poll(2)s per event.
class CurlHttpClient final : public HttpClient {
 public:
  // Takes `multi`, `resolve`, `epoll` and `wake` (an eventfd in the epoll set) over.
  CurlHttpClient(const CurlHttpClientOptions& options, CURLM* multi, curl_slist* resolve,
                 int epoll, int wake)
      : time_source_(*options.time_source),
        user_agent_(options.user_agent),
        multi_(multi),
        resolve_(resolve),
        epoll_(epoll),
        wake_(wake) {
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlHttpClient::WatchSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlHttpClient::SetCurlTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    thread_ = std::thread([this] {
      NameThisThread("http-client");
      Loop();
    });
  }

  ~CurlHttpClient() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    Wake();
    thread_.join();
    for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
    if (resolve_ != nullptr) curl_slist_free_all(resolve_);
    close(wake_);
    close(epoll_);
    curl_global_cleanup();
  }

  // HttpClient
  void Send(HttpRequest request, std::function<void(HttpResponse)> done) override {
    auto transfer = std::make_unique<Transfer>();
    transfer->request = std::move(request);
    transfer->done = std::move(done);
    {
      absl::MutexLock lock(&mu_);
      incoming_.push_back(std::move(transfer));
    }
    Wake();
  }

  void RunAfter(absl::Duration delay, std::function<void()> fn) override {
    {
      absl::MutexLock lock(&mu_);
      timers_.emplace(std::make_pair(time_source_.Now() + delay, next_timer_id_++), std::move(fn));
    }
    Wake();
  }

 private:
  using TimerKey = std::pair<absl::Time, uint64_t>;

  void Loop() {
    bool stopping = false;
    while (!stopping) {
      std::deque<std::unique_ptr<Transfer>> incoming;
      {
        absl::MutexLock lock(&mu_);
        incoming.swap(incoming_);
        stopping = stopping_;
      }
      for (auto& transfer : incoming) Start(std::move(transfer));
      if (curl_timer_ <= absl::Now()) {
        curl_timer_ = absl::InfiniteFuture();
        int running = 0;
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      }
      CollectFinished();
      RunDueTimers(/*all=*/false);
      if (stopping) break;
      WaitForEvents();
    }
    Drain();
  }

  // Sleeps until a socket curl watches is ready, curl's timer or one of ours is due, or Wake();
  // hands curl the ready sockets.
  void WaitForEvents() {
    epoll_event events[64];
    const int ready = epoll_wait(epoll_, events, 64, NextWaitMillis());
    for (int i = 0; i < ready; ++i) {
      if (events[i].data.fd == wake_) {
        uint64_t count;
        (void)!read(wake_, &count, sizeof(count));
        continue;
      }
      int mask = 0;
      if (events[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
      int running = 0;
      curl_multi_socket_action(multi_, events[i].data.fd, mask, &running);
    }
  }

  void Wake() {
    const uint64_t one = 1;
    (void)!write(wake_, &one, sizeof(one));
  }

  // CURLMOPT_SOCKETFUNCTION: curl says which events it wants on a socket (or that it is done
  // with it); runs on the loop thread, inside curl calls. A socket curl watches carries a mark
  // (curl_multi_assign) until curl removes it, so each change is one epoll_ctl: a kept-alive
  // connection is removed after every transfer and added again by the next one.
  static int WatchSocket(CURL* /*easy*/, curl_socket_t socket, int what, void* client,
                         void* socket_data) {
    auto* self = static_cast<CurlHttpClient*>(client);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(self->epoll_, EPOLL_CTL_DEL, socket, nullptr);
      return 0;
    }
    epoll_event event{};
    event.data.fd = socket;
    if (what & CURL_POLL_IN) event.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) event.events |= EPOLLOUT;
    if (socket_data != nullptr) {
      epoll_ctl(self->epoll_, EPOLL_CTL_MOD, socket, &event);
      return 0;
    }
    if (epoll_ctl(self->epoll_, EPOLL_CTL_ADD, socket, &event) != 0 && errno == EEXIST) {
      epoll_ctl(self->epoll_, EPOLL_CTL_MOD, socket, &event);
    }
    curl_multi_assign(self->multi_, socket, self);
    return 0;
  }

  // CURLMOPT_TIMERFUNCTION: when curl wants CURL_SOCKET_TIMEOUT (-1: never); loop thread only.
  // On the system clock, which curl's own timeouts follow, not on the injected TimeSource.
  static int SetCurlTimer(CURLM* /*multi*/, long timeout_ms, void* client) {
    auto* self = static_cast<CurlHttpClient*>(client);
    self->curl_timer_ =
        timeout_ms < 0 ? absl::InfiniteFuture() : absl::Now() + absl::Milliseconds(timeout_ms);
    return 0;
  }

  // On shutdown: every transfer and timer still pending gets its answer, including those that
  // callbacks add while we drain.
  void Drain() {
    for (;;) {
      for (auto& [easy, transfer] : active_) {
        curl_multi_remove_handle(multi_, easy);
        Finish(std::move(transfer), TransportError::kCancelled, "client shutting down");
      }
      active_.clear();
      std::deque<std::unique_ptr<Transfer>> incoming;
      bool timers_left = false;
      {
        absl::MutexLock lock(&mu_);
        incoming.swap(incoming_);
        timers_left = !timers_.empty();
      }
      if (incoming.empty() && !timers_left) return;
      for (auto& transfer : incoming) {
        Finish(std::move(transfer), TransportError::kCancelled, "client shutting down");
      }
      RunDueTimers(/*all=*/true);
    }
  }

  void Start(std::unique_ptr<Transfer> transfer) {
    CURL* easy = nullptr;
    if (!idle_easy_.empty()) {
      easy = idle_easy_.back();
      idle_easy_.pop_back();
    } else {
      easy = curl_easy_init();
    }
    if (easy == nullptr) {
      Finish(std::move(transfer), TransportError::kOther, "curl_easy_init failed");
      return;
    }
    transfer->easy = easy;
    const HttpRequest& request = transfer->request;
    Transfer* t = transfer.get();
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, request.allow_plain_http ? "http,https" : "https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    // An empty proxy overrides http_proxy/https_proxy/all_proxy from the environment: a proxy would
    // make the socket callback see only the proxy's address.
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, ToMillis(request.timeout));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     ToMillis(std::min(request.connect_timeout, request.timeout)));
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, &PreRequest);
    curl_easy_setopt(easy, CURLOPT_PREREQDATA, t);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &ReadHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
    if (request.max_response_bytes > 0) {
      curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(request.max_response_bytes));
    }
    // "" = every encoding this libcurl decodes; the write callback caps the decoded size.
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent_.c_str());
    if (resolve_ != nullptr) curl_easy_setopt(easy, CURLOPT_RESOLVE, resolve_);

    for (const auto& [name, value] : request.headers) {
      transfer->headers =
          curl_slist_append(transfer->headers, absl::StrCat(name, ": ", value).c_str());
    }
    const bool has_body = !request.body.empty() || request.method == "POST" ||
                          request.method == "PUT" || request.method == "PATCH";
    if (has_body) {
      // No "Expect: 100-continue" round trip for our small bodies.
      transfer->headers = curl_slist_append(transfer->headers, "Expect:");
    }
    if (transfer->headers != nullptr) curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
    if (request.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET") {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (has_body) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
    }

    if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
      Finish(std::move(transfer), TransportError::kOther, "curl_multi_add_handle failed");
      return;
    }
    active_.emplace(easy, std::move(transfer));
  }

  void CollectFinished() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      auto it = active_.find(easy);
      if (it == active_.end()) continue;
      std::unique_ptr<Transfer> transfer = std::move(it->second);
      active_.erase(it);
      curl_multi_remove_handle(multi_, easy);
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      transfer->response.status = static_cast<int>(status);
      long request_bytes = 0;
      curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_bytes);
      transfer->request_sent = request_bytes > 0;
      Recycle(*transfer);
      const TransportError error = MapCurlCode(code, *transfer);
      std::string detail;
      if (error == TransportError::kEgressDenied && !transfer->egress_detail.empty()) {
        detail = transfer->egress_detail;
      } else if (error == TransportError::kEgressDenied) {
        detail = "scheme or URL not allowed";
      } else if (error != TransportError::kNone) {
        // curl_easy_strerror names the failure class only; it never includes the URL.
        detail = curl_easy_strerror(code);
      }
      Finish(std::move(transfer), error, std::move(detail));
    }
  }

  // Keeps a finished transfer's handle for the next one: curl_easy_init and curl_easy_cleanup
  // (its buffers allocated and freed) cost more than curl_easy_reset, which clears every option
  // and per-transfer state but keeps only the caches the multi handle shares anyway.
  void Recycle(Transfer& transfer) {
    curl_easy_reset(transfer.easy);
    if (idle_easy_.size() < kMaxIdleHandles) {
      idle_easy_.push_back(transfer.easy);
    } else {
      curl_easy_cleanup(transfer.easy);
    }
    transfer.easy = nullptr;
  }

  // Calls the transfer's callback with no lock held.
  static void Finish(std::unique_ptr<Transfer> transfer, TransportError error, std::string detail) {
    HttpResponse response = std::move(transfer->response);
    response.error = error;
    response.error_detail = std::move(detail);
    if (error != TransportError::kNone) response.body.clear();
    std::function<void(HttpResponse)> done = std::move(transfer->done);
    transfer.reset();
    done(std::move(response));
  }

  void RunDueTimers(bool all) {
    for (;;) {
      std::function<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        if (timers_.empty()) return;
        auto first = timers_.begin();
        if (!all && first->first.first > time_source_.Now()) return;
        fn = std::move(first->second);
        timers_.erase(first);
      }
      fn();
    }
  }

  // Until curl's timer or the first of ours, at most a second (Wake ends it sooner).
  int NextWaitMillis() {
    absl::Duration until = curl_timer_ - absl::Now();
    {
      absl::MutexLock lock(&mu_);
      if (!timers_.empty()) {
        until = std::min(until, timers_.begin()->first.first - time_source_.Now());
      }
    }
    const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(until, absl::Milliseconds(1)));
    return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
  }

  const TimeSource& time_source_;
  const std::string user_agent_;
  CURLM* const multi_;
  curl_slist* const resolve_;
  const int epoll_;
  const int wake_;
  std::thread thread_;

  absl::Mutex mu_;
  std::deque<std::unique_ptr<Transfer>> incoming_ ABSL_GUARDED_BY(mu_);
  std::map<TimerKey, std::function<void()>> timers_ ABSL_GUARDED_BY(mu_);
  uint64_t next_timer_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Touched only by the loop thread.
  std::map<CURL*, std::unique_ptr<Transfer>> active_;
  std::vector<CURL*> idle_easy_;
  absl::Time curl_timer_ = absl::InfiniteFuture();
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpClient>> NewCurlHttpClient(const CurlHttpClientOptions& options) {
  if (options.time_source == nullptr) {
    return absl::InvalidArgumentError("CurlHttpClientOptions.time_source is required");
  }
  // Reference-counted; the server's main should still call it first, before any thread starts,
  // when this libcurl lacks CURL_VERSION_THREADSAFE.
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    return absl::InternalError("curl_global_init failed");
  }
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    curl_global_cleanup();
    return absl::InternalError("curl_multi_init failed");
  }
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, options.max_total_connections);
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.fd = wake;
  if (epoll < 0 || wake < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &wake_event) != 0) {
    const std::string error = std::strerror(errno);
    if (epoll >= 0) close(epoll);
    if (wake >= 0) close(wake);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return absl::ResourceExhaustedError(absl::StrCat("the HTTP client's event loop: ", error));
  }
  curl_slist* resolve = nullptr;
  for (const std::string& entry : options.resolve) {
    resolve = curl_slist_append(resolve, entry.c_str());
  }
  return std::unique_ptr<HttpClient>(new CurlHttpClient(options, multi, resolve, epoll, wake));
}

}  // namespace evaluatecode::connectors
