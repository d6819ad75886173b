/* blas.c — OpenBLAS introspection and thread control (see blas.h). */
#include "blas.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdiff_build.h"

const char *blas_core_name(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
}

static int blas_cpu_has(const char *flag)
{
    __builtin_cpu_init();
    if (strcmp(flag, "avx512f") == 0)
        return __builtin_cpu_supports("avx512f");
    if (strcmp(flag, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return 0;
}

const char *blas_better_core(void)
{
    const char *c = blas_core_name();
    /* OpenBLAS falls back to these generic kernels on cores it does not know */
    if (strcasecmp(c, "prescott") != 0 && strcasecmp(c, "core2") != 0 && strcasecmp(c, "nehalem") != 0
        && strcasecmp(c, "unknown") != 0)
        return NULL;
    if (blas_cpu_has("avx512f"))
        return "SkylakeX";
    if (blas_cpu_has("avx2"))
        return "Haswell";
    return NULL;
}

void blas_describe(char *buf, int size)
{
    const char *env = getenv("OPENBLAS_CORETYPE");
    const char *how = getenv("PDIFF_BLAS_AUTO");
    const char *better = blas_better_core();
    const char *note;
    if (how && env)
        note = "auto-selected by pdiff because OpenBLAS misreads this CPU; set OPENBLAS_CORETYPE to override";
    else if (env)
        note = "from OPENBLAS_CORETYPE";
    else if (better)
        note = "slow generic kernels; set OPENBLAS_CORETYPE to a faster one";
    else
        note = "detected by OpenBLAS";
    snprintf(buf, (size_t)size, "OpenBLAS %s, kernels %s (%s)", PD_OPENBLAS_BUILD_VERSION, blas_core_name(), note);
}

static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;
static int blas_want;  /* the count outside loops; 0 until set (OpenBLAS's own default stays) */
static int blas_loops; /* parallel loops running now */

void blas_set_threads(int n)
{
    pthread_mutex_lock(&blas_lock);
    blas_want = n < 1 ? 1 : n;
    if (blas_loops == 0)
        openblas_set_num_threads(blas_want);
    pthread_mutex_unlock(&blas_lock);
}

int blas_get_threads(void)
{
    return openblas_get_num_threads();
}

void blas_loop_enter(void)
{
    pthread_mutex_lock(&blas_lock);
    if (blas_loops++ == 0) {
        if (blas_want == 0)
            blas_want = openblas_get_num_threads();
        openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&blas_lock);
}

void blas_loop_leave(void)
{
    pthread_mutex_lock(&blas_lock);
    if (--blas_loops == 0)
        openblas_set_num_threads(blas_want);
    pthread_mutex_unlock(&blas_lock);
}
