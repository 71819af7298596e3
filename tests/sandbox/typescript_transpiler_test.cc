// The TypeScript transpiler and compiler pipeline, in process: lowering, line maps, diagnostics.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/time_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sandbox/duktape_compiler.h"
#include "sandbox/in_process_sandbox.h"
#include "sandbox/script_runtime.h"
#include "sandbox/typescript_transpiler.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::sandbox {
namespace {

using ::testing::ElementsAre;
using ::testing::FieldsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::shared_ptr<const ScriptRuntime> Runtime() {
  const std::string npm = absl::StrCat(std::getenv("TEST_SRCDIR"), "/npm/");
  absl::StatusOr<std::shared_ptr<const ScriptRuntime>> runtime = LoadScriptRuntime(
      {npm + "core-js-bundle/minified.js", npm + "typescript/lib/typescript.js"});
  EXPECT_TRUE(runtime.ok()) << runtime.status();
  return *runtime;
}

// A script API as the service declares it (service/typescript_declarations.cc), cut down.
constexpr char kScriptApi[] = R"ts(
declare const console: { log(...args: unknown[]): void };
declare const connectors: {
  sift: { scoreOf(userId: string, abuseType?: string): number };
};
)ts";

class TypeScriptTranspilerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    runtime_ = new std::shared_ptr<const ScriptRuntime>(Runtime());
    TranspilerOptions options;
    options.runtime = *runtime_;
    options.time_source = &time_;
    options.declarations = kScriptApi;
    // The first type check loads the built-ins' declarations: ≈ 2 s, more under sanitizers.
    options.timeout = absl::Seconds(10);
    transpiler_ = NewTypeScriptTranspiler(options).release();
  }
  static void TearDownTestSuite() {
    delete transpiler_;
    delete runtime_;
  }

  static RealTimeSource time_;
  static std::shared_ptr<const ScriptRuntime>* runtime_;
  static Transpiler* transpiler_;
};

RealTimeSource TypeScriptTranspilerTest::time_;
std::shared_ptr<const ScriptRuntime>* TypeScriptTranspilerTest::runtime_ = nullptr;
Transpiler* TypeScriptTranspilerTest::transpiler_ = nullptr;

TEST_F(TypeScriptTranspilerTest, LowersToES5WithALineMapBackToTheSource) {
  ASSERT_OK_AND_ASSIGN(TranspileOutput output,
                       transpiler_->Transpile("const a: number = 1;\nconst b = `${a}`;\n"
                                              "throw new Error(b);\n"));
  EXPECT_TRUE(output.diagnostics.empty());
  EXPECT_THAT(output.javascript, HasSubstr("function __script(input)"));
  EXPECT_THAT(output.javascript, ::testing::Not(HasSubstr("`")));
  const std::vector<std::string> lines = absl::StrSplit(output.javascript, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("throw new Error") != std::string::npos) {
      ASSERT_LT(i + 1, output.original_lines.size());
      EXPECT_EQ(output.original_lines[i + 1], 3) << lines[i];
    }
  }
}

TEST_F(TypeScriptTranspilerTest, SyntaxErrorsHaveTheAuthorsLineAndColumn) {
  ASSERT_OK_AND_ASSIGN(TranspileOutput output, transpiler_->Transpile("let x = 1;\nlet y = (x +;\n"));
  ASSERT_FALSE(output.diagnostics.empty());
  EXPECT_EQ(output.diagnostics[0].line, 2);
  EXPECT_EQ(output.diagnostics[0].column, 13);
  EXPECT_TRUE(output.javascript.empty());
}

TEST_F(TypeScriptTranspilerTest, APathologicalSourceEndsInADiagnosticWithinItsBudget) {
  std::string deep = "const x = ";
  for (int i = 0; i < 5000; ++i) deep += "[";
  ASSERT_OK_AND_ASSIGN(TranspileOutput output, transpiler_->Transpile(deep));
  EXPECT_FALSE(output.diagnostics.empty());
  // The compiler heap is reloaded if needed: an ordinary script still transpiles afterwards.
  ASSERT_OK_AND_ASSIGN(TranspileOutput next, transpiler_->Transpile("return (() => 1)();"));
  EXPECT_TRUE(next.diagnostics.empty());
}

