#include "tui.h"
int tui_main(int argc, char **argv) { (void)argc; (void)argv; return 2; }
