#include "common/sha256.h"

#include <openssl/evp.h>

namespace evaluatecode {

namespace {

// Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up in its provider store (locks
// included) on every digest, which cost more than hashing a script of a few KB.
const EVP_MD* Sha256() {
  static const EVP_MD* const kFetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return kFetched != nullptr ? kFetched : EVP_sha256();
}

}  // namespace

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, Sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * length, '0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace evaluatecode