TEST_F(TypeScriptTranspilerTest, RuntimeErrorsInAsyncCodeMapToTheAuthorsLine) {
  InProcessSandboxOptions options;
  options.engine.time_source = &time_;
  options.engine.runtime = *runtime_;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sandbox> sandbox, NewInProcessSandbox(options));
  SandboxRequest request;
  request.source =
      "interface Input { score?: number }\n"
      "const check = async (x: Input) => {\n"
      "  await null;\n"
      "  const limit = x.score ?? 0.5;\n"
      "  throw new Error(`score ${limit} too high`);\n"
      "};\n"
      "return await check({});\n";
  request.deadline = time_.Now() + absl::Seconds(10);
  ASSERT_OK_AND_ASSIGN(SandboxResult result, sandbox->Evaluate(request));
  ASSERT_TRUE(result.evaluation.error.has_value());
  EXPECT_EQ(result.evaluation.error->message, "Error: score 0.5 too high");
  EXPECT_EQ(result.evaluation.error->line, 5) << result.evaluation.error->stack;
}

// A body that closes its own function early would have its tail silently dropped, and import or
// export have no meaning in a function body: both are diagnostics at the author's line, whether the
// body is ES5 (checked by Duktape) or needs the transpiler (checked on TypeScript's parse).
TEST_F(TypeScriptTranspilerTest, ABodyThatClosesItsFunctionEarlyOrImportsIsADiagnostic) {
  std::unique_ptr<Compiler> compiler = NewDuktapeCompiler(CompilerOptions{}, time_, transpiler_);
  const struct {
    const char* source;
    const char* message;
    int line;
  } cases[] = {
      {"var a = 1;\nreturn a;\n}\nsteal();\nfunction tail() {", "closes its own function body early",
       4},
      {"const a: number = 1;\nreturn a;\n}\nsteal();\nfunction tail() {", "unbalanced braces", 4},
      {"import fs from 'fs';\nreturn 1;", "import and export are not available", 1},
      {"const x = 1;\nexport { x };", "import and export are not available", 2},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.source);
    ASSERT_OK_AND_ASSIGN(CompileResult result, compiler->Compile(c.source));
    EXPECT_EQ(result.script, nullptr);
    ASSERT_FALSE(result.diagnostics.empty());
    EXPECT_THAT(result.diagnostics[0].message, HasSubstr(c.message));
    EXPECT_EQ(result.diagnostics[0].line, c.line);
  }
  // Balanced bodies of both kinds compile.
  for (const char* good : {"var a = {b: function () { return 1; }};\nreturn a.b();",
                           "const a = {b: () => 1};\nreturn a.b();"}) {
    ASSERT_OK_AND_ASSIGN(CompileResult result, compiler->Compile(good));
    EXPECT_NE(result.script, nullptr) << good;
  }
}

constexpr Diagnostic::Severity kWarning = Diagnostic::Severity::kWarning;

TEST_F(TypeScriptTranspilerTest, TypeErrorsAreWarningsAtTheAuthorsLineAndColumn) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<Diagnostic> warnings,
      transpiler_->CheckTypes("interface Applicant { name: string; age: number }\n"
                              "const a: Applicant = { name: 'Ada', age: '36' };\n"
                              "const years: number = a.name;\n"
                              "return a.name.toFixed(2);\n"));
  EXPECT_THAT(
      warnings,
      ElementsAre(
          FieldsAre(kWarning, "TS2322: Type 'string' is not assignable to type 'number'.", 2, 37),
          FieldsAre(kWarning, "TS2322: Type 'string' is not assignable to type 'number'.", 3, 7),
          FieldsAre(kWarning,
                    "TS2551: Property 'toFixed' does not exist on type 'string'. Did you mean "
                    "'fixed'?",
                    4, 15)));
}

