/* tui.h — the ncurses front end's entry point (no curses types here, so main.c stays curses-free). */
#ifndef PD_TUI_H
#define PD_TUI_H
int tui_main(int argc, char **argv);
#endif
