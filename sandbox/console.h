#ifndef EVALUATECODE_SANDBOX_CONSOLE_H_
#define EVALUATECODE_SANDBOX_CONSOLE_H_

#include <cstddef>
#include <vector>

#include "common/time_source.h"
#include "duktape.h"
#include "sandbox/engine.h"

namespace evaluatecode::sandbox {

// The script's `console`: log/info/warn/error append entries to a byte-bounded list (each entry
// costs its bytes plus one). Once the budget is spent, further output is dropped and a single WARN
// entry at the end says so. Thread-compatible.
class Console {
 public:
  // `time_source` must outlive the console.
  Console(size_t max_bytes, const TimeSource& time_source);

  // Defines the global `console` in `ctx`, writing to whichever Console is bound. Throws into
  // Duktape on allocation failure: call inside duk_safe_call.
  static void Install(duk_context* ctx);
  // Makes the installed `console` write to `console` (null: output is dropped). `console` must stay
  // alive while bound. Call inside duk_safe_call.
  static void Bind(duk_context* ctx, Console* console);

  // The entries so far, leaving the console empty.
  std::vector<LogEntry> TakeEntries();

 private:
  static duk_ret_t Write(duk_context* ctx);
  void Append(LogEntry::Level level, const char* text, size_t length);

  const size_t max_bytes_;
  const TimeSource& time_source_;
  size_t used_bytes_ = 0;
  bool truncated_ = false;
  std::vector<LogEntry> entries_;
};

}  // namespace evaluatecode::sandbox

#endif  // EVALUATECODE_SANDBOX_CONSOLE_H_
