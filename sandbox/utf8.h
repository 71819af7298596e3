#ifndef EVALUATECODE_SANDBOX_UTF8_H_
#define EVALUATECODE_SANDBOX_UTF8_H_

#include <string>

#include "absl/strings/string_view.h"

namespace evaluatecode::sandbox {

// Duktape keeps strings as CESU-8: a character outside the Basic Multilingual Plane is a surrogate
// pair, each half a 3-byte sequence, and a lone surrogate is allowed. Neither is valid UTF-8, which
// protobuf strings (and so every reply) require. Returns `text` with each surrogate pair turned into
// its 4-byte UTF-8 sequence and each lone surrogate into U+FFFD. Text without surrogates comes back
// unchanged (the common case costs one scan).
std::string CesuToUtf8(absl::string_view text);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_UTF8_H_
