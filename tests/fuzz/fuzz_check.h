#ifndef EVALUATECODE_TESTS_FUZZ_FUZZ_CHECK_H_
#define EVALUATECODE_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

// A property of a fuzz target. When it does not hold, the target prints which one and aborts, which
// libFuzzer (and the replay driver) report as a crash with the input that caused it.
#define FUZZ_CHECK(condition, ...)                                                   \
  do {                                                                               \
    if (!(condition)) {                                                              \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__,   \
                   #condition);                                                      \
      std::fprintf(stderr, "  " __VA_ARGS__);                                        \
      std::fprintf(stderr, "\n");                                                    \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

#endif  // EVALUATECODE_TESTS_FUZZ_FUZZ_CHECK_H_
