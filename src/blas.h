/* blas.h — what the engine needs to know about the BLAS library underneath.
 *
 * Debian's OpenBLAS 0.3.21 does not recognise recent Intel cores and silently runs its slowest ("Prescott")
 * kernels. The decision whether to ask for better kernels (OPENBLAS_CORETYPE) has to happen before OpenBLAS
 * is loaded, so it lives in the CLI's start-up (main.c re-executes itself); this module only reports.
 */
#ifndef PD_BLAS_H
#define PD_BLAS_H

/* OpenBLAS's kernel name ("SkylakeX", "Prescott", ...). */
const char *blas_core_name(void);
/* The kernel family this CPU should use when OpenBLAS picked the generic fallback, or NULL when its
 * choice is fine: "SkylakeX" for AVX-512 cores, "Haswell" for AVX2-only cores. */
const char *blas_better_core(void);
/* One line for --version and bench: "OpenBLAS 0.3.21, kernels SkylakeX (auto-selected: ...)" */
void blas_describe(char *buf, int size);
/* BLAS threads for calls made from the current thread. */
void blas_set_threads(int n);
int blas_get_threads(void);

#endif
