/* cpu_diffusion.c — TEMPORARY: being written. */
#include "cpu.h"
void cpu_diffusion_register(pd_backend *be) { (void)be; }
