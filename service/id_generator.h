#ifndef EVALUATECODE_SERVICE_ID_GENERATOR_H_
#define EVALUATECODE_SERVICE_ID_GENERATOR_H_

#include <memory>
#include <string>

namespace evaluatecode::service {

// Makes unique ids (decision ids). Implementations are thread-safe.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual std::string NewId() = 0;
};

// Random version-4 UUIDs from a cryptographic source.
std::unique_ptr<IdGenerator> NewRandomIdGenerator();

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_ID_GENERATOR_H_
