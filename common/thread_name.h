#ifndef EVALUATECODE_COMMON_THREAD_NAME_H_
#define EVALUATECODE_COMMON_THREAD_NAME_H_

#include <pthread.h>

namespace evaluatecode {

// Names the calling thread, as `top -H`, perf and /proc/<pid>/task/*/comm show it: the server's
// threads are otherwise all called after the binary. Linux keeps the first 15 bytes.
inline void NameThisThread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_THREAD_NAME_H_
