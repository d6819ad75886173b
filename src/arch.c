/* arch.c — being written */