TEST_F(TypeScriptTranspilerTest, TheTypeCheckKnowsTheBuiltInsAndTheScriptApi) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<Diagnostic> clean,
      transpiler_->CheckTypes("type Decision = 'approve' | 'review';\n"
                              "const scores = new Map<string, number>([['a', 0.2]]);\n"
                              "const settled = await Promise.allSettled([Promise.resolve(1)]);\n"
                              "const entries = Object.entries({a: 1}).flat();\n"
                              "console.log(input.user, settled.length, entries.includes('a'));\n"
                              "const score: number = connectors.sift.scoreOf(input.user);\n"
                              "const d: Decision = score < (scores.get('a') ?? 1) ? 'approve' : "
                              "'review';\n"
                              "return {decision: d};\n"));
  EXPECT_THAT(clean, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<Diagnostic> misuse,
                       transpiler_->CheckTypes("const id: number = 42;\n"
                                               "return connectors.sift.scoreOf(id);\n"));
  EXPECT_THAT(misuse, ElementsAre(FieldsAre(kWarning,
                                            "TS2345: Argument of type 'number' is not assignable "
                                            "to parameter of type 'string'.",
                                            2, 32)));
}

// Without annotations TypeScript's inference flags legal JavaScript (a property added to `{}`):
// only sources with TypeScript syntax are checked.
TEST_F(TypeScriptTranspilerTest, PlainJavaScriptIsNotTypeChecked) {
  ASSERT_OK_AND_ASSIGN(std::vector<Diagnostic> warnings,
                       transpiler_->CheckTypes("class Scores extends Array {}\n"
                                               "const o = {};\n"
                                               "o.total = new Scores().length;\n"
                                               "return o.total;\n"));
  EXPECT_THAT(warnings, IsEmpty());
  // An access modifier alone makes it TypeScript.
  ASSERT_OK_AND_ASSIGN(std::vector<Diagnostic> typed,
                       transpiler_->CheckTypes("class Scores { private total = 0; }\n"
                                               "return new Scores().sum;\n"));
  EXPECT_THAT(typed, ElementsAre(FieldsAre(
                         kWarning, "TS2339: Property 'sum' does not exist on type 'Scores'.", 2,
                         21)));
}

// CompileCode's path: the script compiles (warnings never stop it) and runs; EvaluateCode's path
// spends nothing on types.
TEST_F(TypeScriptTranspilerTest, CompileReportsTypeWarningsAndTheScriptStillRuns) {
  InProcessSandboxOptions options;
  options.engine.time_source = &time_;
  options.engine.runtime = *runtime_;
  options.script_api_declarations = kScriptApi;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sandbox> sandbox, NewInProcessSandbox(options));
  const std::string source = "const limit: string = 0.5;\nreturn {decision: 'review', limit};\n";
  ASSERT_OK_AND_ASSIGN(CompileOutcome outcome, sandbox->Compile(source, TypeCheck::kRun));
  EXPECT_TRUE(outcome.compiled());
  EXPECT_THAT(outcome.diagnostics,
              ElementsAre(FieldsAre(
                  kWarning, "TS2322: Type 'number' is not assignable to type 'string'.", 1, 7)));
  ASSERT_OK_AND_ASSIGN(CompileOutcome unchecked, sandbox->Compile(source, TypeCheck::kSkip));
  EXPECT_TRUE(unchecked.cache_hit);
  EXPECT_THAT(unchecked.diagnostics, IsEmpty());
  SandboxRequest request;
  request.source = source;
  request.deadline = time_.Now() + absl::Seconds(10);
  ASSERT_OK_AND_ASSIGN(SandboxResult result, sandbox->Evaluate(request));
  EXPECT_THAT(result.compile.diagnostics, IsEmpty());
  EXPECT_FALSE(result.evaluation.error.has_value());
  // A syntax error is an error, and no type check runs on a source that does not compile.
  ASSERT_OK_AND_ASSIGN(CompileOutcome broken,
                       sandbox->Compile("const a: number = (1 +;\n", TypeCheck::kRun));
  EXPECT_FALSE(broken.compiled());
  EXPECT_THAT(broken.diagnostics, ::testing::SizeIs(1));
}

}  // namespace
}  // namespace evaluatecode::sandbox
