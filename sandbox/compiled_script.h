#ifndef EVALUATECODE_SANDBOX_COMPILED_SCRIPT_H_
#define EVALUATECODE_SANDBOX_COMPILED_SCRIPT_H_

#include <cstdint>
#include <string>
#include <vector>

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
  // Set when the source was transpiled: line n of the compiled code came from the author's line
  // original_lines[n] (0 = none). Empty when the source ran as written.
  std::vector<int> original_lines;
  // True when the script needs the ES2015+ runtime (Promise, Map, …): it was transpiled, or its
  // bytecode names one of the runtime's globals or methods.
  bool needs_runtime = false;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_COMPILED_SCRIPT_H_
