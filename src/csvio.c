/* csvio.c — being written */
