#include "sandbox/duktape_compiler.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "sandbox/duktape_heap.h"
#include "sandbox/thrown_error.h"

namespace evaluatecode::sandbox {
namespace {

// The script is the body of a function of `input`. Compiling it in function mode makes the whole
// text one function expression, so the body cannot close the wrapper and run code outside it; the
// header shares the first line, so line numbers in the body are the author's own.
constexpr char kWrapperHead[] = "function (input) {";
constexpr char kWrapperTail[] = "\n}";
// Transpiled code defines `__script`, an async function of the same body.
constexpr char kTranspiledTail[] = "\nreturn __script(input);\n}";

// Globals and methods the ES2015+ runtime (core-js) provides and Duktape lacks. Bytecode that names
// one of them runs in a heap with the runtime; a false positive only costs a heavier heap.
constexpr const char* kRuntimeNames[] = {
    "Promise", "Map",     "Set",        "WeakMap", "WeakSet",  "includes", "entries",
    "values",  "from",    "fromEntries", "find",   "findIndex", "padStart", "padEnd",
    "flat",    "flatMap", "trimStart",  "trimEnd", "allSettled", "queueMicrotask"};

struct CompileCall {
  const std::string* wrapped_source;
  // The same text in parentheses: as a program it must be exactly one expression. Built before
  // the safe call, which unwinds by longjmp past any C++ object made inside it.
  const std::string* parenthesized_source;
  // Out: the line where the wrapped source stops being one function expression (0: it does not).
  int closed_early_at_line = 0;
};

duk_ret_t CompileAndDump(duk_context* ctx, void* udata) {
  auto* call = static_cast<CompileCall*>(udata);
  duk_push_string(ctx, kScriptFileName);
  // Strict mode: warm heaps have a frozen global object, and strict code reports a write to it
  // (an implicit global, a patched built-in) as the TypeError it is instead of ignoring it.
  duk_compile_lstring_filename(ctx, DUK_COMPILE_FUNCTION | DUK_COMPILE_STRICT,
                               call->wrapped_source->data(), call->wrapped_source->size());
  // Function mode stops at the end of the first function and ignores what follows, so a body that
  // closes the wrapper early (`…}\nmore();\nfunction f() {`) would lose its tail silently. In
  // parentheses, as a program, the same text must be exactly one expression.
  duk_push_string(ctx, kScriptFileName);
  if (duk_pcompile_lstring_filename(ctx, DUK_COMPILE_STRICT, call->parenthesized_source->data(),
                                    call->parenthesized_source->size()) != 0) {
    call->closed_early_at_line = std::max(1, ReadThrownError(ctx).line);
  }
  duk_pop(ctx);
  duk_dump_function(ctx);
  return 1;
}

int CountLines(absl::string_view source) {
  return 1 + static_cast<int>(std::count(source.begin(), source.end(), '\n'));
}

bool NamesRuntime(const std::string& bytecode) {
  for (const char* name : kRuntimeNames) {
    if (bytecode.find(name) != std::string::npos) return true;
  }
  return false;
}

class DuktapeCompiler final : public Compiler {
 public:
  DuktapeCompiler(const CompilerOptions& options, const TimeSource& time_source,
                  Transpiler* transpiler)
      : options_(options), time_source_(time_source), transpiler_(transpiler) {}

