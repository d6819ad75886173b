/* idx.c — being written */
