// The Duktape compiler and engine, exercised directly: results, console, errors and limits.
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "common/cancellation.h"
#include "common/time_source.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "sandbox/duktape_compiler.h"
#include "sandbox/duktape_engine.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::sandbox {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

std::string ToJson(const google::protobuf::Value& value) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(value, &json).ok());
  return json;
}

// Struct fields are a map, so compare values rather than JSON text.
MATCHER_P(EqualsJson, json, "") {
  google::protobuf::Value expected;
  if (!google::protobuf::util::JsonStringToMessage(json, &expected).ok()) return false;
  *result_listener << "which is " << ToJson(arg);
  return google::protobuf::util::MessageDifferencer::Equals(arg, expected);
}

class DuktapeEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    compiler_ = NewDuktapeCompiler(CompilerOptions{}, time_);
    ASSERT_OK_AND_ASSIGN(engine_, NewDuktapeEngine(EngineOptions{&time_}));
  }

  CompileResult Compile(const std::string& code) {
    absl::StatusOr<CompileResult> compiled = compiler_->Compile(code);
    EXPECT_TRUE(compiled.ok()) << compiled.status();
    return compiled.ok() ? *compiled : CompileResult{};
  }

  // Compiles and runs `code` with `input_json`, expecting it to compile.
  EvaluationResult Run(const std::string& code, const std::string& input_json = "{}",
                       absl::Duration timeout = absl::Seconds(5)) {
    CompileResult compiled = Compile(code);
    EXPECT_TRUE(compiled.ok()) << (compiled.diagnostics.empty() ? ""
                                                                 : compiled.diagnostics[0].message);
    if (!compiled.ok()) return EvaluationResult{};
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(input_json, &input_).ok());
    request_.input = &input_;
    request_.deadline = time_.Now() + timeout;
    absl::StatusOr<EvaluationResult> result = engine_->Evaluate(*compiled.script, request_);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : EvaluationResult{};
  }

  RealTimeSource time_;
  std::unique_ptr<Compiler> compiler_;
  std::unique_ptr<Engine> engine_;
  google::protobuf::Struct input_;
  EvaluationRequest request_;
};

TEST_F(DuktapeEngineTest, ReturnsWhatTheScriptComputesFromInput) {
  EvaluationResult result = Run("return input.a * input.b;", R"({"a": 6, "b": 7})");
  ASSERT_FALSE(result.error.has_value()) << result.error->message;
  EXPECT_EQ(ToJson(result.result), "42");
  EXPECT_GT(result.peak_heap_bytes, 0u);
}

TEST_F(DuktapeEngineTest, NoReturnGivesNull) {
  EvaluationResult result = Run("var x = 1;");
  ASSERT_FALSE(result.error.has_value());
  EXPECT_EQ(ToJson(result.result), "null");
}

TEST_F(DuktapeEngineTest, NestedResultFollowsJsonSemantics) {
  EvaluationResult result = Run(
      "return {decision: 'review', reasons: ['a', 'b'], skipped: undefined,"
      " holes: [1, undefined, null], when: new Date(0), nested: {deep: [true, 2.5]}};");
  ASSERT_FALSE(result.error.has_value()) << result.error->message;
  EXPECT_THAT(result.result,
              EqualsJson(R"({"decision":"review","holes":[1,null,null],"nested":{"deep":[true,2.5]},)"
                         R"("reasons":["a","b"],"when":"1970-01-01T00:00:00.000Z"})"));
}

TEST_F(DuktapeEngineTest, InputObjectsIterateInSortedKeyOrder) {
  EvaluationResult result = Run("return Object.keys(input).join(',');", R"({"b":1,"c":2,"a":3})");
  ASSERT_FALSE(result.error.has_value());
  EXPECT_EQ(ToJson(result.result), R"("a,b,c")");
}

TEST_F(DuktapeEngineTest, ConsoleIsCapturedWithLevelsInOrder) {
  EvaluationResult result =
      Run("console.log('one', 2, {three: 3}); console.info('i'); console.warn('w');"
          " console.error('e'); var c = {}; c.self = c; console.log(c); return 1;");
  ASSERT_FALSE(result.error.has_value());
  EXPECT_THAT(result.logs,
              ElementsAre(Field(&LogEntry::message, R"(one 2 {"three":3})"),
                          Field(&LogEntry::level, LogEntry::Level::kInfo),
                          Field(&LogEntry::level, LogEntry::Level::kWarn),
                          Field(&LogEntry::level, LogEntry::Level::kError),
                          Field(&LogEntry::message, "[object Object]")));
}

