#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_TRACEPARENT_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_TRACEPARENT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace evaluatecode::service::observability {

// The ids of a W3C Trace Context `traceparent` header ("00-<trace-id>-<parent-id>-<flags>").
struct TraceContext {
  std::string trace_id;   // 32 lower-case hex digits, not all zero
  std::string parent_id;  // 16 lower-case hex digits, not all zero (the caller's span)
  bool sampled = false;   // flags bit 0
};

// Parses a `traceparent` value as the W3C spec says a receiver must: version 00 exactly as
// specified, a later version by its first four fields. Anything else (the header is caller-supplied
// text) is nullopt, and then must not be carried on.
std::optional<TraceContext> ParseTraceparent(absl::string_view traceparent);

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_TRACEPARENT_H_
