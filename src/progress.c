/* progress.c — formatted log lines through the caller's hook (see progress.h). */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>

void progress_log(const pd_callbacks *cb, const char *fmt, ...)
{
    if (!cb || !cb->on_log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cb->on_log(cb->ud, line);
}
