#include "service/id_generator.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace evaluatecode::service {
namespace {

// Draws from OpenSSL's generator a batch at a time: one RAND_bytes call per evaluation cost ≈ 4 %
// of the server's CPU (provider lookup and locking per call), refilling 4 KiB costs the same once
// per ≈ 170 evaluations.
class RandomIdGenerator final : public IdGenerator {
 public:
  // IdGenerator
  std::string NewId() override {
    unsigned char bytes[16];
    Draw(bytes, sizeof(bytes));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;  // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
    // 8-4-4-4-12 hex digits (snprintf's sixteen conversions cost ≈ 2 % of a light evaluation).
    std::string text =
        absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), 16));
    for (const size_t dash : {8, 13, 18, 23}) text.insert(dash, 1, '-');
    return text;
  }

  uint64_t NewSeed() override {
    uint64_t seed = 0;
    while (seed == 0) Draw(reinterpret_cast<unsigned char*>(&seed), sizeof(seed));
    return seed;
  }

 private:
  // Copies out `size` (≤ kBatchBytes) bytes no one has been given yet, refilling when short.
  void Draw(unsigned char* out, size_t size) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (kBatchBytes - used_ < size) {
      // RAND_bytes fails only when OpenSSL cannot seed itself; ids must not repeat, so stop.
      if (RAND_bytes(batch_, kBatchBytes) != 1) std::abort();
      used_ = 0;
    }
    std::memcpy(out, batch_ + used_, size);
    used_ += size;
  }

  static constexpr size_t kBatchBytes = 4096;
  absl::Mutex mu_;
  unsigned char batch_[kBatchBytes] ABSL_GUARDED_BY(mu_);
  size_t used_ ABSL_GUARDED_BY(mu_) = kBatchBytes;
};

}  // namespace

std::unique_ptr<IdGenerator> NewRandomIdGenerator() {
  return std::make_unique<RandomIdGenerator>();
}

}  // namespace evaluatecode::service
