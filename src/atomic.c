/* atomic.c — being written */
