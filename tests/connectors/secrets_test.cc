#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_cat.h"
#include "connectors/path_template.h"
#include "connectors/secret_scrubber.h"
#include "connectors/secret_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::connectors {
namespace {

using ::evaluatecode::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "sk_live_C4N4RY/k3y+with=odd&chars";

TEST(SecretScrubberTest, RemovesRawUrlAndBase64Forms) {
  SecretScrubber scrubber({kKey});
  const std::string url_escaped = EscapeUrlComponent(kKey);
  const std::string basic = absl::Base64Escape(absl::StrCat(kKey, ":"));
  const std::string text = absl::StrCat("raw=", kKey, " url=", url_escaped,
                                        " lower=", absl::StrReplaceAll(url_escaped, {{"%2F", "%2f"}, {"%2B", "%2b"}, {"%3D", "%3d"}}),
                                        " b64=", absl::Base64Escape(kKey),
                                        " web=", absl::WebSafeBase64Escape(kKey),
                                        " Authorization: Basic ", basic);
  const std::string scrubbed = scrubber.Scrub(text);
  EXPECT_FALSE(scrubber.Contains(scrubbed)) << scrubbed;
  EXPECT_THAT(scrubbed, Not(HasSubstr("C4N4RY")));
  EXPECT_THAT(scrubbed, HasSubstr("raw=[REDACTED]"));
  EXPECT_THAT(scrubbed, HasSubstr("Authorization: Basic [REDACTED]"));
}

TEST(SecretScrubberTest, FindsTheKeyInsideLargerBase64AtEveryAlignment) {
  SecretScrubber scrubber({kKey});
  for (const std::string& prefix : {"", "a", "ab", "abc", "{\"headers\":{\"authorization\":\""}) {
    const std::string blob = absl::Base64Escape(absl::StrCat(prefix, kKey, "\",\"tail\":1}"));
    EXPECT_TRUE(scrubber.Contains(blob)) << "prefix '" << prefix << "'";
    EXPECT_FALSE(scrubber.Contains(scrubber.Scrub(blob)));
  }
}

TEST(SecretScrubberTest, ScrubsEveryStringAndKeyOfAValue) {
  SecretScrubber scrubber({kKey});
  google::protobuf::Value value;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  fields["echo"].set_string_value(absl::StrCat("key is ", kKey));
  fields[kKey].set_number_value(1);
  auto* list = fields["list"].mutable_list_value();
  list->add_values()->set_string_value(absl::Base64Escape(kKey));
  list->add_values()->set_bool_value(true);
  scrubber.ScrubValue(&value);
  std::string dump = value.DebugString();
  EXPECT_FALSE(scrubber.Contains(dump)) << dump;
  EXPECT_THAT(dump, HasSubstr("key is [REDACTED]"));
  EXPECT_EQ(value.struct_value().fields().count("[REDACTED]"), 1u);
}

TEST(SecretScrubberTest, LeavesOrdinaryTextAlone) {
  SecretScrubber scrubber({kKey});
  const std::string text = R"({"status":0,"error_message":"OK","scores":{"payment_abuse":{"score":0.93}}})";
  EXPECT_EQ(scrubber.Scrub(text), text);
  SecretScrubber tiny({"ab"});  // too short to scrub meaningfully
  EXPECT_EQ(tiny.Scrub("abc"), "abc");
}

class FileSecretStoreTest : public ::testing::Test {
 protected:
  std::string PathFor(const std::string& name) {
    const char* dir = std::getenv("TEST_TMPDIR");
    return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  }
  void Write(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::trunc) << content;
  }
};

TEST_F(FileSecretStoreTest, ReadsAndTrimsTrailingNewline) {
  const std::string path = PathFor("key1");
  Write(path, "first-secret-value\n");
  auto store = NewFileSecretStore();
  ASSERT_OK_AND_ASSIGN(std::string secret, store->Get(path));
  EXPECT_EQ(secret, "first-secret-value");
}

TEST_F(FileSecretStoreTest, PicksUpARotatedFileLikeAKubernetesSecret) {
  // The kubelet writes a new file and swaps a symlink: a new inode at the same path.
  const std::string dir = PathFor("rotate");
  std::system(absl::StrCat("rm -rf ", dir, " && mkdir -p ", dir).c_str());
  Write(dir + "/v1", "old-secret-value");
  Write(dir + "/v2", "new-secret-value");
  ASSERT_EQ(symlink((dir + "/v1").c_str(), (dir + "/key").c_str()), 0);
  auto store = NewFileSecretStore();
  ASSERT_OK_AND_ASSIGN(std::string before, store->Get(dir + "/key"));
  EXPECT_EQ(before, "old-secret-value");
  ASSERT_EQ(symlink((dir + "/v2").c_str(), (dir + "/key.tmp").c_str()), 0);
  ASSERT_EQ(rename((dir + "/key.tmp").c_str(), (dir + "/key").c_str()), 0);
  ASSERT_OK_AND_ASSIGN(std::string after, store->Get(dir + "/key"));
  EXPECT_EQ(after, "new-secret-value");
}

TEST_F(FileSecretStoreTest, PicksUpAnInPlaceRewrite) {
  const std::string path = PathFor("inplace");
  Write(path, "secret-number-one");
  auto store = NewFileSecretStore();
  ASSERT_OK(store->Get(path).status());
  Write(path, "secret-number-two-longer");  // size changes, so no mtime granularity worry
  ASSERT_OK_AND_ASSIGN(std::string after, store->Get(path));
  EXPECT_EQ(after, "secret-number-two-longer");
}

TEST_F(FileSecretStoreTest, MissingOrEmptyFilesAreErrorsThatNeverHoldContent) {
  auto store = NewFileSecretStore();
  EXPECT_THAT(store->Get(PathFor("absent")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot be read")));
  const std::string empty = PathFor("empty");
  Write(empty, "\n\n");
  EXPECT_THAT(store->Get(empty), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is empty")));
}

}  // namespace
}  // namespace evaluatecode::connectors
