/* state.c — being written */
