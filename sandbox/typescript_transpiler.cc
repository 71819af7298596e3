#include "sandbox/typescript_transpiler.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/release_free_memory.h"
#include "nlohmann/json.hpp"
#include "sandbox/duktape_heap.h"
#include "sandbox/thrown_error.h"

namespace evaluatecode::sandbox {
namespace {

constexpr char kTranspileKey[] = "\xff" "transpile";
// Growth of the compiler heap past its live size that triggers a full collection.
constexpr size_t kCollectAfterBytes = size_t{96} << 20;

// Our own code, run in the compiler heap after typescript.js: returns the function the C++ side
// calls with a source text. The body is wrapped in an async function so that top-level `return`
// and `await` are legal; the wrapper's first line is a line of its own, so wrapped line n (0-based)
// is the author's line n (1-based).
constexpr char kTranspileHelper[] = R"js(
(function () {
  // The source map of a transpile serves only to map generated lines back to the author's. This
  // generator keeps that and nothing else: for each generated line, the original line of its first
  // segment, committed by the rules of TypeScript's own generator (a position's last source unless
  // it backtracks) but never encoded as VLQ text and decoded again (≈ 5–10 % of a transpile in
  // Duktape). TypeScript 4.9's emitter makes its generator through ts.createSourceMapGenerator.
  var originalLines = null;
  function lineMapGenerator() {
    var sources = [], hasPending = false, line = 0, character = 0;
    var sourceIndex, sourceLine, sourceCharacter, hasSource = false;
    originalLines = [];
    function commit() {
      if (!hasPending || !hasSource) return;
      while (originalLines.length <= line) originalLines.push(-1);
      if (originalLines[line] < 0) originalLines[line] = sourceLine;
    }
    return {
      getSources: function () { return sources; },
      addSource: function (fileName) { sources.push(fileName); return sources.length - 1; },
      setSourceContent: function () {},
      addName: function () { return 0; },
      addMapping: function (generatedLine, generatedCharacter, index, lineInSource,
                            characterInSource) {
        var complete = index !== undefined && lineInSource !== undefined &&
                       characterInSource !== undefined;
        if (!hasPending || generatedLine !== line || generatedCharacter !== character ||
            (complete && index === sourceIndex &&
             (sourceLine > lineInSource ||
              sourceLine === lineInSource && sourceCharacter > characterInSource))) {
          commit();
          line = generatedLine;
          character = generatedCharacter;
          hasSource = false;
          hasPending = true;
        }
        if (complete) {
          sourceIndex = index;
          sourceLine = lineInSource;
          sourceCharacter = characterInSource;
          hasSource = true;
        }
      },
      appendSourceMap: function () { throw new Error('no input source maps in a transpile'); },
      toJSON: function () {
        commit();
        hasPending = false;
        return {version: 3, sources: sources, names: [], mappings: ''};
      },
      toString: function () { return JSON.stringify(this.toJSON()); }
    };
  }
  ts.createSourceMapGenerator = lineMapGenerator;
  // Problems transpileModule does not report: the body must stay inside its function (the wrapper
  // is one statement) and cannot import or export (a script is a function body, not a module).
  function structure(sourceFile) {
    var found = [];
    function report(node, message) {
      var at = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
      found.push({message: message, line: at.line, column: at.character + 1, error: true});
    }
    if (sourceFile.statements.length !== 1) {
      report(sourceFile.statements[1] || sourceFile.statements[0],
             'the script closes its own function body early: unbalanced braces');
    }
    function visit(node) {
      if (node.kind === ts.SyntaxKind.ImportDeclaration ||
          node.kind === ts.SyntaxKind.ImportEqualsDeclaration ||
          node.kind === ts.SyntaxKind.ExportDeclaration ||
          node.kind === ts.SyntaxKind.ExportAssignment) {
        report(node, 'import and export are not available: a script is the body of a function');
      }
      ts.forEachChild(node, visit);
    }
    visit(sourceFile);
    return found;
  }
  function wrap(source) { return 'async function __script(input) {\n' + source + '\n}\n'; }
  function position(d) {
    var at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start)
                                             : {line: 0, character: -1};
    return {line: at.line, column: at.character + 1};
  }
  // Syntax only TypeScript has. Plain JavaScript is not type checked: inference without
  // annotations mostly finds what is legal JavaScript (properties added to `{}`, mixed arrays).
  function isTypeScript(sourceFile) {
    var found = false, K = ts.SyntaxKind;
    var kinds = [K.InterfaceDeclaration, K.TypeAliasDeclaration, K.EnumDeclaration,
                 K.ModuleDeclaration, K.TypeParameter, K.AsExpression, K.NonNullExpression,
                 K.TypeAssertionExpression, K.SatisfiesExpression, K.PublicKeyword,
                 K.PrivateKeyword, K.ProtectedKeyword, K.ReadonlyKeyword, K.AbstractKeyword,
                 K.DeclareKeyword];
    function visit(node) {
      if (found) return;
      // `class A extends B` holds an ExpressionWithTypeArguments, a type node JavaScript has too.
      if ((ts.isTypeNode(node) && node.kind !== K.ExpressionWithTypeArguments) ||
          kinds.indexOf(node.kind) >= 0) {
        found = true;
        return;
      }
      ts.forEachChild(node, visit);
    }
    visit(sourceFile);
    return found;
  }
  // The type checker's world: the built-ins' and the script API's declarations, parsed once, and
  // the last program, whose unchanged files the next one reuses (≈ 60 ms a check instead of ≈ 2 s).
  var types = null;
  // The script usesTypeScript parsed last, for the program that checks it next.
  var lastScript = null;
  function typeProgram(wrapped) {
    var host = {
      getSourceFile: function (name, version) {
        if (name === 'script.ts') {
          return lastScript !== null && lastScript.wrapped === wrapped
                     ? lastScript.file : ts.createSourceFile(name, wrapped, version);
        }
        if (!types.parsed.hasOwnProperty(name)) {
          if (!types.files.hasOwnProperty(name)) return undefined;
          types.parsed[name] = ts.createSourceFile(name, types.files[name], version);
        }
        return types.parsed[name];
      },
      getDefaultLibFileName: function () { return 'lib.es2020.d.ts'; },
      writeFile: function () {},
      getCurrentDirectory: function () { return ''; },
      getDirectories: function () { return []; },
      fileExists: function (name) {
        return name === 'script.ts' || types.files.hasOwnProperty(name);
      },
      readFile: function (name) { return types.files[name]; },
      getCanonicalFileName: function (name) { return name; },
      useCaseSensitiveFileNames: function () { return true; },
      getNewLine: function () { return '\n'; }
    };
    types.last = ts.createProgram(['script.ts', 'script-api.d.ts'], {
      target: ts.ScriptTarget.ES2020, lib: ['lib.es2020.d.ts'], types: [], noEmit: true,
      skipLibCheck: true, experimentalDecorators: true, useDefineForClassFields: false
    }, host, types.last);
    return types.last;
  }
  return {
    loadTypes: function (libs, declarations) {
      var files = {};
      for (var name in libs) files[name] = libs[name];
      files['script-api.d.ts'] = declarations;
      types = {files: files, parsed: {}, last: undefined};
      var program = typeProgram(wrap(''));
      program.getSemanticDiagnostics(program.getSourceFile('script.ts'));
    },
    // Whether `source` has TypeScript syntax; checked before the declarations are loaded, so that
    // plain JavaScript never costs their ≈ 2 s and 45 MB.
    usesTypeScript: function (source) {
      var wrapped = wrap(source);
      lastScript = {wrapped: wrapped,
                    file: ts.createSourceFile('script.ts', wrapped, ts.ScriptTarget.ES2020)};
      return isTypeScript(lastScript.file) ? 'true' : 'false';
    },
    checkTypes: function (source) {
      var program = typeProgram(wrap(source)), file = program.getSourceFile('script.ts');
      return JSON.stringify(program.getSemanticDiagnostics(file).map(function (d) {
        var at = position(d);
        return {
          message: 'TS' + d.code + ': ' + ts.flattenDiagnosticMessageText(d.messageText, '\n'),
          line: at.line, column: at.column, error: false
        };
      }));
    },
    transpile: function (source) {
      var wrapped = wrap(source), parsed = null;
      var output = ts.transpileModule(wrapped, {
        fileName: 'script.ts',
        reportDiagnostics: true,
        // Keeps the source file transpileModule parsed, for the structure check: parsing is most
        // of a transpile's cost, so it is done once.
        transformers: {before: [function () {
          return function (sourceFile) { parsed = sourceFile; return sourceFile; };
        }]},
        compilerOptions: {
          target: ts.ScriptTarget.ES5, module: ts.ModuleKind.CommonJS, sourceMap: true,
          downlevelIteration: true, removeComments: true, experimentalDecorators: true,
          useDefineForClassFields: false, newLine: ts.NewLineKind.LineFeed
        }
      });
      var diagnostics = (output.diagnostics || []).map(function (d) {
        var at = position(d), error = d.category === ts.DiagnosticCategory.Error;
        return {
          message: (error ? 'SyntaxError: ' : '') + ts.flattenDiagnosticMessageText(d.messageText, '\n'),
          line: at.line, column: at.column, error: error
        };
      });
      if (diagnostics.length === 0 && parsed !== null) diagnostics = structure(parsed);
      var lines = output.sourceMapText ? originalLines : [];
      var code = output.outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
      return JSON.stringify({code: code, lines: lines, diagnostics: diagnostics});
    }
  };
})()
)js";

