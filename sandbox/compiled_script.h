#ifndef EVALUATECODE_SANDBOX_COMPILED_SCRIPT_H_
#define EVALUATECODE_SANDBOX_COMPILED_SCRIPT_H_

#include <cstdint>
#include <string>

namespace evaluatecode::sandbox {

// The immutable product of compiling one script: shared by the cache and every evaluation of it.
struct CompiledScript {
  // Unique within the process: names the loaded function in a warm heap's cache.
  uint64_t id = 0;
  // Duktape bytecode of `function (input) { <source> }`, produced by this process only (Duktape
  // does not validate bytecode, so nothing from outside is ever loaded).
  std::string bytecode;
  // Number of lines in the source, to clamp positions the engine reports past the end.
  int source_lines = 0;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_COMPILED_SCRIPT_H_
