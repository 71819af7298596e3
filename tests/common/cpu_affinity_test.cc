#include "common/cpu_affinity.h"

#include <sched.h>

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode {
namespace {

using ::evaluatecode::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CpuAffinityTest, AllowedCpusAreTheAffinityMaskInOrder) {
  cpu_set_t mask;
  ASSERT_EQ(sched_getaffinity(0, sizeof(mask), &mask), 0);
  ASSERT_OK_AND_ASSIGN(std::vector<int> allowed, AllowedCpus());
  ASSERT_EQ(allowed.size(), static_cast<size_t>(CPU_COUNT(&mask)));
  for (size_t i = 0; i < allowed.size(); ++i) {
    EXPECT_TRUE(CPU_ISSET(allowed[i], &mask));
    if (i > 0) EXPECT_LT(allowed[i - 1], allowed[i]);
  }
}

TEST(CpuAffinityTest, APinnedThreadRunsOnItsCpu) {
  ASSERT_OK_AND_ASSIGN(std::vector<int> allowed, AllowedCpus());
  const int last = allowed.back();
  std::vector<int> seen;
  int ran_on = -1;
  std::thread pinned([&] {
    ASSERT_OK(PinThreadToCpu(pthread_self(), last));
    seen = *AllowedCpus();
    ran_on = CurrentCpu();
  });
  pinned.join();
  EXPECT_THAT(seen, ElementsAre(last));
  EXPECT_EQ(ran_on, last);
  // Only that thread: this one keeps its CPUs.
  EXPECT_EQ(*AllowedCpus(), allowed);
}

TEST(CpuAffinityTest, ACpuThatCannotBeUsedIsNamed) {
  EXPECT_THAT(PinThreadToCpu(pthread_self(), -1),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("pinning to CPU -1")));
  EXPECT_THAT(PinProcessToCpu(0, CPU_SETSIZE - 1),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("pinning to CPU ", CPU_SETSIZE - 1, ": "))));
  ASSERT_OK_AND_ASSIGN(std::vector<int> allowed, AllowedCpus());
  EXPECT_GE(allowed.size(), 1u);  // unchanged by the refusals
}

}  // namespace
}  // namespace evaluatecode
