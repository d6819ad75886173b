/* tap.h — a tiny TAP producer for pdiff's tests (header-only).
 *
 *   int main(void) {
 *       tap_ok(1 + 1 == 2, "arithmetic");
 *       tap_close("logits", got, want, n, 1e-5, 1e-4);   // |a-b| <= atol + rtol |b|, prints the max diff
 *       return tap_done();                                // prints the plan; exit 1 if anything failed
 *   }
 *   if (!have_gpu) return tap_skip_all("no CUDA device"); // "1..0 # SKIP ...", exit 77
 *
 * Temporary files go under tap_workdir() — tests/work/<test name> in the build tree — never the source tree.
 */
#ifndef PD_TAP_H
#define PD_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int tap_count_;
static int tap_failed_;

__attribute__((format(printf, 2, 3), unused)) static int tap_ok(int cond, const char *fmt, ...)
{
    va_list ap;
    tap_count_++;
    if (!cond)
        tap_failed_++;
    printf("%s %d - ", cond ? "ok" : "not ok", tap_count_);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return cond;
}

/* One check that cannot run here: "ok N # SKIP reason" (counted as a skip by the TAP driver). */
__attribute__((format(printf, 1, 2), unused)) static void tap_skip(const char *fmt, ...)
{
    tap_count_++;
    printf("ok %d # SKIP ", tap_count_);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

__attribute__((format(printf, 1, 2), unused)) static void tap_diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* Element-wise closeness of float arrays; one TAP line with the largest difference. */
__attribute__((unused)) static int tap_close(const char *name, const float *got, const float *want, int64_t n,
                                             double atol, double rtol)
{
    double maxdiff = 0.0;
    int64_t worst = -1, bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = got[i], b = want[i];
        double d = fabs(a - b);
        if (!(d <= atol + rtol * fabs(b))) { /* also catches NaN */
            bad++;
            if (worst < 0 || !(d <= maxdiff))
                worst = i;
        }
        if (d > maxdiff || d != d)
            maxdiff = d;
    }
    if (bad && worst >= 0)
        return tap_ok(0, "%s: %lld of %lld differ, max |diff| %.3g (e.g. [%lld] got %.9g want %.9g)", name,
                      (long long)bad, (long long)n, maxdiff, (long long)worst, (double)got[worst],
                      (double)want[worst]);
    return tap_ok(1, "%s: %lld values, max |diff| %.3g", name, (long long)n, maxdiff);
}

__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_count_);
    if (tap_failed_)
        printf("# %d of %d failed\n", tap_failed_, tap_count_);
    fflush(stdout);
    return tap_failed_ ? 1 : 0;
}

__attribute__((unused)) static int tap_skip_all(const char *reason)
{
    printf("1..0 # SKIP %s\n", reason);
    fflush(stdout);
    return 77;
}

static char tap_workdir_path_[4096];

/* A per-test scratch folder in the build tree: $top_builddir/tests/work/<name> (created, not emptied). */
__attribute__((unused)) static const char *tap_workdir(const char *name)
{
    char *path = tap_workdir_path_;
    const size_t path_size = sizeof tap_workdir_path_;
    const char *top = getenv("top_builddir");
    snprintf(path, path_size, "%s/tests", top && *top ? top : ".");
    mkdir(path, 0777);
    strncat(path, "/work", path_size - strlen(path) - 1);
    mkdir(path, 0777);
    size_t len = strlen(path);
    snprintf(path + len, path_size - len, "/%s", name);
    mkdir(path, 0777);
    return path;
}

/* name inside the latest tap_workdir (four rotating buffers, so a few may be used at once). */
__attribute__((unused)) static const char *tap_path(const char *name)
{
    static char buf[4][4200];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tap_workdir_path_, name);
    return p;
}

#endif