struct LoadCall {
  const ScriptRuntime* runtime;
};

duk_ret_t RunProgram(duk_context* ctx, const std::string& source, const char* name) {
  duk_push_string(ctx, name);
  // As a program, not eval code, so that typescript.js's top-level `var ts` becomes a global.
  duk_compile_lstring_filename(ctx, 0, source.data(), source.size());
  duk_call(ctx, 0);
  duk_pop(ctx);
  return 0;
}

duk_ret_t LoadCompiler(duk_context* ctx, void* udata) {
  const ScriptRuntime* runtime = static_cast<LoadCall*>(udata)->runtime;
  RunBytecode(ctx, runtime->core_js_bytecode);
  if (runtime->typescript_bytecode.empty()) {
    RunProgram(ctx, runtime->typescript, "typescript.js");
  } else {
    RunBytecode(ctx, runtime->typescript_bytecode);
  }
  duk_push_global_stash(ctx);
  duk_eval_string(ctx, kTranspileHelper);
  duk_put_prop_string(ctx, -2, kTranspileKey);
  duk_pop(ctx);
  return 0;
}

// [] → [result]: calls the helper's `method` with `source`.
struct HelperCall {
  const char* method;
  absl::string_view source;
};

duk_ret_t CallHelper(duk_context* ctx, void* udata) {
  auto* call = static_cast<HelperCall*>(udata);
  duk_push_global_stash(ctx);
  duk_get_prop_string(ctx, -1, kTranspileKey);
  duk_push_string(ctx, call->method);
  duk_push_lstring(ctx, call->source.data(), call->source.size());
  duk_call_prop(ctx, -3, 1);
  return 1;
}

