#include "common/usable_cpus.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/cpu_affinity.h"
#include "gtest/gtest.h"

namespace evaluatecode {
namespace {

// A cgroup mount of our own making, under the test's temporary directory.
class FakeCgroup {
 public:
  explicit FakeCgroup(const std::string& name)
      : root_(std::string(std::getenv("TEST_TMPDIR")) + "/" + name) {
    mkdir(root_.c_str(), 0755);
    mkdir((root_ + "/cpu").c_str(), 0755);
  }
  void Write(const std::string& file, const std::string& text) {
    std::ofstream(root_ + "/" + file) << text;
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

TEST(UsableCpusTest, ReadsCgroupV2CpuMax) {
  EXPECT_EQ(CpusInCpuMax("200000 100000\n"), 2);
  EXPECT_EQ(CpusInCpuMax("150000 100000"), 2);  // 1.5 CPUs keep two busy part of the time
  EXPECT_EQ(CpusInCpuMax("50000 100000"), 1);
  EXPECT_EQ(CpusInCpuMax("max 100000\n"), std::nullopt);
  EXPECT_EQ(CpusInCpuMax(""), std::nullopt);
  EXPECT_EQ(CpusInCpuMax("200000"), std::nullopt);
  EXPECT_EQ(CpusInCpuMax("0 100000"), std::nullopt);
}

TEST(UsableCpusTest, ReadsCgroupV1CfsQuota) {
  EXPECT_EQ(CpusInCfsQuota("400000\n", "100000\n"), 4);
  EXPECT_EQ(CpusInCfsQuota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(CpusInCfsQuota("", ""), std::nullopt);
}

TEST(UsableCpusTest, TheQuotaCapsTheAllowedCpus) {
  const int allowed = static_cast<int>(AllowedCpus()->size());
  FakeCgroup none("none");
  EXPECT_EQ(UsableCpuCount(none.root()), allowed);

  FakeCgroup v2("v2");
  v2.Write("cpu.max", "100000 100000\n");
  EXPECT_EQ(UsableCpuCount(v2.root()), 1);
  v2.Write("cpu.max", "max 100000\n");
  EXPECT_EQ(UsableCpuCount(v2.root()), allowed);
  v2.Write("cpu.max", "6400000 100000\n");  // more than this machine has: the affinity counts
  EXPECT_EQ(UsableCpuCount(v2.root()), allowed);

  FakeCgroup v1("v1");
  v1.Write("cpu/cpu.cfs_quota_us", "50000\n");
  v1.Write("cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(UsableCpuCount(v1.root()), 1);
}

TEST(UsableCpusTest, APinnedThreadCountsOne) {
  FakeCgroup none("pinned");
  const int cpu = AllowedCpus()->back();
  int count = 0;
  std::thread pinned([&] {
    ASSERT_TRUE(PinThreadToCpu(pthread_self(), cpu).ok());
    count = UsableCpuCount(none.root());
  });
  pinned.join();
  EXPECT_EQ(count, 1);
}

}  // namespace
}  // namespace evaluatecode
