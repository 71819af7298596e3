#ifndef EVALUATECODE_SANDBOX_FRAMED_CHANNEL_H_
#define EVALUATECODE_SANDBOX_FRAMED_CHANNEL_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"

namespace evaluatecode::sandbox {

// Length-prefixed protobuf messages over a stream socket: a 4-byte little-endian length, then the
// serialized message. Functions are thread-compatible per descriptor direction.

// Largest frame accepted: requests carry at most the server's max message size.
inline constexpr size_t kMaxFrameBytes = 64 << 20;

// Writes `message` as one frame, waiting for the peer to read at most until `deadline`.
// kUnavailable when the peer is gone, kDeadlineExceeded when the deadline passes (the frame is
// then cut short: the channel is broken).
absl::Status WriteFrame(int fd, const google::protobuf::Message& message,
                        absl::Time deadline = absl::InfiniteFuture());

// Reads one frame into `message`, waiting at most until `deadline`. kUnavailable at end of stream
// (the peer is gone), kDeadlineExceeded when the deadline passes, kDataLoss for a malformed frame.
absl::Status ReadFrame(int fd, google::protobuf::Message* message,
                       absl::Time deadline = absl::InfiniteFuture());

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_FRAMED_CHANNEL_H_
