#ifndef EVALUATECODE_CONNECTORS_REQUEST_BUILDER_H_
#define EVALUATECODE_CONNECTORS_REQUEST_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "connectors/connector_config.h"
#include "google/protobuf/struct.pb.h"

namespace evaluatecode::connectors {

// The vendor request one operation call expands to, before the secret is attached. Its method, url
// and body identify the call exactly, so they form the cache and in-flight key.
struct PreparedRequest {
  std::string method;
  // base_url + expanded path + "?" + query in declaration order; every value URL-escaped.
  std::string url;
  // JSON object of the body parameters; empty when there are none.
  std::string body;
  // The params as given, with `sensitive` parameters (and names that look like credentials)
  // replaced by "[REDACTED]". For the call record.
  google::protobuf::Struct redacted_params;
};

// Checks `params` against `operation` and builds the request. kInvalidArgument naming the
// parameter when one is unknown, missing while required, of the wrong type (an integer must be a
// whole number within ±2^53; a string_list a list of strings), longer than 4096 bytes, or a path
// parameter that is empty, "." or "..". Strings, numbers and booleans keep JSON's spelling
// (shortest round-trip form for numbers); a string_list is comma-joined with each item escaped.
absl::StatusOr<PreparedRequest> PrepareRequest(const ConnectorConfig& connector,
                                               const OperationSpec& operation,
                                               const google::protobuf::Struct& params);

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_REQUEST_BUILDER_H_
