/* config.c — being written */
