/* dataset.c — being written */
