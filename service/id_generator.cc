#include "service/id_generator.h"

#include <openssl/rand.h>

#include <cstdio>

namespace evaluatecode::service {
namespace {

class RandomIdGenerator final : public IdGenerator {
 public:
  // IdGenerator
  std::string NewId() override {
    unsigned char bytes[16];
    RAND_bytes(bytes, sizeof(bytes));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;  // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
    char text[37];
    std::snprintf(text, sizeof(text),
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                  bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
                  bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
    return text;
  }

  uint64_t NewSeed() override {
    uint64_t seed = 0;
    while (seed == 0) RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof(seed));
    return seed;
  }
};

}  // namespace

std::unique_ptr<IdGenerator> NewRandomIdGenerator() {
  return std::make_unique<RandomIdGenerator>();
}

}  // namespace evaluatecode::service
