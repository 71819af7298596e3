#include "sandbox/framed_channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace evaluatecode::sandbox {
namespace {

// Waits until `fd` can be read (`events` POLLIN) or written (POLLOUT), or `deadline`; `done` of
// `size` bytes have gone through so far, which the error says when the deadline has passed.
absl::Status AwaitPeer(int fd, short events, absl::Time deadline, size_t done, size_t size) {
  int timeout_ms = -1;
  if (deadline != absl::InfiniteFuture()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      const bool reading = events == POLLIN;
      return absl::DeadlineExceededError(absl::StrCat(
          reading ? "read from" : "write to", " peer timed out with ", done, " of ", size,
          reading ? " bytes read" : " bytes written"));
    }
    timeout_ms = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), 1 << 30));
  }
  pollfd poll_fd{fd, events, 0};
  if (poll(&poll_fd, 1, timeout_ms) < 0 && errno != EINTR) {
    return absl::UnavailableError(absl::StrCat("waiting for the peer: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, const char* data, size_t size, absl::Time deadline) {
  size_t done = 0;
  // A peer that stops reading must not hold the writer past its deadline: the write never blocks,
  // and waits for room only until then.
  while (done < size) {
    // MSG_NOSIGNAL: a dead peer is an error to report, not a SIGPIPE.
    const ssize_t written = send(fd, data + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written >= 0) {
      done += static_cast<size_t>(written);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(absl::StrCat("write to peer: ", std::strerror(errno)));
    }
    if (absl::Status ready = AwaitPeer(fd, POLLOUT, deadline, done, size); !ready.ok()) {
      return ready;
    }
  }
  return absl::OkStatus();
}

absl::Status ReadAll(int fd, char* data, size_t size, absl::Time deadline) {
  // Failures say how far the read got: a frame cut short is a broken peer, not a closed one.
  size_t done = 0;
  // Read first and wait only when nothing is there: most frames are, whole, by the time the reader
  // looks. The wait is a poll for input, never a blocking recv: a reader blocked in recv on a
  // Unix socket is woken each time its peer reads what this side sent (the kernel announces the
  // freed space to every sleeper on the socket), so the worker woke twice per request where once
  // does.
  while (done < size) {
    const ssize_t got = recv(fd, data + done, size - done, MSG_DONTWAIT);
    if (got > 0) {
      done += static_cast<size_t>(got);
      continue;
    }
    if (got == 0) {
      return absl::UnavailableError(
          absl::StrCat("the peer closed the channel with ", done, " of ", size, " bytes read"));
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(absl::StrCat("read from peer: ", std::strerror(errno)));
    }
    if (absl::Status ready = AwaitPeer(fd, POLLIN, deadline, done, size); !ready.ok()) {
      return ready;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFrame(int fd, const google::protobuf::Message& message, absl::Time deadline) {
  std::string frame(4, '\0');
  if (!message.AppendToString(&frame)) return absl::InternalError("serializing a frame failed");
  const size_t length = frame.size() - 4;
  if (length > kMaxFrameBytes) return absl::InvalidArgumentError("frame too large");
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return WriteAll(fd, frame.data(), frame.size(), deadline);
}

absl::Status ReadFrame(int fd, google::protobuf::Message* message, absl::Time deadline) {
  unsigned char header[4];
  absl::Status status = ReadAll(fd, reinterpret_cast<char*>(header), sizeof(header), deadline);
  if (!status.ok()) return status;
  const size_t length = static_cast<size_t>(header[0]) | (static_cast<size_t>(header[1]) << 8) |
                        (static_cast<size_t>(header[2]) << 16) |
                        (static_cast<size_t>(header[3]) << 24);
  if (length > kMaxFrameBytes) {
    return absl::DataLossError(
        absl::StrCat("frame length ", length, " is over the ", kMaxFrameBytes, "-byte cap"));
  }
  std::string payload(length, '\0');
  status = ReadAll(fd, payload.data(), length, deadline);
  if (!status.ok()) return status;
  if (!message->ParseFromString(payload)) {
    return absl::DataLossError(absl::StrCat("a frame of ", length, " bytes does not parse as ",
                                            message->GetTypeName()));
  }
  return absl::OkStatus();
}

}  // namespace evaluatecode::sandbox