TEST_F(DuktapeEngineTest, ConsoleFloodIsCutAtMaxLogBytes) {
  request_.limits.max_log_bytes = 100;
  EvaluationResult result = Run("for (var i = 0; i < 100000; i++) console.log('0123456789');"
                                " return 'done';");
  ASSERT_FALSE(result.error.has_value());
  EXPECT_EQ(ToJson(result.result), R"("done")");
  ASSERT_THAT(result.logs, SizeIs(10));  // 9 entries of 11 bytes, then the truncation notice
  EXPECT_THAT(result.logs.back().message, HasSubstr("truncated"));
}

TEST_F(DuktapeEngineTest, ThrowReportsMessageLineAndStackAndKeepsEarlierLogs) {
  EvaluationResult result = Run("console.log('before');\nvar x = 1;\nthrow new Error('boom');");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kRuntimeError);
  EXPECT_EQ(result.error->message, "Error: boom");
  EXPECT_EQ(result.error->line, 3);
  EXPECT_THAT(result.error->stack, HasSubstr("(script:3)"));
  EXPECT_THAT(result.error->stack, ::testing::Not(HasSubstr(".c:")));
  EXPECT_THAT(result.logs, ElementsAre(Field(&LogEntry::message, "before")));
}

TEST_F(DuktapeEngineTest, ThrownNonErrorValueIsReported) {
  EvaluationResult result = Run("throw 'plain string';");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kRuntimeError);
  EXPECT_EQ(result.error->message, "plain string");
}

TEST_F(DuktapeEngineTest, SyntaxErrorIsADiagnosticWithItsLine) {
  CompileResult compiled = Compile("var a = 1;\nreturn {;");
  ASSERT_FALSE(compiled.ok());
  ASSERT_THAT(compiled.diagnostics, SizeIs(1));
  EXPECT_THAT(compiled.diagnostics[0].message, StartsWith("SyntaxError"));
  EXPECT_EQ(compiled.diagnostics[0].line, 2);
}

TEST_F(DuktapeEngineTest, TextAfterAnEarlyCloseOfTheBodyNeverRuns) {
  // Duktape compiles the body in function-expression mode, which stops at the brace that closes the
  // function: what follows is not compiled, so it cannot run outside the wrapper.
  EvaluationResult result =
      Run("return 'inside'; }); throw new Error('outside'); (function () {");
  ASSERT_FALSE(result.error.has_value()) << result.error->message;
  EXPECT_EQ(ToJson(result.result), R"("inside")");
}

TEST_F(DuktapeEngineTest, InfiniteLoopStopsAtTheDeadline) {
  const absl::Time start = absl::Now();
  EvaluationResult result = Run("while (true) {}", "{}", absl::Milliseconds(200));
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kTimeout);
  EXPECT_GE(elapsed, absl::Milliseconds(200));
  EXPECT_LT(elapsed, absl::Seconds(2));  // generous: the 300 ms bound is checked over gRPC
}

TEST_F(DuktapeEngineTest, TimeoutCannotBeSwallowedByCatchOrFinally) {
  EvaluationResult result =
      Run("for (;;) { try { while (true) {} } catch (e) {} finally { continue; } }", "{}",
          absl::Milliseconds(100));
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kTimeout);
}

TEST_F(DuktapeEngineTest, CancellationStopsARunningScript) {
  Cancellation cancellation;
  cancellation.Cancel(CancellationCause::kCallerCancelled);
  request_.cancellation = &cancellation;
  EvaluationResult result = Run("while (true) {}");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kCancelled);
}

TEST_F(DuktapeEngineTest, MemoryBombHitsTheCap) {
  request_.limits.memory_bytes = 8 << 20;
  EvaluationResult result =
      Run("var a = []; for (;;) a.push(new Array(1000).join('x') + a.length);");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kMemoryLimit);
  EXPECT_LE(result.peak_heap_bytes, 8u << 20);
}

TEST_F(DuktapeEngineTest, AnArrayOfOneRepeatedStringHitsTheCap) {
  // Duktape interns strings: every element is the same 999 bytes, and the array's slots are what
  // grows (16 bytes each). Each join of 1,000 holes used to cost ~100 µs, so the cap was ~25 s
  // away and the deadline came first (contract-check's memory bomb).
  request_.limits.memory_bytes = 8 << 20;
  EvaluationResult result = Run("var a = []; for (;;) a.push(new Array(1000).join('x'));");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kMemoryLimit) << result.error->message;
}

