/* tui.h — the ncurses front end's entry points, for the program (src/cli/); no curses types here, so the program
 * stays curses-free. The UI reaches the engine only through its public headers (src/\*.h). */
#ifndef PD_TUI_H
#define PD_TUI_H

#include "config.h"

/* NULL when stdin/stdout are a terminal that can address the cursor; else a short reason ("no terminal"). */
const char *tui_terminal_problem(void);
/* Run the TUI until the user quits: Setup pre-filled with cfg; session (may be NULL) opened on the Results screen;
 * sess_dir (may be NULL) the folder a new run writes (default sessions/YYYYMMDD-HHMMSS; the Sessions screen lists
 * the folder above it). Returns the exit status (0, or 130 after Ctrl-C). */
int tui_run(const pd_config *cfg, const char *session, const char *sess_dir);

#endif
