/* watch.h — watching a session that another process writes (watch.c): a headless `pdiff run` in another terminal,
 * or a job on a cluster writing to a shared file system. */
#ifndef PD_UI_WATCH_H
#define PD_UI_WATCH_H

#include "app.h"

/* Called by the loop on every turn; works about once a second. While the loaded session (a->res) is locked by a
 * writer that is not this TUI's own run (session_owner, session.h), it sets a->watching and a->watch_who
 * ("running on HOST pid N"), goes to Run when the watch starts, and reloads the session whenever its files
 * (losses.csv, summary.csv, config.csv, state/stages.bin, run.log) change: curves, finished stages, the running
 * stage's progress as far as the files tell it, the tail of run.log. When the writer lets go, it reloads once more
 * and shows the final numbers on Results. */
void ui_watch_poll(ui_app *a);

#endif
