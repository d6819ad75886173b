/* cpu_pool2d.c — TEMPORARY: being written. */
#include "cpu.h"
void cpu_pool2d_register(pd_backend *be) { (void)be; }
