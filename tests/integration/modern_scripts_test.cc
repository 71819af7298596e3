// Modern JavaScript and TypeScript, transpiled inside the service, evaluating over gRPC with their
// errors at the author's own line and column.
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/test_server.h"

namespace evaluatecode {
namespace {

using ::evaluate::v1::EvaluateCodeResponse;
using ::testing::HasSubstr;

std::string ResultJson(const EvaluateCodeResponse& response) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(response.result(), &json).ok());
  return json;
}

class ModernScriptsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::TestServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // Runs `code` and returns its result as JSON, failing the test on an error.
  std::string Run(const std::string& code, const std::string& input = "{}") {
    EvaluateCodeResponse response;
    grpc::Status status =
        testing::Evaluate(server_->stub(), testing::MakeRequest(code, input, 10000), &response,
                          20000);
    EXPECT_TRUE(status.ok()) << status.error_message() << "\n" << code;
    return ResultJson(response);
  }

  grpc::Status Fail(const std::string& code) {
    EvaluateCodeResponse response;
    return testing::Evaluate(server_->stub(), testing::MakeRequest(code, "{}", 10000), &response,
                             20000);
  }

  static testing::TestServer* server_;
};

testing::TestServer* ModernScriptsTest::server_ = nullptr;

struct FeatureCase {
  const char* name;
  const char* code;
  const char* result;
};

TEST_F(ModernScriptsTest, EachModernFeatureEvaluates) {
  const FeatureCase cases[] = {
      {"arrow functions", "const double = (x) => x * 2; return [1, 2].map(double);", "[2,4]"},
      {"let and const", "let a = 1; { let a = 2; } const b = a + 1; return b;", "2"},
      {"template literals", "const who = 'Ada'; return `hello ${who} ${1 + 1}`;",
       "\"hello Ada 2\""},
      {"classes", "class A { constructor(x) { this.x = x; } get twice() { return this.x * 2; } }"
                  " class B extends A { static make() { return new B(21); } }"
                  " return B.make().twice;", "42"},
      {"destructuring", "const {a, b: [c, d = 4]} = {a: 1, b: [3]}; return a + c + d;", "8"},
      {"spread and rest", "const f = (...xs) => xs.length; const o = {...{a: 1}, b: 2};"
                          " return [f(...[1, 2, 3]), o.a + o.b, [...'ab'].join('-')];",
       "[3,3,\"a-b\"]"},
      {"for of", "let sum = 0; for (const x of [1, 2, 3]) sum += x; return sum;", "6"},
      {"optional chaining", "const o = {a: {b: 1}}; return [o?.a?.b, o?.x?.y];", "[1,null]"},
      {"nullish coalescing", "const z = 0; return [z ?? 5, null ?? 'd'];", "[0,\"d\"]"},
      {"default parameters", "function f(a, b = a + 1) { return a * b; } return f(3);", "12"},
      {"Map and Set", "const m = new Map([['a', 1]]); const s = new Set([1, 1, 2]);"
                      " return [m.get('a'), s.size, [...m.keys()]];", "[1,2,[\"a\"]]"},
      {"Array.from and includes", "return [Array.from({length: 3}, (_, i) => i), [1, 2].includes(2)];",
       "[[0,1,2],true]"},
      {"Object.entries", "return Object.entries({a: 1, b: 2}).map(([k, v]) => k + v);",
       "[\"a1\",\"b2\"]"},
      {"async and await", "const wait = async (x) => x + 1; const y = await wait(1);"
                          " return await Promise.all([wait(y), Promise.resolve(9)]);", "[3,9]"},
      {"top-level await on a plain value", "const v = await 41; return v + 1;", "42"},
      {"generators", "function* g() { yield 1; yield 2; } return [...g()];", "[1,2]"},
      {"TypeScript interfaces and generics",
       "interface Check { name: string; passed: boolean }\n"
       "function failed<T extends Check>(xs: T[]): string[] { return xs.filter(x => !x.passed).map(x => x.name); }\n"
       "return failed([{name: 'id', passed: true}, {name: 'selfie', passed: false}]);",
       "[\"selfie\"]"},
      {"TypeScript enums", "enum Outcome { Approve = 'approve', Decline = 'decline' }\n"
                           "const o: Outcome = Outcome.Decline; return o;", "\"decline\""},
      {"classes with private fields",
       "class Counter { #count = 0; inc(): number { return ++this.#count; } }\n"
       "const c = new Counter(); c.inc(); return c.inc();", "2"},
      {"TypeScript type-only syntax", "type Score = number; const s = 0.5 as Score;"
                                      " let x!: number; x = 1; return s + x;", "1.5"},
  };
  for (const FeatureCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Run(c.code), c.result);
  }
}

TEST_F(ModernScriptsTest, ATypeScriptSyntaxErrorIsReportedAtTheAuthorsLineAndColumn) {
  grpc::Status status = Fail("interface A { x: number }\nconst a: A = {x: 1};\nconst b = (a.x +;\n");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  testing::ErrorDetails details = testing::DetailsOf(status);
  EXPECT_EQ(details.info.reason(), "SCRIPT_SYNTAX_ERROR");
  EXPECT_EQ(details.evaluation_error.line(), 3u);
  EXPECT_EQ(details.evaluation_error.column(), 17u);
  EXPECT_EQ(details.info.metadata().at("column"), "17");
}

TEST_F(ModernScriptsTest, ARuntimeErrorInTranspiledCodeIsReportedAtTheAuthorsLine) {
  grpc::Status status = Fail(
      "interface Input { score?: number }\n"
      "const check = async (x: Input) => {\n"
      "  await null;\n"
      "  const limit = x.score ?? 0.5;\n"
      "  throw new Error(`score ${limit} too high`);\n"
      "};\n"
      "return await check({});\n");
  testing::ErrorDetails details = testing::DetailsOf(status);
  EXPECT_EQ(details.info.reason(), "SCRIPT_RUNTIME_ERROR");
  EXPECT_EQ(details.evaluation_error.message(), "Error: score 0.5 too high");
  EXPECT_EQ(details.evaluation_error.line(), 5u);
}

TEST_F(ModernScriptsTest, APromiseThatNeverSettlesIsReported) {
  grpc::Status status = Fail("await new Promise(() => {});\nreturn 1;");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(testing::DetailsOf(status).info.reason(), "SCRIPT_UNSETTLED_PROMISE");
}

TEST_F(ModernScriptsTest, ARejectedPromiseIsARuntimeError) {
  grpc::Status status = Fail("await Promise.reject(new TypeError('no'));");
  testing::ErrorDetails details = testing::DetailsOf(status);
  EXPECT_EQ(details.info.reason(), "SCRIPT_RUNTIME_ERROR");
  EXPECT_EQ(details.evaluation_error.message(), "TypeError: no");
}

TEST_F(ModernScriptsTest, AnAsyncLoopIsStillStoppedAtTheDeadline) {
  EvaluateCodeResponse response;
  grpc::Status status = testing::Evaluate(
      server_->stub(),
      testing::MakeRequest("const spin = async () => { for (;;) await null; };\nawait spin();",
                           "{}", 300),
      &response);
  EXPECT_EQ(testing::DetailsOf(status).info.reason(), "SCRIPT_TIMEOUT");
}

TEST_F(ModernScriptsTest, ES5BuiltInsFromTheRuntimeWorkWithoutTranspiling) {
  EXPECT_EQ(Run("var m = new Map(); m.set('k', 2); return m.get('k') + [1, 2].includes(2);"), "3");
}

}  // namespace
}  // namespace evaluatecode
