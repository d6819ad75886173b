/* error.c — status table and message helpers (see error.h). */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const error_messages[] = {
#define PD_X_MSG(name, code, msg) msg,
    PD_STATUS_LIST(PD_X_MSG)
#undef PD_X_MSG
};

static const int error_codes[] = {
#define PD_X_CODE(name, code, msg) code,
    PD_STATUS_LIST(PD_X_CODE)
#undef PD_X_CODE
};

static pd_assert_hook error_hook;
static pd_oom_hook error_oom_hook;

const char *error_status_string(pd_status s)
{
    if ((int)s < 0 || s >= PD_STATUS_COUNT)
        return "unknown status";
    return error_messages[s];
}

int error_exit_code(pd_status s)
{
    if ((int)s < 0 || s >= PD_STATUS_COUNT)
        return 1;
    return error_codes[s];
}

pd_status error_setv(pd_error *err, pd_status status, const char *fmt, va_list ap)
{
    if (err) {
        err->status = status;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return status;
}

pd_status error_set(pd_error *err, pd_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(err, status, fmt, ap);
    va_end(ap);
    return status;
}

pd_status error_prefix(pd_error *err, const char *fmt, ...)
{
    if (!err)
        return PD_OK;
    char pre[PD_ERROR_MSG_MAX], old[PD_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t lp = strlen(pre);
    if (lp > sizeof err->msg - 3)
        lp = sizeof err->msg - 3;
    memcpy(err->msg, pre, lp);
    memcpy(err->msg + lp, ": ", 2);
    size_t room = sizeof err->msg - lp - 3, lo = strlen(old);
    if (lo > room)
        lo = room;
    memcpy(err->msg + lp + 2, old, lo);
    err->msg[lp + 2 + lo] = '\0';
    return err->status;
}

void error_clear(pd_error *err)
{
    if (err) {
        err->status = PD_OK;
        err->msg[0] = '\0';
    }
}

void error_set_assert_hook(pd_assert_hook hook)
{
    error_hook = hook;
}

void error_assert_fail(const char *expr, const char *file, int line)
{
    if (error_hook)
        error_hook(expr, file, line);
    fprintf(stderr, "pdiff: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}

void error_set_oom_hook(pd_oom_hook hook)
{
    error_oom_hook = hook;
}

void error_out_of_memory(const char *what, size_t bytes)
{
    if (error_oom_hook)
        error_oom_hook(what, bytes);
    char expr[160];
    snprintf(expr, sizeof expr, "out of memory: %s of %zu bytes", what, bytes);
    error_assert_fail(expr, __FILE__, __LINE__);
}
