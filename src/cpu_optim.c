/* cpu_optim.c — TEMPORARY: being written. */
#include "cpu.h"
void cpu_optim_register(pd_backend *be) { (void)be; }
