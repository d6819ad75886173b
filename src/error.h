/* error.h — status codes and error messages for the whole engine.
 *
 * Every fallible engine function returns a pd_status and, when it fails, fills a pd_error with one line that
 * names the file or key and the problem ("data/train-images-idx3-ubyte: truncated: 47040000 bytes of pixels
 * expected, 1000 found"). The engine never prints and never exits; the CLI prints err.msg and picks the exit code from
 * the status (error_exit_code). A pd_error may be NULL when the caller does not want the message.
 *
 * Programmer errors (broken invariants) go through PD_ASSERT, which calls a hook the UI points at endwin()
 * before aborting, so a failed assertion never leaves the terminal raw.
 */
#ifndef PD_ERROR_H
#define PD_ERROR_H

#include <stdarg.h>
#include <stddef.h>

/* X(name, exit code for the CLI, message) */
#define PD_STATUS_LIST(X)                                             \
    X(PD_OK, 0, "success")                                            \
    X(PD_ERR_IO, 1, "input/output error")                             \
    X(PD_ERR_FORMAT, 1, "malformed file")                             \
    X(PD_ERR_CONFIG, 1, "invalid configuration")                      \
    X(PD_ERR_DATA, 1, "invalid data set")                             \
    X(PD_ERR_STATE, 1, "unusable saved state")                        \
    X(PD_ERR_NOMEM, 1, "out of memory")                               \
    X(PD_ERR_DEVICE, 1, "compute device unavailable")                 \
    X(PD_ERR_CANCELLED, 1, "cancelled")                               \
    X(PD_ERR_NUMERIC, 1, "numerical failure (NaN or overflow)")       \
    X(PD_ERR_USAGE, 2, "usage error")                                 \
    X(PD_ERR_INTERNAL, 1, "internal error")

typedef enum {
#define PD_X_ENUM(name, code, msg) name,
    PD_STATUS_LIST(PD_X_ENUM)
#undef PD_X_ENUM
    PD_STATUS_COUNT
} pd_status;

#define PD_ERROR_MSG_MAX 512

typedef struct {
    pd_status status;
    char msg[PD_ERROR_MSG_MAX];
} pd_error;

/* The generic message of a status ("malformed file"). */
const char *error_status_string(pd_status s);
/* The CLI exit code for a status: 0 ok, 1 user error, 2 usage. */
int error_exit_code(pd_status s);
/* Fill err (may be NULL) with a printf-style message and return status. */
pd_status error_set(pd_error *err, pd_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
pd_status error_setv(pd_error *err, pd_status status, const char *fmt, va_list ap);
/* Prefix an existing message: "ctx: old message". Returns err->status (PD_OK when err is NULL). */
pd_status error_prefix(pd_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void error_clear(pd_error *err);

/* Assertion hook: called with the failed expression before abort(). */
typedef void (*pd_assert_hook)(const char *expr, const char *file, int line);
void error_set_assert_hook(pd_assert_hook hook);
void error_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define PD_ASSERT(e) ((e) ? (void)0 : error_assert_fail(#e, __FILE__, __LINE__))

/* An allocation failed inside an operation that has no status to return (a CPU kernel growing its work buffer, a
 * network's first values): the process cannot go on. error_out_of_memory calls the hook, which the program points
 * at a clean stop (one line naming what, exit status 1, the session resumable as after a kill); without a hook, or
 * if it returns, it fails like an assertion. what: "a CPU work buffer". */
typedef void (*pd_oom_hook)(const char *what, size_t bytes);
void error_set_oom_hook(pd_oom_hook hook);
void error_out_of_memory(const char *what, size_t bytes) __attribute__((noreturn));

/* Convenience: propagate a failure. */
#define PD_TRY(expr)                      \
    do {                                  \
        pd_status pd_try_s_ = (expr);     \
        if (pd_try_s_ != PD_OK)           \
            return pd_try_s_;             \
    } while (0)

#endif
