/* Duktape configuration: Debian's own duk_config.h plus the exec-timeout hook Debian leaves out.
 *
 * The build copies Debian's /usr/share/duktape/{duktape.c,duktape.h} next to this file and Debian's
 * duk_config.h as duk_config_debian.h, so duktape.h's `#include "duk_config.h"` finds this wrapper
 * rather than /usr/include/duk_config.h (which has no hook and cannot stop `while(true){}`). */
#if !defined(EVALUATECODE_DUK_CONFIG_H_INCLUDED)
#define EVALUATECODE_DUK_CONFIG_H_INCLUDED

#include "duk_config_debian.h"

/* Count executed bytecode and ask the host, every interrupt period, whether the evaluation must stop. */
#define DUK_USE_INTERRUPT_COUNTER
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) evaluatecode_exec_timeout_check(udata)

/* Errors raised inside the engine name the C file and line that raised them, and scripts can read
 * that in `err.stack`: name the engine instead of our build paths. */
#undef DUK_FILE_MACRO
#define DUK_FILE_MACRO "engine"
#undef DUK_LINE_MACRO
#define DUK_LINE_MACRO 0

/* Determinism: the script's clock is the evaluation's (fixed while it runs), its time zone is UTC,
 * and Math.random() draws from a generator seeded per evaluation. The macros expand inside
 * duktape.c, where the thread's heap and its udata are visible. */
#define DUK_USE_DATE_GET_NOW(ctx) evaluatecode_date_now((ctx)->heap->heap_udata)
#undef DUK_USE_DATE_GET_LOCAL_TZOFFSET
#define DUK_USE_DATE_GET_LOCAL_TZOFFSET(d) 0
#define DUK_USE_GET_RANDOM_DOUBLE(udata) evaluatecode_random_double(udata)

#if defined(__cplusplus)
extern "C" {
#endif
duk_bool_t evaluatecode_exec_timeout_check(void *udata);
duk_double_t evaluatecode_date_now(void *udata);
duk_double_t evaluatecode_random_double(void *udata);
#if defined(__cplusplus)
}
#endif

#endif /* EVALUATECODE_DUK_CONFIG_H_INCLUDED */
