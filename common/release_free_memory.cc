#include "common/release_free_memory.h"

#include <malloc.h>

#include <cstddef>

// jemalloc's control interface, declared weak: it resolves to jemalloc's when the binary links
// jemalloc and is null otherwise, so this file does not make anything depend on it.
extern "C" int mallctl(const char* name, void* old_value, size_t* old_length, void* new_value,
                       size_t new_length) __attribute__((weak));

namespace evaluatecode {

void ReleaseFreeMemory() {
  // 4096 is MALLCTL_ARENAS_ALL: every arena at once.
  if (mallctl != nullptr && mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0) == 0) return;
  malloc_trim(0);
}

}  // namespace evaluatecode
