// ScriptCache in front of a counting compiler: what it compiles, what it keys by, what it keeps.
#include "sandbox/script_cache.h"

#include <atomic>
#include <string>

#include "absl/strings/match.h"
#include "common/sha256.h"
#include "gtest/gtest.h"
#include "sandbox/compiler.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::sandbox {
namespace {

// Compiles any source containing "bad" to diagnostics and anything else to an (empty) script,
// counting the compiles.
class CountingCompiler final : public Compiler {
 public:
  absl::StatusOr<CompileResult> Compile(absl::string_view source) const override {
    ++compiles;
    CompileResult result;
    if (absl::StrContains(source, "bad")) {
      result.diagnostics.push_back(Diagnostic{Diagnostic::Severity::kError, "bad", 1, 1});
    } else {
      result.script = std::make_shared<const CompiledScript>();
    }
    return result;
  }
  mutable std::atomic<int> compiles{0};
};

TEST(ScriptCacheTest, ASecondLookupOfTheSameSourceIsAHitWithoutACompile) {
  CountingCompiler compiler;
  ScriptCache cache(compiler, 4);
  ASSERT_OK_AND_ASSIGN(CacheLookup first, cache.GetOrCompile("return 1;"));
  ASSERT_OK_AND_ASSIGN(CacheLookup second, cache.GetOrCompile("return 1;"));
  EXPECT_FALSE(first.cache_hit);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(first.code_sha256, Sha256Hex("return 1;"));
  EXPECT_EQ(second.compiled, first.compiled);
  EXPECT_EQ(compiler.compiles, 1);
}

TEST(ScriptCacheTest, ASourceThatDoesNotCompileIsCachedWithItsDiagnostics) {
  CountingCompiler compiler;
  ScriptCache cache(compiler, 4);
  ASSERT_OK_AND_ASSIGN(CacheLookup first, cache.GetOrCompile("bad"));
  ASSERT_OK_AND_ASSIGN(CacheLookup second, cache.GetOrCompile("bad"));
  EXPECT_FALSE(second.compiled->ok());
  EXPECT_EQ(second.compiled->diagnostics.size(), 1u);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(compiler.compiles, 1);
}

TEST(ScriptCacheTest, TheLeastRecentlyUsedEntryGoesFirst) {
  CountingCompiler compiler;
  ScriptCache cache(compiler, 2);
  ASSERT_OK(cache.GetOrCompile("a").status());
  ASSERT_OK(cache.GetOrCompile("b").status());
  ASSERT_OK(cache.GetOrCompile("a").status());  // "b" is now the least recently used
  ASSERT_OK(cache.GetOrCompile("c").status());  // evicts "b"
  ASSERT_OK_AND_ASSIGN(CacheLookup a, cache.GetOrCompile("a"));
  ASSERT_OK_AND_ASSIGN(CacheLookup b, cache.GetOrCompile("b"));
  EXPECT_TRUE(a.cache_hit);
  EXPECT_FALSE(b.cache_hit);
  EXPECT_EQ(compiler.compiles, 4);
}

// The worker's supervisor hashes the code once for all of an evaluation's runs: the cache takes
// that hash as the key instead of hashing again.
TEST(ScriptCacheTest, AHashTheCallerGivesIsTheKey) {
  CountingCompiler compiler;
  ScriptCache cache(compiler, 4);
  const std::string sha = Sha256Hex("return 2;");
  ASSERT_OK_AND_ASSIGN(CacheLookup given, cache.GetOrCompile("return 2;", sha));
  ASSERT_OK_AND_ASSIGN(CacheLookup hashed, cache.GetOrCompile("return 2;"));
  EXPECT_EQ(given.code_sha256, sha);
  EXPECT_TRUE(hashed.cache_hit);
  ASSERT_OK_AND_ASSIGN(CacheLookup other_key, cache.GetOrCompile("return 2;", "another-key"));
  EXPECT_EQ(other_key.code_sha256, "another-key");
  EXPECT_FALSE(other_key.cache_hit);
  EXPECT_EQ(compiler.compiles, 2);
}

}  // namespace
}  // namespace evaluatecode::sandbox
