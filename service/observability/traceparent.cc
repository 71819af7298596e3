#include "service/observability/traceparent.h"

#include "absl/strings/ascii.h"

namespace evaluatecode::service::observability {
namespace {

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

bool IsAllZero(absl::string_view text) { return text.find_first_not_of('0') == text.npos; }

}  // namespace

std::optional<TraceContext> ParseTraceparent(absl::string_view traceparent) {
  // version(2) '-' trace-id(32) '-' parent-id(16) '-' flags(2) = 55 characters.
  constexpr size_t kVersion00Length = 55;
  if (traceparent.size() < kVersion00Length) return std::nullopt;
  const absl::string_view version = traceparent.substr(0, 2);
  const absl::string_view trace_id = traceparent.substr(3, 32);
  const absl::string_view parent_id = traceparent.substr(36, 16);
  const absl::string_view flags = traceparent.substr(53, 2);
  if (traceparent[2] != '-' || traceparent[35] != '-' || traceparent[52] != '-') return std::nullopt;
  if (!IsLowerHex(version) || version == "ff" || !IsLowerHex(trace_id) || !IsLowerHex(parent_id) ||
      !IsLowerHex(flags) || IsAllZero(trace_id) || IsAllZero(parent_id)) {
    return std::nullopt;
  }
  // Version 00 has nothing after the flags; later versions may append "-…" fields.
  if (version == "00" ? traceparent.size() != kVersion00Length
                      : traceparent.size() > kVersion00Length && traceparent[55] != '-') {
    return std::nullopt;
  }
  const int flag_bits = (flags[1] >= 'a' ? flags[1] - 'a' + 10 : flags[1] - '0');
  return TraceContext{std::string(trace_id), std::string(parent_id), (flag_bits & 1) != 0};
}

}  // namespace evaluatecode::service::observability
