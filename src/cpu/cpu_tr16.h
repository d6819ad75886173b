/* cpu_tr16.h — 16 x 16 register transposes for the hand-vectorised AVX-512 kernels (cpu_wgsimd.c,
 * cpu_conv1d_wino.c, cpu_normact.c). CPU_TR16 is defined where they compile; functions using them carry
 * CPU_TR16_FN and run only where cpu_has_avx512() says so. A transpose moves values unchanged. Not a public
 * header. */
#ifndef PD_CPU_TR16_H
#define PD_CPU_TR16_H

#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(PD_NO_AVX512)
#include <immintrin.h>
#define CPU_TR16 1
#define CPU_TR16_FN __attribute__((target("avx512f")))

/* r [16] <- its transpose (row i, lane j) -> (row j, lane i) */
CPU_TR16_FN static inline __attribute__((always_inline)) void cpu_tr16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
            t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0x88);
            t[8 * i + j + 4] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
    }
}

/* the first n lanes (0 <= n; 16 and more: all) */
static inline __mmask16 cpu_tr16_mask(int64_t n)
{
    return (__mmask16)(n >= 16 ? 0xFFFFu : n <= 0 ? 0u : (1u << n) - 1u);
}

/* r [j] lane i = x [i ld + j] for rows i < rows and j < cols (cols <= 16); zero elsewhere */
CPU_TR16_FN static inline __attribute__((always_inline)) void cpu_tr16_load(__m512 r[16], const float *x, int64_t ld,
                                                                           int rows, int cols)
{
    __mmask16 mk = cpu_tr16_mask(cols);
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(mk, x + i * ld) : _mm512_setzero_ps();
    cpu_tr16(r);
}

/* The rows of r [j] (lane i: row i, position j) transposed back: r [i] lane j = row i, position j. Returns the
 * mask of the first cols lanes, for the caller's stores. */
CPU_TR16_FN static inline __attribute__((always_inline)) __mmask16 cpu_tr16_rows(__m512 r[16], int cols)
{
    cpu_tr16(r);
    return cpu_tr16_mask(cols);
}
#endif

#endif
