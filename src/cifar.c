/* cifar.c — being written */