  // Compiler
  absl::StatusOr<CompileResult> Compile(absl::string_view source) const override {
    const int source_lines = CountLines(source);
    auto script = std::make_shared<CompiledScript>();
    script->source_lines = source_lines;
    std::optional<Diagnostic> failure;
    absl::Status status = CompileWrapped(absl::StrCat(kWrapperHead, source, kWrapperTail),
                                         script.get(), &failure);
    if (!status.ok()) return status;
    CompileResult result;
    if (!failure.has_value()) {
      script->needs_runtime = NamesRuntime(script->bytecode);
      result.script = std::move(script);
      return result;
    }
    // Not ECMAScript 5.1 as written: modern JavaScript or TypeScript, or a real syntax error, which
    // the transpiler reports better (with a column).
    if (transpiler_ == nullptr || failure->message.rfind("SyntaxError", 0) != 0) {
      failure->line = std::min(failure->line, source_lines);
      result.diagnostics.push_back(*std::move(failure));
      return result;
    }
    absl::StatusOr<TranspileOutput> lowered = transpiler_->Transpile(source);
    if (!lowered.ok()) return lowered.status();
    result.diagnostics = lowered->diagnostics;
    if (lowered->javascript.empty()) return result;
    failure.reset();
    status = CompileWrapped(absl::StrCat(kWrapperHead, lowered->javascript, kTranspiledTail),
                            script.get(), &failure);
    if (!status.ok()) return status;
    if (failure.has_value()) {
      failure->message = absl::StrCat("the transpiled script did not compile: ", failure->message);
      failure->line = 0;
      result.diagnostics.push_back(*std::move(failure));
      return result;
    }
    script->original_lines = std::move(lowered->original_lines);
    script->needs_runtime = true;
    result.script = std::move(script);
    return result;
  }

 private:
  // Compiles `wrapped` into `script`'s bytecode, or says why it did not compile in `failure`.
  absl::Status CompileWrapped(const std::string& wrapped, CompiledScript* script,
                              std::optional<Diagnostic>* failure) const {
    absl::StatusOr<std::unique_ptr<DuktapeHeap>> heap =
        DuktapeHeap::Create(options_.memory_bytes, time_source_);
    if (!heap.ok()) return heap.status();
    duk_context* ctx = (*heap)->context();
    const std::string parenthesized = absl::StrCat("(", wrapped, "\n)");
    CompileCall call{&wrapped, &parenthesized};
    (*heap)->Arm(time_source_.Now() + options_.timeout, nullptr);
    const duk_int_t status = duk_safe_call(ctx, CompileAndDump, &call, 0, 1);
    (*heap)->Disarm();
    if (status != DUK_EXEC_SUCCESS) {
      Diagnostic diagnostic;
      if ((*heap)->stop_cause() != DuktapeHeap::StopCause::kNone) {
        diagnostic.message = absl::StrCat("compiling took longer than its budget of ",
                                          absl::FormatDuration(options_.timeout));
      } else if ((*heap)->memory_limit_hit()) {
        diagnostic.message = absl::StrCat("compiling needed more than its memory budget of ",
                                          options_.memory_bytes, " bytes");
      } else {
        ThrownError error = ReadThrownError(ctx);
        diagnostic.message = std::move(error.message);
        diagnostic.line = error.line;
      }
      *failure = std::move(diagnostic);
      return absl::OkStatus();
    }
    if (call.closed_early_at_line > 0) {
      Diagnostic diagnostic;
      diagnostic.message =
          "the script closes its own function body early (unbalanced braces): the code after "
          "that would never run";
      diagnostic.line = call.closed_early_at_line;
      *failure = std::move(diagnostic);
      return absl::OkStatus();
    }
    static std::atomic<uint64_t> next_id{1};
    script->id = next_id.fetch_add(1, std::memory_order_relaxed);
    duk_size_t size = 0;
    const void* bytecode = duk_get_buffer_data(ctx, -1, &size);
    script->bytecode.assign(static_cast<const char*>(bytecode), size);
    return absl::OkStatus();
  }

  const CompilerOptions options_;
  const TimeSource& time_source_;
  Transpiler* const transpiler_;
};

}  // namespace

std::unique_ptr<Compiler> NewDuktapeCompiler(const CompilerOptions& options,
                                             const TimeSource& time_source,
                                             Transpiler* transpiler) {
  return std::make_unique<DuktapeCompiler>(options, time_source, transpiler);
}

}  // namespace evaluatecode::sandbox
