#ifndef EVALUATECODE_SERVICE_RAW_MESSAGES_H_
#define EVALUATECODE_SERVICE_RAW_MESSAGES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace evaluatecode::service {

// The service takes its calls as bytes (gRPC's raw callback methods) and parses them itself, for
// two reasons. gRPC 1.51 answers a request that does not parse UNIMPLEMENTED with no message, and
// ends a Backtest at a message that does not parse as if the stream had ended; a caller needs
// INVALID_ARGUMENT and what was wrong. And EvaluateCode's input goes on to a sandbox worker as the
// bytes it came in, not serialized again.

// A received message's bytes in one piece: its slice when it came in one (no copy), else a copy.
class ReceivedBytes {
 public:
  explicit ReceivedBytes(const grpc::ByteBuffer& buffer);

  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(slice_.begin()), slice_.size());
  }

 private:
  grpc::Slice slice_;
};

// Routes libprotobuf's log through the collector that ParseMessage reads (other lines go where
// they went before). ParseMessage installs it on first use; a server calls it before serving, so
// that no thread is inside libprotobuf's logging while the handler changes.
void InstallParseDiagnostics();

// Parses `bytes` into `message` (cleared first). kInvalidArgument naming the message type and,
// when protobuf names it (a string field that is not UTF-8), the field that failed.
absl::Status ParseMessage(absl::string_view bytes, google::protobuf::MessageLite& message);

// `message` serialized into `buffer` (emptied first), as a raw method's reply; INTERNAL, the status
// to end the call with, when it cannot be.
grpc::Status SerializeMessage(const google::protobuf::MessageLite& message,
                              grpc::ByteBuffer* buffer);

// A serialized message cut in two: `field`, the payloads of every occurrence of one
// length-delimited field, concatenated (for a singular message field, bytes that parse as its
// value: protobuf merges repeated occurrences as parsing their concatenation does), and `rest`,
// the message's other fields as they were (bytes that parse as the message without that field).
struct SplitMessage {
  std::string field;
  std::string rest;
};
// kInvalidArgument when `bytes` is not a well-formed message.
absl::StatusOr<SplitMessage> SplitField(absl::string_view bytes, int field_number);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_RAW_MESSAGES_H_
