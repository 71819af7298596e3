#include "connectors/random_source.h"

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"

namespace evaluatecode::connectors {
namespace {

class BitGenRandomSource final : public RandomSource {
 public:
  double Uniform() override {
    absl::MutexLock lock(&mu_);
    return absl::Uniform(bitgen_, 0.0, 1.0);
  }

 private:
  absl::Mutex mu_;
  absl::BitGen bitgen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<RandomSource> NewRandomSource() { return std::make_unique<BitGenRandomSource>(); }

}  // namespace evaluatecode::connectors
