// Suspending an evaluation at a connector call (ConnectorCallOutcome::suspend), in process: the run
// counts for nothing, its warm heap is reused, and nothing it left queued runs in the next one.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/time_source.h"
#include "gtest/gtest.h"
#include "sandbox/in_process_sandbox.h"
#include "sandbox/script_runtime.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::sandbox {
namespace {

// Suspends every call.
class SuspendingHost final : public ConnectorHost {
 public:
  ConnectorCallOutcome Call(const std::string&, const std::string&,
                            const google::protobuf::Struct&) override {
    ++calls;
    ConnectorCallOutcome outcome;
    outcome.suspend = true;
    return outcome;
  }
  int calls = 0;
};

class SuspensionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string npm = absl::StrCat(std::getenv("TEST_SRCDIR"), "/npm/");
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<const ScriptRuntime> runtime,
                         LoadScriptRuntime({npm + "core-js-bundle/minified.js",
                                            npm + "typescript/lib/typescript.js"}));
    InProcessSandboxOptions options;
    options.engine.time_source = &time_;
    options.engine.runtime = runtime;
    options.engine.connectors = {{"vendor", {"lookup"}, ""}};
    ASSERT_OK_AND_ASSIGN(sandbox_, NewInProcessSandbox(options));
  }

  EvaluationResult Run(const std::string& source, ConnectorHost* host) {
    SandboxRequest request;
    request.source = source;
    request.deadline = time_.Now() + absl::Seconds(10);
    request.connector_host = host;
    absl::StatusOr<SandboxResult> result = sandbox_->Evaluate(request);
    EXPECT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result.ok() && result->compile.compiled());
    return result.ok() ? result->evaluation : EvaluationResult{};
  }

  RealTimeSource time_;
  std::unique_ptr<Sandbox> sandbox_;
};

TEST_F(SuspensionTest, ASuspendedRunHasNoResultErrorOrLogsEvenIfTheScriptCatches) {
  SuspendingHost host;
  EvaluationResult result = Run(
      "console.log('before');\n"
      "try { connectors.vendor.lookup({}); } catch (e) { console.log('caught'); }\n"
      "for (;;) {}\n",
      &host);
  EXPECT_TRUE(result.suspended);
  EXPECT_FALSE(result.error.has_value()) << result.error->message;
  EXPECT_TRUE(result.logs.empty());
  EXPECT_EQ(result.result.kind_case(), google::protobuf::Value::KIND_NOT_SET);
  EXPECT_EQ(host.calls, 1);

  // Its heap was kept: the next evaluation reuses it.
  EvaluationResult next = Run("return 2;", nullptr);
  ASSERT_FALSE(next.error.has_value()) << next.error->message;
  EXPECT_TRUE(next.reused_heap);
  EXPECT_EQ(next.result.number_value(), 2);
}

TEST_F(SuspensionTest, JobsASuspendedRunLeftQueuedNeverRunLater) {
  SuspendingHost host;
  EvaluationResult suspended = Run(
      "const leak = () => console.log('leaked');\n"
      "try { connectors.vendor.lookup({}); } catch (e) {}\n"
      "// Queues until the interrupt hook stops it: jobs are left queued.\n"
      "for (;;) { setTimeout(leak, 0); Promise.resolve().then(leak); }\n",
      &host);
  ASSERT_TRUE(suspended.suspended);

  EvaluationResult next = Run(
      "await new Promise<void>((resolve) => setTimeout(resolve, 0));\n"
      "return 'next';\n",
      nullptr);
  ASSERT_FALSE(next.error.has_value()) << next.error->message;
  EXPECT_TRUE(next.reused_heap);
  EXPECT_EQ(next.result.string_value(), "next");
  EXPECT_TRUE(next.logs.empty()) << next.logs[0].message;
}

}  // namespace
}  // namespace evaluatecode::sandbox
