#include "service/raw_messages.h"

#include <cstdint>
#include <string>

#include "absl/base/call_once.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/impl/codegen/proto_utils.h"

namespace evaluatecode::service {
namespace {

using google::protobuf::internal::WireFormatLite;

// Where a parse on this thread collects what libprotobuf logs about it; null when none is running.
thread_local std::string* parse_diagnostics = nullptr;
google::protobuf::LogHandler* default_log_handler = nullptr;

// libprotobuf says which field failed only in its log ("String field 'evaluate.v1.…' contains
// invalid UTF-8 data …"): a parse of ours takes those lines; any other goes where it went before.
void CollectParseDiagnostics(google::protobuf::LogLevel level, const char* filename, int line,
                             const std::string& message) {
  if (parse_diagnostics != nullptr) {
    if (!parse_diagnostics->empty()) parse_diagnostics->append("; ");
    parse_diagnostics->append(message);
    return;
  }
  if (default_log_handler != nullptr) default_log_handler(level, filename, line, message);
}

// protobuf's wording, from "contains invalid UTF-8 data when parsing …" on, is about its API.
std::string Trimmed(std::string diagnostic) {
  const size_t cut = diagnostic.find(" when parsing a protocol buffer");
  if (cut != std::string::npos) diagnostic.erase(cut);
  return diagnostic;
}

}  // namespace

void InstallParseDiagnostics() {
  static absl::once_flag once;
  absl::call_once(once, [] {
    default_log_handler = google::protobuf::SetLogHandler(&CollectParseDiagnostics);
  });
}

ReceivedBytes::ReceivedBytes(const grpc::ByteBuffer& buffer) {
  if (!buffer.TrySingleSlice(&slice_).ok() && !buffer.DumpToSingleSlice(&slice_).ok()) {
    slice_ = grpc::Slice();  // no buffer at all: an empty message
  }
}

absl::Status ParseMessage(absl::string_view bytes, google::protobuf::MessageLite& message) {
  InstallParseDiagnostics();
  std::string diagnostics;
  parse_diagnostics = &diagnostics;
  const bool parsed = message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  parse_diagnostics = nullptr;
  if (parsed) return absl::OkStatus();
  message.Clear();
  return absl::InvalidArgumentError(absl::StrCat(
      "the message (", bytes.size(), " bytes) does not parse as ", message.GetTypeName(), ": ",
      diagnostics.empty() ? "malformed protobuf (truncated, or a field of the wrong wire type)"
                          : Trimmed(std::move(diagnostics))));
}

grpc::Status SerializeMessage(const google::protobuf::MessageLite& message,
                              grpc::ByteBuffer* buffer) {
  buffer->Clear();  // gRPC's writer takes an empty buffer; a stream reuses one
  bool own_buffer = false;
  const grpc::Status serialized =
      grpc::SerializationTraits<google::protobuf::MessageLite>::Serialize(message, buffer,
                                                                          &own_buffer);
  if (serialized.ok()) return serialized;
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      absl::StrCat("cannot serialize the reply (", message.GetTypeName(),
                                   "): ", serialized.error_message()));
}

absl::StatusOr<SplitMessage> SplitField(absl::string_view bytes, int field_number) {
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                                               static_cast<int>(bytes.size()));
  SplitMessage split;
  size_t rest_from = 0;  // where the bytes not yet copied to `rest` start
  int tag_at = input.CurrentPosition();
  while (const uint32_t tag = input.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == field_number &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length = 0;
      if (!input.ReadVarint32(&length)) break;
      const int start = input.CurrentPosition();
      if (!input.Skip(static_cast<int>(length))) break;
      split.rest.append(bytes.data() + rest_from, tag_at - rest_from);
      split.field.append(bytes.data() + start, length);
      rest_from = input.CurrentPosition();
    } else if (!WireFormatLite::SkipField(&input, tag)) {
      break;
    }
    tag_at = input.CurrentPosition();
  }
  if (!input.ConsumedEntireMessage()) {
    return absl::InvalidArgumentError("the message is not well-formed protobuf");
  }
  split.rest.append(bytes.data() + rest_from, bytes.size() - rest_from);
  return split;
}

}  // namespace evaluatecode::service
