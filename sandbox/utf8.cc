#include "sandbox/utf8.h"

namespace evaluatecode::sandbox {
namespace {

// A surrogate's 3-byte CESU-8 form is ED A0..BF xx; returns its code unit, or 0 if `at` is not one.
unsigned SurrogateAt(absl::string_view text, size_t at) {
  if (at + 3 > text.size()) return 0;
  const auto b0 = static_cast<unsigned char>(text[at]);
  const auto b1 = static_cast<unsigned char>(text[at + 1]);
  const auto b2 = static_cast<unsigned char>(text[at + 2]);
  if (b0 != 0xED || b1 < 0xA0 || b1 > 0xBF || (b2 & 0xC0) != 0x80) return 0;
  return 0xD000u | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
}

}  // namespace

std::string CesuToUtf8(absl::string_view text) {
  if (text.find('\xED') == absl::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned unit = SurrogateAt(text, i);
    if (unit == 0) {
      out.push_back(text[i++]);
      continue;
    }
    const unsigned low = unit < 0xDC00 ? SurrogateAt(text, i + 3) : 0;
    if (unit < 0xDC00 && low >= 0xDC00) {
      const unsigned code = 0x10000u + ((unit - 0xD800u) << 10) + (low - 0xDC00u);
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
      i += 6;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD for a lone surrogate
      i += 3;
    }
  }
  return out;
}

}  // namespace evaluatecode::sandbox
