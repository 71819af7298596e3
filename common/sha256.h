#ifndef EVALUATECODE_COMMON_SHA256_H_
#define EVALUATECODE_COMMON_SHA256_H_

#include <string>
#include "absl/strings/string_view.h"

namespace evaluatecode {

// Lower-case hex SHA-256 of `data` (OpenSSL). Thread-safe.
std::string Sha256Hex(absl::string_view data);

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_SHA256_H_
