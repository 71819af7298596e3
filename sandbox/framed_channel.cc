#include "sandbox/framed_channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace evaluatecode::sandbox {
namespace {

absl::Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    // MSG_NOSIGNAL: a dead peer is an error to report, not a SIGPIPE.
    const ssize_t written = send(fd, data, size, MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("write to peer: ", std::strerror(errno)));
    }
    data += written;
    size -= static_cast<size_t>(written);
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
    int timeout_ms = -1;
    if (deadline != absl::InfiniteFuture()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(
            absl::StrCat("read from peer timed out with ", done, " of ", size, " bytes read"));
      }
      timeout_ms = static_cast<int>(std::min<int64_t>(
          absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), 1 << 30));
    }
    pollfd poll_fd{fd, POLLIN, 0};
    if (poll(&poll_fd, 1, timeout_ms) < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("waiting for the peer: ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFrame(int fd, const google::protobuf::Message& message) {
  std::string frame(4, '\0');
  if (!message.AppendToString(&frame)) return absl::InternalError("serializing a frame failed");
  const size_t length = frame.size() - 4;
  if (length > kMaxFrameBytes) return absl::InvalidArgumentError("frame too large");
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return WriteAll(fd, frame.data(), frame.size());
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
