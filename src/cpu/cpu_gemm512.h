/* cpu_gemm512.h — pdiff's own fp32 GEMM for AVX-512 CPUs (cpu_gemm512.c), and the choice between it and OpenBLAS
 * for the hot GEMMs of the CPU backend. Private to src/cpu/ (blas.h is the public face: blas_own_sgemm).
 *
 * The kernel: row-major C = alpha op(A) op(B) + beta C like cblas_sgemm, single-threaded (the call sites run it
 * inside the backend's parallel tasks), with A packed into 14-row strips and B into 32-column strips per block of
 * at most 448 along k, and a 14 x 32 register-blocked FMA micro-kernel. Each k block's sum is one chain of FMAs in
 * k's order, added to C, with the blocks cut as OpenBLAS cuts them for its SkylakeX kernels: on hosts running
 * those, both give the same floats bit for bit; against other kernels (OpenBLAS's Haswell ones) results differ in
 * the last bits (tests: within the rigorous bound of a float sum).
 *
 * The choice (cpu_gemm_hot): the own kernel where the CPU has AVX-512 F/DQ/BW/VL and the call site asked for it
 * (where measurements showed it faster than OpenBLAS on that shape, with OpenBLAS's AVX2 and AVX-512 kernels
 * alike); OpenBLAS elsewhere. PDIFF_GEMM=blas forces OpenBLAS everywhere, PDIFF_GEMM=own the own kernel at every
 * hot call site (read once, at the first GEMM; other values, or own on a CPU without AVX-512, mean the default).
 */
#ifndef PD_CPU_GEMM512_H
#define PD_CPU_GEMM512_H

#include <stdint.h>

/* 1 when the own kernel can run on this CPU (AVX-512 F, DQ, BW and VL). */
int cpu_gemm512_available(void);

/* The own kernel: C [m, n] = alpha op(A) op(B) + beta C, row-major; ta: A stored [k, m], tb: B stored [n, k].
 * Requires cpu_gemm512_available(). Returns 0 when its packing buffers could not be allocated (C untouched:
 * the caller falls back to OpenBLAS), 1 when done. beta == 0 never reads C. */
int cpu_gemm512(int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a, int32_t lda,
                const float *b, int32_t ldb, float beta, float *c, int32_t ldc);

/* B packed once for many products with the same B (a sampler's weights): cpu_gemm512_packed_floats(n, k) floats
 * (0 where the own kernel cannot run) hold B [k, n] (tb: stored [n, k]) as cpu_gemm512 packs it, every panel and
 * k block; packed must be 64-byte aligned. cpu_gemm512_packed then equals cpu_gemm512 with that B bit for bit
 * (same contract; returns 0 when its buffer for A could not be allocated). */
int64_t cpu_gemm512_packed_floats(int32_t n, int32_t k);
void cpu_gemm512_pack(int tb, int32_t n, int32_t k, const float *b, int32_t ldb, float *packed);
int cpu_gemm512_packed(int ta, int32_t m, int32_t n, int32_t k, float alpha, const float *a, int32_t lda,
                       const float *packed, float beta, float *c, int32_t ldc);

/* The hot call sites' GEMM: the own kernel when want_own (the call site's measured choice) and PDIFF_GEMM allow
 * it on this CPU, else cpu_sgemm (OpenBLAS). Same contract as cpu_sgemm. */
void cpu_gemm_hot(int want_own, int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a,
                  int32_t lda, const float *b, int32_t ldb, float beta, float *c, int32_t ldc);

/* PDIFF_GEMM as read: 0 default (per call site), 1 blas everywhere, 2 own at every hot call site. */
int cpu_gemm_mode(void);
/* Set that mode for the whole process (tests compare the paths in one process: blas_gemm_select). */
void cpu_gemm_set_mode(int mode);

#endif
