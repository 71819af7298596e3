// Warm heaps are reused between evaluations: these scripts try hard to leave something behind,
// and the evaluations after them (same script, other script, other tenant) must see none of it.
#include <memory>
#include <string>
#include <vector>

#include "common/time_source.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "sandbox/duktape_compiler.h"
#include "sandbox/duktape_engine.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::sandbox {
namespace {

// Each attack catches its own errors so that its evaluation succeeds and its heap goes back to the
// pool: an evaluation that fails has its heap destroyed, which would prove nothing.
const char* const kAttacks[] = {
    "try { Object.prototype.polluted = 'yes'; } catch (e) {}",
    "try { Object.defineProperty(Object.prototype, 'polluted', {value: 'yes'}); } catch (e) {}",
    "try { Array.prototype.push = function () { return 'hijacked'; }; } catch (e) {}",
    "try { Array.prototype.hijacked = true; } catch (e) {}",
    "try { JSON.stringify = function () { return 'hijacked'; }; } catch (e) {}",
    "try { JSON.parse = null; } catch (e) {}",
    "try { Math.random = function () { return 4; }; } catch (e) {}",
    "try { String.prototype.trim = function () { return 'hijacked'; }; } catch (e) {}",
    "try { String.prototype.hijacked = 1; } catch (e) {}",
    "try { Date.prototype.getTime = function () { return 0; }; } catch (e) {}",
    "try { Error.prototype.toString = function () { return 'hijacked'; }; } catch (e) {}",
    "try { Function.prototype.call = function () { return 'hijacked'; }; } catch (e) {}",
    "try { Object.keys = function () { return []; }; } catch (e) {}",
    "try { console.log = function () {}; } catch (e) {}",
    "try { console.hijacked = 1; } catch (e) {}",
    "try { leaked = 'yes'; } catch (e) {}",
    "try { Function('return this')().leaked = 'yes'; } catch (e) {}",
    "try { Function('leaked = \"yes\"')(); } catch (e) {}",
    "try { (0, eval)('var leaked = \"yes\"'); } catch (e) {}",
    "try { (0, eval)('function leaked() { return \"yes\"; }'); } catch (e) {}",
    "try { Object.defineProperty(Function('return this')(), 'leaked', {value: 'yes'}); } catch (e) {}",
    "try { Object.setPrototypeOf(Object.prototype, {polluted: 'yes'}); } catch (e) {}",
    "try { Object.prototype.__proto__ = {polluted: 'yes'}; } catch (e) {}",
    "try { Array.stash = function () { return input; }; } catch (e) {}",
    "try { Math.stash = input; } catch (e) {}",
    "try { Object.getPrototypeOf(input).polluted = 'yes'; } catch (e) {}",
    "try { var f = function () {}; f.constructor.prototype.hijacked = 1; } catch (e) {}",
    "try { Symbol.prototype.hijacked = 1; } catch (e) {}",
    "try { RegExp.prototype.exec = function () { return null; }; } catch (e) {}",
    "try { Number.prototype.toFixed = function () { return 'hijacked'; }; } catch (e) {}",
    "try { Object.freeze = function (o) { return o; }; } catch (e) {}",
    "try { globalThis.leaked = 'yes'; } catch (e) {}",
    "try { delete globalThis.JSON; } catch (e) {}",
    "try { Proxy = null; } catch (e) {}",
};

// Checks the world looks pristine; returns the list of what it found wrong.
constexpr char kVictim[] = R"js(
var wrong = [];
function check(name, ok) { if (!ok) wrong.push(name); }
var probe = {};
check('Object.prototype', probe.polluted === undefined && Object.getPrototypeOf(Object.prototype) === null);
var a = []; a.push(1);
check('Array.prototype.push', a.length === 1 && a[0] === 1 && [].hijacked === undefined);
check('JSON', JSON.stringify({x: 1}) === '{"x":1}' && typeof JSON.parse === 'function');
var r = Math.random(); check('Math.random', r >= 0 && r < 1);
check('String.prototype', ' x '.trim() === 'x' && ''.hijacked === undefined);
check('Date', new Date(5).getTime() === 5);
check('Error', String(new Error('m')) === 'Error: m' && new Error('x').name === 'Error');
check('Function.prototype', (function () { return 7; }).call(null) === 7 && (function () {}).hijacked === undefined);
check('Object.keys', Object.keys({a: 1}).length === 1);
check('console', typeof console.log === 'function' && console.hijacked === undefined);
check('globals', typeof leaked === 'undefined' && Function('return this')().leaked === undefined);
check('stashes', Array.stash === undefined && Math.stash === undefined);
check('input', Object.getPrototypeOf(input) === Object.prototype && input.polluted === undefined);
check('RegExp', /a/.exec('a') !== null);
check('Number', (1.5).toFixed(1) === '1.5');
check('freeze', Object.isFrozen(Object.freeze({})));
check('Proxy', typeof Proxy === 'function' && typeof JSON === 'object');
return wrong;
)js";

class IsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    compiler_ = NewDuktapeCompiler(CompilerOptions{}, time_);
    EngineOptions options{&time_};
    options.pool.max_idle_per_partition = 1;  // one heap per tenant: every run reuses it
    ASSERT_OK_AND_ASSIGN(engine_, NewDuktapeEngine(options));
  }

  EvaluationResult Run(const std::string& code, const std::string& tenant) {
    absl::StatusOr<CompileResult> compiled = compiler_->Compile(code);
    EXPECT_TRUE(compiled.ok() && compiled->ok()) << code;
    EvaluationRequest request;
    request.input = &input_;
    request.deadline = time_.Now() + absl::Seconds(5);
    request.partition = tenant;
    absl::StatusOr<EvaluationResult> result = engine_->Evaluate(*compiled->script, request);
    EXPECT_TRUE(result.ok());
    return *std::move(result);
  }

  std::string Wrong(const EvaluationResult& result) {
    std::string json;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(result.result, &json).ok());
    return json;
  }

  RealTimeSource time_;
  std::unique_ptr<Compiler> compiler_;
  std::unique_ptr<Engine> engine_;
  google::protobuf::Struct input_;
};

TEST_F(IsolationTest, AFreshWorldIsPristine) {
  EvaluationResult result = Run(kVictim, "a");
  ASSERT_FALSE(result.error.has_value()) << result.error->message;
  EXPECT_EQ(Wrong(result), "[]");
}

TEST_F(IsolationTest, AttacksLeaveNothingForTheNextEvaluation) {
  for (const char* attack : kAttacks) {
    SCOPED_TRACE(attack);
    const std::string attacker = std::string(attack) + "\nreturn 'attacked';";
    EvaluationResult attacked = Run(attacker, "tenant-a");
    ASSERT_FALSE(attacked.error.has_value()) << attacked.error->message;

    // The same script again, then another script, in the heap the attack ran in.
    EvaluationResult again = Run(attacker, "tenant-a");
    ASSERT_FALSE(again.error.has_value()) << again.error->message;
    EXPECT_TRUE(again.reused_heap);
    EvaluationResult victim = Run(kVictim, "tenant-a");
    ASSERT_FALSE(victim.error.has_value()) << victim.error->message;
    EXPECT_TRUE(victim.reused_heap);
    EXPECT_EQ(Wrong(victim), "[]");

    EvaluationResult other_tenant = Run(kVictim, "tenant-b");
    ASSERT_FALSE(other_tenant.error.has_value());
    EXPECT_EQ(Wrong(other_tenant), "[]");
  }
}

TEST_F(IsolationTest, WritesToBuiltInsThrowInStrictMode) {
  EvaluationResult result = Run("Array.prototype.push = null; return 1;", "a");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->kind, ScriptError::Kind::kRuntimeError);
  EXPECT_THAT(result.error->message, ::testing::HasSubstr("TypeError"));
  EvaluationResult implicit_global = Run("leaked = 1; return 1;", "a");
  ASSERT_TRUE(implicit_global.error.has_value());
  EXPECT_THAT(implicit_global.error->message, ::testing::HasSubstr("ReferenceError"));
}

TEST_F(IsolationTest, CommonOverridesOfInheritedMethodsStillWork) {
  // Frozen prototypes must not break ordinary code that shadows an inherited property.
  EvaluationResult result = Run(
      "var e = new Error('m'); e.name = 'MyError';\n"
      "function Money(n) { this.n = n; }\n"
      "Money.prototype.toString = function () { return '$' + this.n; };\n"
      "var o = {}; o.valueOf = function () { return 41; };\n"
      "return [String(e), String(new Money(5)), o + 1];",
      "a");
  ASSERT_FALSE(result.error.has_value()) << result.error->message;
  EXPECT_EQ(Wrong(result), R"(["MyError: m","$5",42])");
  EvaluationResult victim = Run(kVictim, "a");
  EXPECT_EQ(Wrong(victim), "[]");
  EvaluationResult direct = Run("Object.prototype.toString = null; return 1;", "a");
  ASSERT_TRUE(direct.error.has_value());
  EXPECT_THAT(direct.error->message, ::testing::HasSubstr("TypeError"));
}

TEST_F(IsolationTest, HeapsAreNotSharedAcrossTenants) {
  ASSERT_FALSE(Run("return 1;", "a").error.has_value());
  EvaluationResult other = Run("return 1;", "b");
  EXPECT_FALSE(other.reused_heap);
  EXPECT_TRUE(Run("return 1;", "a").reused_heap);
}

TEST_F(IsolationTest, AHeapWhereAnythingWentWrongIsNotReused) {
  ASSERT_FALSE(Run("return 1;", "a").error.has_value());
  ASSERT_TRUE(Run("throw new Error('x');", "a").error.has_value());
  EXPECT_FALSE(Run("return 1;", "a").reused_heap);
}

TEST_F(IsolationTest, ValuesFromOneEvaluationAreGarbageAfterIt) {
  // A closure over the input cannot be stored anywhere reachable, so the input of one evaluation is
  // unreachable from the next; the heap's size returns to its baseline after collection.
  for (int i = 0; i < 50; ++i) {
    EvaluationResult result =
        Run("var big = []; for (var i = 0; i < 2000; i++) big.push({i: i, s: 'v' + i});"
            " var cycle = {}; cycle.self = cycle; return big.length;",
            "a");
    ASSERT_FALSE(result.error.has_value());
  }
  EvaluationResult last = Run("return 1;", "a");
  EXPECT_TRUE(last.reused_heap);
  EXPECT_LT(last.peak_heap_bytes, 2u << 20);
}

}  // namespace
}  // namespace evaluatecode::sandbox
