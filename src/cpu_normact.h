/* cpu_normact.h — the CPU backend's fused "[+ time embedding] [-> LeakyReLU] -> InstanceNorm" op
 * (norm_act_forward / norm_act_backward in backend.h), installed by cpu_instnorm_register. Not a public header. */
#ifndef PD_CPU_NORMACT_H
#define PD_CPU_NORMACT_H

#include "cpu.h"

void cpu_normact_register(pd_backend *be);

#endif