struct LoadTypesCall {
  const std::map<std::string, std::string>* libs;
  const std::string* declarations;
};

duk_ret_t LoadTypes(duk_context* ctx, void* udata) {
  auto* call = static_cast<LoadTypesCall*>(udata);
  duk_push_global_stash(ctx);
  duk_get_prop_string(ctx, -1, kTranspileKey);
  duk_push_string(ctx, "loadTypes");
  duk_push_object(ctx);
  for (const auto& [name, text] : *call->libs) {
    duk_push_lstring(ctx, text.data(), text.size());
    duk_put_prop_lstring(ctx, -2, name.data(), name.size());
  }
  duk_push_lstring(ctx, call->declarations->data(), call->declarations->size());
  duk_call_prop(ctx, -4, 2);
  return 1;
}

std::vector<Diagnostic> ParseDiagnostics(const nlohmann::json& list) {
  std::vector<Diagnostic> diagnostics;
  if (!list.is_array()) return diagnostics;
  for (const nlohmann::json& d : list) {
    if (!d.is_object()) continue;
    Diagnostic& diagnostic = diagnostics.emplace_back();
    diagnostic.severity =
        d.value("error", true) ? Diagnostic::Severity::kError : Diagnostic::Severity::kWarning;
    diagnostic.message = d.value("message", "");
    // Wrapped line n (0-based) is the author's line n (1-based).
    diagnostic.line = d.value("line", 0);
    diagnostic.column = diagnostic.line < 1 ? 0 : std::max(0, d.value("column", 0));
  }
  return diagnostics;
}

