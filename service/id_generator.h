#ifndef EVALUATECODE_SERVICE_ID_GENERATOR_H_
#define EVALUATECODE_SERVICE_ID_GENERATOR_H_

#include <cstdint>
#include <memory>
#include <string>

namespace evaluatecode::service {

// Makes unique ids (decision ids) and random seeds (Math.random() of evaluations). Implementations
// are thread-safe.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual std::string NewId() = 0;
  // Never 0 (0 in a request means "choose one").
  virtual uint64_t NewSeed() = 0;
};

// Random version-4 UUIDs and seeds from a cryptographic source.
std::unique_ptr<IdGenerator> NewRandomIdGenerator();

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_ID_GENERATOR_H_
