/* cpu_simd.h — CPU_VEC: compile a hot loop function for AVX2 and AVX-512 beside the baseline, picked at load
 * time (GCC target_clones on x86-64). The build targets baseline x86-64 (SSE2); these clones let the
 * auto-vectoriser use the wide registers of the machine the program runs on. The clones compute the same
 * results as the baseline: the build does not contract a * b + c into FMAs (ISO C mode: -ffp-contract=off)
 * and the vectoriser does not reorder float sums. Not a public header.
 */
#ifndef PD_CPU_SIMD_H
#define PD_CPU_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CPU_VEC __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CPU_VEC
#endif

/* 1 when this CPU runs the AVX-512 code of the hand-vectorised kernels (cpu_bnrelu.c, cpu_convbn.c,
 * cpu_wgsimd.c): AVX-512 F, DQ, BW and VL, checked once (backend_cpu.c). Those kernels compute the same values
 * on either path. */
int cpu_has_avx512(void);

#endif