// A type check that could not finish, as its one warning: types never decide whether a script
// runs. `step` stopped with `called` (from CallLocked) within `budget`.
std::vector<Diagnostic> NotChecked(absl::string_view step, const absl::Status& called,
                                   absl::Duration budget) {
  Diagnostic warning;
  warning.severity = Diagnostic::Severity::kWarning;
  warning.message =
      absl::IsDeadlineExceeded(called)
          ? absl::StrCat("types were not checked: ", step, " took longer than its budget of ",
                         absl::FormatDuration(budget))
          : absl::StrCat("types were not checked: ", step, " failed: ", called.message());
  return {warning};
}

class TypeScriptTranspiler final : public Transpiler {
 public:
  explicit TypeScriptTranspiler(const TranspilerOptions& options) : options_(options) {}

  // Transpiler
  absl::StatusOr<TranspileOutput> Transpile(absl::string_view source) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status loaded = LoadIfNeeded(); !loaded.ok()) return loaded;
    HelperCall call{"transpile", source};
    const absl::Status called = CallLocked(CallHelper, &call, options_.timeout);
    if (!called.ok()) {
      TranspileOutput output;
      Diagnostic& diagnostic = output.diagnostics.emplace_back();
      diagnostic.message = absl::IsDeadlineExceeded(called)
                               ? absl::StrCat("compiling took longer than its budget of ",
                                              absl::FormatDuration(options_.timeout))
                               : absl::StrCat("the TypeScript compiler failed: ", called.message());
      return output;
    }
    return Parse(PopString());
  }

  absl::StatusOr<std::vector<Diagnostic>> CheckTypes(absl::string_view source) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status loaded = LoadIfNeeded(); !loaded.ok()) return loaded;
    HelperCall probe{"usesTypeScript", source};
    if (const absl::Status called = CallLocked(CallHelper, &probe, options_.timeout);
        !called.ok()) {
      return NotChecked("parsing the script", called, options_.timeout);
    }
    if (PopString() != "true") return std::vector<Diagnostic>{};
    if (!types_loaded_) {
      LoadTypesCall load{&options_.runtime->typescript_libs, &options_.declarations};
      if (const absl::Status called = CallLocked(LoadTypes, &load, options_.load_timeout);
          !called.ok()) {
        return NotChecked("loading the declarations", called, options_.load_timeout);
      }
      duk_pop(heap_->context());
      types_loaded_ = true;
      live_bytes_ = heap_->used_bytes();
    }
    HelperCall call{"checkTypes", source};
    if (const absl::Status called = CallLocked(CallHelper, &call, options_.timeout); !called.ok()) {
      return NotChecked("the type checker", called, options_.timeout);
    }
    const nlohmann::json parsed =
        nlohmann::json::parse(PopString(), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_array()) {
      return absl::InternalError("the TypeScript type checker returned malformed output");
    }
    return ParseDiagnostics(parsed);
  }

  absl::Status Load() override {
    absl::MutexLock lock(&mu_);
    return LoadIfNeeded();
  }

 private:
  // Runs `function` in the compiler heap within `budget`, leaving its result on the stack.
  // kDeadlineExceeded past the budget, kInternal with the thrown message when it threw; either
  // way the heap is dropped (its state is unknown now: a fresh compiler is loaded next time).
  absl::Status CallLocked(duk_safe_call_function function, void* udata, absl::Duration budget)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    duk_context* ctx = heap_->context();
    heap_->Arm(options_.time_source->Now() + budget, nullptr);
    const duk_int_t status = duk_safe_call(ctx, function, udata, 0, 1);
    heap_->Disarm();
    if (status == DUK_EXEC_SUCCESS) return absl::OkStatus();
    const absl::Status failure = heap_->stop_cause() != DuktapeHeap::StopCause::kNone
                                     ? absl::DeadlineExceededError("out of time")
                                     : absl::InternalError(ReadThrownError(ctx).message);
    heap_.reset();
    types_loaded_ = false;
    return failure;
  }

  // The string a successful CallLocked left on the stack, after which the heap is collected if it
  // grew.
  std::string PopString() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    duk_context* ctx = heap_->context();
    std::string text = duk_safe_to_string(ctx, -1);
    duk_pop(ctx);
    CollectGarbageIfGrown();
    return text;
  }

  // A transpile leaves megabytes of cyclic garbage (syntax trees with parent links) that only
  // Duktape's mark-and-sweep frees, and it runs rarely on its own: a worker grew from 60 to 400 MiB
  // in a hundred compiles. Collecting once the heap has grown by kCollectAfterBytes over what the
  // compiler itself holds, and handing the freed pages back to the system, keeps it near that.
  void CollectGarbageIfGrown() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (heap_->used_bytes() < live_bytes_ + kCollectAfterBytes) return;
    duk_gc(heap_->context(), 0);
    duk_gc(heap_->context(), 0);  // a second pass frees what finalizers of the first released
    live_bytes_ = heap_->used_bytes();
    ReleaseFreeMemory();
  }

  absl::Status LoadIfNeeded() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (heap_ != nullptr) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<DuktapeHeap>> heap =
        DuktapeHeap::Create(options_.memory_bytes, *options_.time_source);
    if (!heap.ok()) return heap.status();
    LoadCall call{options_.runtime.get()};
    (*heap)->Arm(options_.time_source->Now() + options_.load_timeout, nullptr);
    const duk_int_t status = duk_safe_call((*heap)->context(), LoadCompiler, &call, 0, 1);
    (*heap)->Disarm();
    if (status != DUK_EXEC_SUCCESS) {
      return absl::InternalError(absl::StrCat("loading the TypeScript compiler failed: ",
                                              ReadThrownError((*heap)->context()).message));
    }
    duk_pop((*heap)->context());
    heap_ = *std::move(heap);
    live_bytes_ = heap_->used_bytes();
    return absl::OkStatus();
  }

  static absl::StatusOr<TranspileOutput> Parse(const std::string& json) {
    const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return absl::InternalError("the TypeScript compiler returned malformed output");
    }
    TranspileOutput output;
    output.diagnostics = ParseDiagnostics(parsed.value("diagnostics", nlohmann::json::array()));
    for (const Diagnostic& diagnostic : output.diagnostics) {
      if (diagnostic.severity == Diagnostic::Severity::kError) return output;
    }
    output.javascript = parsed.value("code", "");
    // Generated line g (0-based) maps to wrapped line w, which is the author's line w (1-based).
    output.original_lines.push_back(0);
    for (const nlohmann::json& line : parsed.value("lines", nlohmann::json::array())) {
      output.original_lines.push_back(line.is_number_integer() ? std::max(0, line.get<int>()) : 0);
    }
    return output;
  }

  const TranspilerOptions options_;
  absl::Mutex mu_;
  std::unique_ptr<DuktapeHeap> heap_ ABSL_GUARDED_BY(mu_);
  // What the heap held after its last full collection (or the load).
  size_t live_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Whether the heap holds the type checker's declarations (loaded on the first CheckTypes).
  bool types_loaded_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

std::unique_ptr<Transpiler> NewTypeScriptTranspiler(const TranspilerOptions& options) {
  return std::make_unique<TypeScriptTranspiler>(options);
}

}  // namespace evaluatecode::sandbox
