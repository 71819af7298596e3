#ifndef EVALUATECODE_SANDBOX_DUKTAPE_COMPILER_H_
#define EVALUATECODE_SANDBOX_DUKTAPE_COMPILER_H_

#include <memory>

#include "common/time_source.h"
#include "sandbox/compiler.h"
#include "sandbox/typescript_transpiler.h"

namespace evaluatecode::sandbox {

// A Compiler that compiles source to Duktape bytecode in a heap of its own, bounded by `options`.
// Source that Duktape parses as ECMAScript 5.1 runs as written; anything else (modern JavaScript,
// TypeScript) is first lowered by `transpiler` (may be null: then it is a syntax error).
// `time_source` and `transpiler` must outlive the compiler.
std::unique_ptr<Compiler> NewDuktapeCompiler(const CompilerOptions& options,
                                             const TimeSource& time_source,
                                             Transpiler* transpiler = nullptr);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_DUKTAPE_COMPILER_H_
