/* blas.h — what the engine needs to know about the BLAS library underneath.
 *
 * Debian's OpenBLAS 0.3.21 does not recognise recent Intel cores and silently runs its slowest ("Prescott")
 * kernels. The decision whether to ask for better kernels (OPENBLAS_CORETYPE) has to happen before OpenBLAS
 * is loaded, so it lives in the CLI's start-up (main.c re-executes itself); this module only reports.
 */
#ifndef PD_BLAS_H
#define PD_BLAS_H

#include <stdint.h>

/* OpenBLAS's kernel name ("SkylakeX", "Prescott", ...). */
const char *blas_core_name(void);
/* The kernel family this CPU should use when OpenBLAS picked the generic fallback, or NULL when its
 * choice is fine: "SkylakeX" for AVX-512 cores, "Haswell" for AVX2-only cores. */
const char *blas_better_core(void);
/* One line for --version and bench: "OpenBLAS 0.3.21, kernels SkylakeX (auto-selected: ...)" */
void blas_describe(char *buf, int size);
/* OpenBLAS's thread count is one setting for the whole process, so one module owns it. blas_set_threads is the
 * count for GEMMs made outside parallel loops: called once by whoever starts a workload (a pipeline run, a bench),
 * never by a backend's creation, so a probe made by the TUI while a job runs changes nothing. Between
 * blas_loop_enter and blas_loop_leave (the CPU backend's parallel loop, whose tasks call sgemm on every thread)
 * BLAS is single-threaded; loops may nest and may run on several threads at once. */
void blas_set_threads(int n);
int blas_get_threads(void);
void blas_loop_enter(void);
void blas_loop_leave(void);

/* pdiff's own fp32 GEMM kernel (src/cpu/cpu_gemm512.c, AVX-512): its name ("pdiff-avx512-14x32") when this CPU
 * runs it, else NULL. The CPU backend uses it for its hot GEMMs where it measured faster than OpenBLAS;
 * PDIFF_GEMM=blas turns it off, PDIFF_GEMM=own puts it at every hot call site. */
const char *blas_own_kernel(void);
/* C [m, n] = alpha op(A) op(B) + beta C on that kernel, row-major like cblas_sgemm, single-threaded; 0 when it
 * cannot run here (no AVX-512, or out of memory: C untouched), 1 when done. */
int blas_own_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc);
/* The same with B packed once for many products (what the Winograd gather's prepared weights hold): the floats
 * of B [k, n] (tb: stored [n, k]) packed (0 where the kernel cannot run), packing it into a 64-byte aligned
 * buffer of that size, and the product with it, equal to blas_own_sgemm's bit for bit. */
int64_t blas_own_packed_floats(int n, int k);
void blas_own_pack(int tb, int n, int k, const float *b, int ldb, float *packed);
int blas_own_sgemm_packed(int ta, int m, int n, int k, float alpha, const float *a, int lda, const float *packed,
                          float beta, float *c, int ldc);
/* What PDIFF_GEMM asks for: "default" (unset or another value), "blas" or "own". */
const char *blas_gemm_setting(void);
/* Replace that setting for the whole process ("default", "blas" or "own"; tests compare the paths in one process);
 * 0 for another name (nothing changes). Not while GEMMs run on other threads. */
int blas_gemm_select(const char *setting);

#endif
