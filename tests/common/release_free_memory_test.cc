// ReleaseFreeMemory in a binary that links jemalloc, as evaluate_server does: freed pages must go
// back to the system (glibc's malloc_trim would not reach jemalloc's arenas).
#include "common/release_free_memory.h"

#include <jemalloc/jemalloc.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace evaluatecode {
namespace {

// Pages of freed memory jemalloc still holds, over all arenas.
size_t DirtyPages() {
  uint64_t epoch = 1;
  size_t length = sizeof(epoch);
  EXPECT_EQ(mallctl("epoch", &epoch, &length, &epoch, length), 0);  // refreshes the statistics
  size_t pages = 0;
  length = sizeof(pages);
  EXPECT_EQ(mallctl("stats.arenas.4096.pdirty", &pages, &length, nullptr, 0), 0);
  return pages;
}

TEST(ReleaseFreeMemoryTest, PurgesWhatJemallocKeptAfterALargeRelease) {
  {
    // ≈ 64 MiB in the small objects a syntax tree is made of, then all freed.
    std::vector<std::unique_ptr<char[]>> blocks;
    for (int i = 0; i < 256 * 1024; ++i) blocks.emplace_back(new char[256]());
  }
  ASSERT_GT(DirtyPages(), 1000u) << "jemalloc kept nothing to purge: the test shows nothing";
  ReleaseFreeMemory();
  EXPECT_EQ(DirtyPages(), 0u);
}

}  // namespace
}  // namespace evaluatecode
