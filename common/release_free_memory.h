#ifndef EVALUATECODE_COMMON_RELEASE_FREE_MEMORY_H_
#define EVALUATECODE_COMMON_RELEASE_FREE_MEMORY_H_

namespace evaluatecode {

// Hands the allocator's free pages back to the system, after a large release (a garbage
// collection of the TypeScript compiler's heap). evaluate_server links jemalloc, whose arenas
// glibc's malloc_trim does not reach: there every jemalloc arena is purged; a binary on glibc's
// allocator (tests, tools) is trimmed.
void ReleaseFreeMemory();

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_RELEASE_FREE_MEMORY_H_