TEST_F(DuktapeEngineTest, JoiningMoreHolesThanTheCapAllowsHitsTheCap) {
  request_.limits.memory_bytes = 8 << 20;
  EvaluationResult result = Run("return new Array(100 << 20).join('x').length;");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kMemoryLimit) << result.error->message;
}

TEST_F(DuktapeEngineTest, CatchingTheAllocationFailureStillReportsTheMemoryLimit) {
  request_.limits.memory_bytes = 4 << 20;
  EvaluationResult result =
      Run("try { var s = 'x'; for (;;) s = s + s; } catch (e) { throw new Error('masked'); }");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kMemoryLimit);
}

TEST_F(DuktapeEngineTest, CapTooSmallForAHeapIsAMemoryLimitError) {
  request_.limits.memory_bytes = 1024;
  EvaluationResult result = Run("return 1;");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kMemoryLimit);
}

struct InvalidResultCase {
  const char* code;
  const char* reason;
};

class InvalidResultTest : public DuktapeEngineTest,
                          public ::testing::WithParamInterface<InvalidResultCase> {};

TEST_P(InvalidResultTest, IsReportedWithItsPath) {
  request_.limits.max_output_bytes = 1000;
  EvaluationResult result = Run(GetParam().code);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kResultInvalid);
  EXPECT_THAT(result.error->message, HasSubstr(GetParam().reason));
}

INSTANTIATE_TEST_SUITE_P(
    NotJson, InvalidResultTest,
    ::testing::Values(InvalidResultCase{"return function () {};", "result is a function"},
                      InvalidResultCase{"return {a: [1, NaN]};", "result.a[1] is NaN"},
                      InvalidResultCase{"return {b: 1 / 0};", "result.b is Infinity"},
                      InvalidResultCase{"var o = {}; o.me = {up: o}; return o;",
                                        "result.me.up is a cycle"},
                      InvalidResultCase{"var o = {}; for (var i = 0; i < 100; i++) o = {x: o};"
                                        " return o;",
                                        "nested too deeply"},
                      InvalidResultCase{"return new Array(2000).join('x');",
                                        "larger than max_output_bytes"},
                      InvalidResultCase{"return {s: Symbol('x')};", "result.s is a symbol"}));

struct JoinCase {
  const char* code;
  const char* result_json;
};

// Array.prototype.join answers an array of holes itself (sandbox/array_join.h) and leaves every
// other case to Duktape: both must be what ES5.1 says.
class ArrayJoinTest : public DuktapeEngineTest, public ::testing::WithParamInterface<JoinCase> {};

TEST_P(ArrayJoinTest, JoinsAsTheStandardSays) {
  EvaluationResult result = Run(GetParam().code);
  ASSERT_FALSE(result.error.has_value()) << result.error->message;
  EXPECT_EQ(ToJson(result.result), GetParam().result_json);
}

