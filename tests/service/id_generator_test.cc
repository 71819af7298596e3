#include "service/id_generator.h"

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evaluatecode::service {
namespace {

using ::testing::MatchesRegex;

// Many more ids than one 4 KiB batch of random bytes holds, so refills are crossed many times.
constexpr int kIdsPerThread = 5000;

TEST(RandomIdGeneratorTest, IdsAreVersionFourUuids) {
  std::unique_ptr<IdGenerator> ids = NewRandomIdGenerator();
  for (int i = 0; i < 1000; ++i) {
    EXPECT_THAT(ids->NewId(),
                MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  }
}

TEST(RandomIdGeneratorTest, IdsAndSeedsNeverRepeatAcrossThreadsAndRefills) {
  std::unique_ptr<IdGenerator> ids = NewRandomIdGenerator();
  std::vector<std::vector<std::string>> id_lists(4);
  std::vector<std::vector<uint64_t>> seed_lists(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIdsPerThread; ++i) {
        id_lists[t].push_back(ids->NewId());
        seed_lists[t].push_back(ids->NewSeed());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> unique_ids;
  std::set<uint64_t> unique_seeds;
  for (int t = 0; t < 4; ++t) {
    unique_ids.insert(id_lists[t].begin(), id_lists[t].end());
    for (uint64_t seed : seed_lists[t]) {
      EXPECT_NE(seed, 0u);
      unique_seeds.insert(seed);
    }
  }
  EXPECT_EQ(unique_ids.size(), 4u * kIdsPerThread);
  EXPECT_EQ(unique_seeds.size(), 4u * kIdsPerThread);
}

TEST(RandomIdGeneratorTest, TwoGeneratorsDoNotRepeatEachOther) {
  std::unique_ptr<IdGenerator> first = NewRandomIdGenerator();
  std::unique_ptr<IdGenerator> second = NewRandomIdGenerator();
  EXPECT_NE(first->NewId(), second->NewId());
  EXPECT_NE(first->NewSeed(), second->NewSeed());
}

}  // namespace
}  // namespace evaluatecode::service
