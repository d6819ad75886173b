/* train.c — being written */
