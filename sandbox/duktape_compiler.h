#ifndef EVALUATECODE_SANDBOX_DUKTAPE_COMPILER_H_
#define EVALUATECODE_SANDBOX_DUKTAPE_COMPILER_H_

#include <memory>

#include "common/time_source.h"
#include "sandbox/compiler.h"

namespace evaluatecode::sandbox {

// A Compiler that compiles ES5 source to Duktape bytecode in a heap of its own, bounded by
// `options`. `time_source` must outlive the compiler.
std::unique_ptr<Compiler> NewDuktapeCompiler(const CompilerOptions& options,
                                             const TimeSource& time_source);

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_DUKTAPE_COMPILER_H_