INSTANTIATE_TEST_SUITE_P(
    HolesAndEverythingElse, ArrayJoinTest,
    ::testing::Values(
        JoinCase{"return new Array(4).join('ab');", R"("ababab")"},
        JoinCase{"return new Array(4).join();", R"(",,,")"},
        JoinCase{"return new Array(4).join(undefined);", R"(",,,")"},
        JoinCase{"return [new Array(3).join(''), new Array(1).join('x'), [].join('x')];",
                 R"(["","",""])"},
        JoinCase{"var a = []; a.length = 3; return a.join('\\u00e9\\ud83d\\ude00');",
                 "\"\xC3\xA9\xF0\x9F\x98\x80\xC3\xA9\xF0\x9F\x98\x80\""},
        JoinCase{"return [String(new Array(3)), new Array(3) + ''];", R"([",,",",,"])"},
        // A separator that is not a string is converted, by code the script may own.
        JoinCase{"return [new Array(3).join(0), new Array(3).join({toString: function () {"
                 " return '-'; }})];",
                 R"(["00","--"])"},
        JoinCase{"var a = new Array(5); a[3] = 'x'; return a.join('.');", R"("...x.")"},
        JoinCase{"return [undefined, null, 1, 'b'].join('-');", R"("--1-b")"},
        // An element's getter runs once, in order.
        JoinCase{"var n = 0, a = new Array(3); Object.defineProperty(a, 2, {get: function () {"
                 " n++; return 'g'; }}); return a.join('-') + n;",
                 R"("--g1")"},
        // What an array inherits counts, whatever its prototype.
        JoinCase{"var a = new Array(3); Object.setPrototypeOf(a, Object.create(Array.prototype,"
                 " {1: {value: 'p'}})); return a.join('-');",
                 R"("-p-")"},
        // A Proxy's traps run, even one with Array.prototype as its own prototype.
        JoinCase{"var p = new Proxy(new Array(3), {get: function (t, k) {"
                 " return k === 'length' ? t.length : 'q'; }});"
                 " Object.setPrototypeOf(p, Array.prototype);"
                 " return [Array.prototype.join.call(p, '-'), Array.isArray(p)];",
                 R"(["q-q-q",true])"},
        JoinCase{"return Array.prototype.join.call({length: 3, 1: 'o'}, '-');", R"("-o-")"},
        // The built-in prototypes stay without index properties: they are frozen.
        JoinCase{"var failed = 0; try { Array.prototype[1] = 'y'; } catch (e) { failed++; }"
                 " try { Object.prototype[1] = 'y'; } catch (e) { failed++; }"
                 " return [new Array(3).join('-'), failed];",
                 R"(["--",2])"},
        // It looks like the built-in it replaces.
        JoinCase{"var join = Array.prototype.join, constructed = 'no TypeError';"
                 " try { new join(); } catch (e) { constructed = e.name; }"
                 " return [join.name, join.length, String(join), join.prototype, constructed,"
                 " Object.getOwnPropertyDescriptor(Array.prototype, 'join').enumerable];",
                 R"(["join",1,"function join() { [native code] }",null,"TypeError",false])"}));

TEST_F(DuktapeEngineTest, JoinThrowsWhatTheStandardSays) {
  EvaluationResult result = Run("return Array.prototype.join.call(null);");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kRuntimeError);
  EXPECT_THAT(result.error->message, StartsWith("TypeError"));
}

TEST_F(DuktapeEngineTest, JoiningIntoMoreThanAStringCanHoldIsARangeError) {
  EvaluationResult result = Run("return new Array(4294967295).join('x').length;");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kRuntimeError);
  EXPECT_THAT(result.error->message,
              StartsWith("RangeError: join's result would be 4294967294 bytes"));
}

TEST_F(DuktapeEngineTest, StringsLeaveTheEngineAsValidUtf8) {
  // Duktape keeps surrogate pairs as CESU-8; protobuf needs UTF-8 (fuzzer finding F1).
  EvaluationResult result = Run(
      "console.log('\\ud83d\\ude00'); var o = {}; o['k\\ud83d\\ude00'] = String.fromCharCode(0xdc00);"
      " return [String.fromCharCode(0xd83d, 0xde00), o];");
  ASSERT_FALSE(result.error.has_value()) << result.error->message;
  EXPECT_EQ(ToJson(result.result), "[\"\xF0\x9F\x98\x80\",{\"k\xF0\x9F\x98\x80\":\"\xEF\xBF\xBD\"}]");
  ASSERT_EQ(result.logs.size(), 1u);
  EXPECT_EQ(result.logs[0].message, "\xF0\x9F\x98\x80");
  google::protobuf::Value parsed;
  EXPECT_TRUE(parsed.ParseFromString(result.result.SerializeAsString()));
}

TEST_F(DuktapeEngineTest, AnInputKeyNamedProtoStaysAnOwnProperty) {
  // Fuzzer finding F2: assigning "__proto__" would have set the prototype instead.
  EvaluationResult result = Run(
      "return [Object.keys(input), input.isAdmin === undefined];",
      R"({"__proto__": {"isAdmin": true}})");
  ASSERT_FALSE(result.error.has_value()) << result.error->message;
  EXPECT_EQ(ToJson(result.result), R"([["__proto__"],true])");
}

TEST_F(DuktapeEngineTest, EngineInternalsAreNotReachable) {
  EvaluationResult result =
      Run("return [typeof Duktape, typeof CBOR, typeof require, typeof print, typeof alert];");
  ASSERT_FALSE(result.error.has_value());
  EXPECT_EQ(ToJson(result.result),
            R"(["undefined","undefined","undefined","undefined","undefined"])");
}

}  // namespace
}  // namespace evaluatecode::sandbox
