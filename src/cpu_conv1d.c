/* cpu_conv1d.c — TEMPORARY: being written. */
#include "cpu.h"
void cpu_conv1d_register(pd_backend *be) { (void)be; }
