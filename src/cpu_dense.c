/* cpu_dense.c — TEMPORARY: being written. */
#include "cpu.h"
void cpu_dense_register(pd_backend *be) { (void)be; }
