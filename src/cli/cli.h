/* cli.h — the command-line front end (main.c dispatches here; cli_tui.c starts the TUI of ui/).
 *
 * Every command returns the process exit status: 0 success, 1 user error (one line on stderr naming the file
 * or key), 2 usage error, 130 interrupted (the run stopped cleanly and saved its state).
 */
#ifndef PD_CLI_H
#define PD_CLI_H

#include <stdio.h>

#include "config.h"
#include "error.h"
#include "progress.h"

int cli_main(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_resume(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_sweep(int argc, char **argv);
int cli_export(int argc, char **argv); /* cli_export.c */
int cli_plot(int argc, char **argv);   /* cli_plot.c */
int cli_tui(int argc, char **argv); /* cli_tui.c: the TUI, or a headless run without a terminal */
/* cli_memory.c: out of memory where no status can be returned ends the process with one line and exit 1 */
void cli_memory_install(void);
/* The session (sweep = 0) or sweep folder (sweep = 1) the command works on, for that line's advice; NULL: none. */
void cli_memory_session(const char *dir, int sweep);
/* main's status as it returns (passed through): from then on running out in OpenBLAS's exit prints nothing more */
int cli_memory_leaving(int status);
void cli_usage(FILE *out);
void cli_version(FILE *out);

/* Print "pdiff: message" for a failed status and return its exit code. */
int cli_fail(const pd_error *err);
/* A session folder named on the command line (what: "--session", "SESSION"): 0 when usable, else 1 after saying on
 * stderr that an empty name names no folder (it would write into the current folder or /). */
int cli_session_arg(const char *cmd, const char *what, const char *dir);

/* Progress bars and log lines on stderr (cli_progress.c). */
typedef struct {
    int quiet;
    int tty;
    char stage[16];
    double stage_t0, last_draw;
    int64_t done, total;
    double loss;
    int line_open;
} cli_progress;

/* "being written by pid N on HOST (pdiff run): stage S, UNIT done/total, T in the stage, ETA E" into buf when a
 * writer holds dir's lock (the counts from its progress.csv when it wrote one), else "" (cli_progress.c). */
void cli_session_status(const char *dir, char *buf, size_t size);

void cli_progress_init(cli_progress *p, int quiet);
pd_callbacks cli_progress_callbacks(cli_progress *p);
void cli_progress_finish(cli_progress *p);

/* SIGINT: the first one asks the run to stop and save; a second one kills the process. */
void cli_signals_install(void);
int cli_interrupted(void);

#endif
