/* cpu_normact.h — the CPU backend's fused "[+ time embedding] [-> LeakyReLU] -> InstanceNorm" op
 * (norm_act_forward / norm_act_backward in backend.h), installed by cpu_instnorm_register. Not a public header. */
#ifndef PD_CPU_NORMACT_H
#define PD_CPU_NORMACT_H

#include "cpu.h"
#include "cpu_tr16.h"


#if defined(CPU_TR16)
/* pos + slope neg of v, lane-wise (the LeakyReLU of leakyrelu_forward, or its derivative applied to v where
 * the mask of positive inputs is pos) */
CPU_TR16_FN static inline __attribute__((always_inline)) __m512 cpu_normact_leaky_16(__m512 v, __mmask16 pos,
                                                                                     float slope)
{
    return _mm512_maskz_mov_ps(pos, v) + _mm512_set1_ps(slope) * _mm512_maskz_mov_ps((__mmask16)~pos, v);
}

CPU_TR16_FN static inline __attribute__((always_inline)) __mmask16 cpu_normact_pos_16(__m512 v)
{
    return _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
}

/* The forward on vectors of independent lanes: r [j] holds position j < l of 16 rows (one per lane). When lead
 * r = LeakyReLU(r) (leakyrelu_forward's pos + slope neg); then r = InstanceNorm(r) with its mean and rstd
 * (eight partial sums, lane = position mod 8, combined pairwise) and positions l .. 15 zeroed: the operations of
 * norm_act_forward in its order, so the same values. */
CPU_TR16_FN static inline __attribute__((always_inline)) void cpu_normact_lanes_16(__m512 r[16], int32_t l, int lead,
                                                                                  float slope, float eps,
                                                                                  __m512 *mean, __m512 *rstd)
{
    __m512 a[8];
    if (lead)
        for (int32_t j = 0; j < l; j++)
            r[j] = cpu_normact_leaky_16(r[j], cpu_normact_pos_16(r[j]), slope);
    for (int q = 0; q < 8; q++)
        a[q] = _mm512_setzero_ps();
    for (int32_t j = 0; j < l; j++)
        a[j & 7] = a[j & 7] + r[j];
    __m512 fl = _mm512_set1_ps((float)l);
    __m512 m = (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))) / fl;
    for (int q = 0; q < 8; q++)
        a[q] = _mm512_setzero_ps();
    for (int32_t j = 0; j < l; j++) {
        __m512 d = r[j] - m;
        a[j & 7] = a[j & 7] + d * d;
    }
    __m512 var = (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))) / fl;
    __m512 rs = _mm512_set1_ps(1.0f) / _mm512_sqrt_ps(var + _mm512_set1_ps(eps));
    for (int32_t j = 0; j < l; j++)
        r[j] = (r[j] - m) * rs;
    for (int32_t j = l; j < 16; j++)
        r[j] = _mm512_setzero_ps();
    *mean = m;
    *rstd = rs;
}
#endif

#endif
