/* tui.c — the TUI's entry (tui.h): terminal set-up and restore, signals, the main loop. The program
 * (src/cli/cli_tui.c) parses `pdiff tui`'s options and decides between this and a headless run.
 *
 * The loop polls the keyboard and the job's wake-up pipe with a 100 ms timeout, drains the job's queues,
 * and redraws when something changed, at most about 10 times a second while a run streams metrics; it never
 * waits for the engine. Only this thread calls curses. The terminal is restored on every way out (term.c):
 * normal exit, Ctrl-C (the first stops the run cleanly and the UI exits once the job has saved; the second
 * exits at once), SIGTERM/SIGHUP (like Ctrl-C), crashes and engine assertions.
 */
#include "tui.h"

#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actions.h"
#include "app.h"
#include "compare.h"
#include "keys.h"
#include "nav.h"
#include "log.h"
#include "prompt.h"
#include "screen_latents.h"
#include "screen_results.h"
#include "screen_run.h"
#include "screen_sessions.h"
#include "screen_setup.h"
#include "screen_similarity.h"
#include "table.h"
#include "term.h"
#include "watch.h"

#include <term.h> /* last: it defines macros named like ordinary words (lines, tab) */

/* ------------------------------------------------------------------------------------------------ helpers */

/* The Sessions list is rescanned here, in the loop, when something marked it stale (nav.c, the run's end, a
 * session folder that came or went), and drawn again: nothing else may redraw a quiet list. */
static void ui_tui_rescan(ui_app *a)
{
    if (!a->sess_stale)
        return;
    a->sess_stale = 0;
    ui_sessions_scan(a);
    a->dirty = 1;
}

static const char *ui_tui_base(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *s = path + n;
    while (s > path && s[-1] != '/')
        s--;
    return s;
}

/* ------------------------------------------------------------------------------------------------ drawing */

static void ui_tui_draw_title(ui_app *a)
{
    static const char *const full[UI_NSCREENS] = {"Setup", "Run", "Results", "Similarity", "Latents", "Sessions"};
    static const char *const brief[UI_NSCREENS] = {"Set", "Run", "Res", "Sim", "Lat", "Ses"};
    attrset(ui_term_role(a, UI_C_TITLE));
    ui_term_fill(0, 0, a->cols);
    attrset(ui_term_role(a, UI_C_TITLE) | A_BOLD);
    mvaddstr(0, 1, "pdiff");
    int need = 8;
    for (int s = 0; s < UI_NSCREENS; s++)
        need += (int)strlen(full[s]) + 4;
    int x = 8;
    for (int s = 0; s < UI_NSCREENS; s++) {
        char tabtxt[32];
        const char *name = need <= a->cols || s == a->screen ? full[s] : brief[s];
        snprintf(tabtxt, sizeof tabtxt, s == a->screen ? "[%d %s]" : " %d %s ", s + 1, name);
        int tw = (int)strlen(tabtxt);
        if (x + tw > a->cols)
            break;
        attrset(s == a->screen ? ui_term_role(a, UI_C_TAB) : ui_term_role(a, UI_C_TITLE));
        mvaddstr(0, x, tabtxt);
        x += tw + 1;
    }
    if (a->job && x + 10 < a->cols) {
        attrset(ui_term_role(a, UI_C_TITLE) | A_BOLD);
        const char *run = ui_term_glyph(a, "\u25cf running", "* running");
        mvaddstr(0, a->cols - 10, run);
    }
    attrset(A_NORMAL);
}

static void ui_tui_draw_status(ui_app *a)
{
    int y = a->rows - 1;
    attrset(ui_term_role(a, UI_C_STATUS));
    ui_term_fill(y, 0, a->cols);
    const char *dir = a->job ? a->run_dir : a->res ? a->res->dir : a->session_arg[0] ? a->session_arg : "(new)";
    char stage[64] = "idle", el[32] = "-", eta[32] = "-";
    int act = ui_run_active_stage(a);
    if (a->job && act >= 0) {
        const ui_stage *st = &a->stage[act];
        if (st->total > 0)
            snprintf(stage, sizeof stage, "%s %.0f%%", pipeline_stage_name((pd_stage)act),
                     100.0 * (double)st->done / (double)st->total);
        else
            ui_app_copy(stage, sizeof stage, pipeline_stage_name((pd_stage)act));
        ui_table_fmt_duration(ui_run_eta(a, act), eta, sizeof eta);
    } else if (a->job)
        snprintf(stage, sizeof stage, "starting");
    else if (a->watching) {
        snprintf(stage, sizeof stage, "watching: %.50s", a->watch_who);
        ui_table_fmt_duration(ui_run_eta(a, act), eta, sizeof eta); /* the running stage's, from progress.csv */
    } else if (a->stopping)
        snprintf(stage, sizeof stage, "stopping");
    ui_table_fmt_duration(ui_run_elapsed(a), el, sizeof el);
    const char *sep = ui_term_glyph(a, " \u2502 ", " | ");
    char left[PD_PATH_MAX + 256];
    snprintf(left, sizeof left, " %s%s%s%s%s%sETA %s", ui_tui_base(dir), sep, stage, sep, el, sep, eta);
    int lw = ui_table_text_width(left);
    ui_term_text(y, 0, lw < a->cols ? lw : a->cols, left);
    int room = a->cols - lw - 3;
    if (room < 4)
        return;
    if (a->msg[0] && progress_now() < a->msg_until && !a->prompt) { /* an open prompt's keys come first */
        attrset(a->msg_err ? (a->colors >= 8 ? ui_term_role(a, UI_C_ERROR) | A_REVERSE : A_BOLD | A_REVERSE)
                           : ui_term_role(a, UI_C_STATUS) | A_BOLD);
        char shown[sizeof a->msg + 8]; /* a long message loses its middle (often a path), not its reason */
        ui_table_elide(a->msg, room, UI_ELIDE_MIDDLE, a->utf8, shown, sizeof shown);
        ui_term_text(y, lw + 2, room, shown);
    } else {
        const char *hints = ui_keys_hints(a);
        int hw = ui_table_text_width(hints);
        ui_term_text(y, hw < room ? a->cols - hw - 1 : lw + 2, hw < room ? hw : room, hints);
    }
    attrset(A_NORMAL);
}

static void ui_tui_draw(ui_app *a)
{
    erase();
    a->cur_y = a->cur_x = -1;
    if (a->cols < UI_MIN_COLS || a->rows < UI_MIN_ROWS) {
        char m[2][64];
        snprintf(m[0], sizeof m[0], "terminal too small: %dx%d", a->cols, a->rows);
        snprintf(m[1], sizeof m[1], "need %dx%d (q quits)", UI_MIN_COLS, UI_MIN_ROWS);
        for (int i = 0; i < 2; i++) {
            int w = (int)strlen(m[i]);
            ui_term_text(a->rows / 2 - 1 + i, w < a->cols ? (a->cols - w) / 2 : 0, a->cols, m[i]);
        }
        curs_set(0);
        refresh();
        return;
    }
    ui_tui_draw_title(a);
    int y = 1, h = a->rows - 2;
    if (a->logview)
        ui_log_draw(a, y, h);
    else
        switch (a->screen) {
    case UI_SETUP:
        ui_setup_draw(a, y, h);
        break;
    case UI_RUN:
        ui_run_draw(a, y, h);
        break;
    case UI_RESULTS:
        ui_results_draw(a, y, h);
        break;
    case UI_SIMILARITY:
        ui_similarity_draw(a, y, h);
        break;
    case UI_LATENTS:
        ui_latents_draw(a, y, h);
        break;
    default:
        ui_sessions_draw(a, y, h);
        break;
    }
    attrset(A_NORMAL);
    if (a->prompt == UI_PROMPT_FILTER || a->prompt == UI_PROMPT_SAVE) {
        ui_term_fill(a->rows - 2, 0, a->cols);
        ui_prompt_draw(a);
    }
    ui_tui_draw_status(a);
    if (a->help)
        ui_keys_draw_help(a);
    if (a->confirm_quit)
        ui_prompt_draw_confirm(a);
    if (a->sess_delete[0] && a->screen == UI_SESSIONS && !a->help)
        ui_sessions_draw_confirm(a);
    if (a->prompt && a->cur_y >= 0 && !a->help && !a->confirm_quit) {
        curs_set(1);
        move(a->cur_y, a->cur_x < a->cols ? a->cur_x : a->cols - 1);
    } else
        curs_set(0);
    refresh();
}

/* ------------------------------------------------------------------------------------------------ keys */

static void ui_tui_key(ui_app *a, int key)
{
    a->dirty = 1;
    if (key == KEY_RESIZE) {
        a->rows = LINES;
        a->cols = COLS;
        clearok(curscr, TRUE);
        return;
    }
    if (a->confirm_quit) {
        if (key == 'y' || key == 'Y') {
            a->confirm_quit = 0;
            if (a->job && job_running(a->job)) {
                job_cancel(a->job);
                a->stopping = 1;
                ui_nav_message(a, 0, "stopping the run and saving its state, then quitting");
            } else {
                a->quit = 1;
                a->exit_code = 0;
            }
        } else if (key == 'n' || key == 'N' || key == 27 || key == 'q')
            a->confirm_quit = 0;
        return;
    }
    if (a->sess_delete[0]) { /* Sessions asks before deleting: y deletes, any other key keeps */
        ui_sessions_confirm_key(a, key);
        return;
    }
    if (a->help) {
        if (key == KEY_UP || key == 'k')
            a->help_top--;
        else if (key == KEY_DOWN || key == 'j')
            a->help_top++;
        else if (key == KEY_PPAGE)
            a->help_top -= a->rows / 2;
        else if (key == KEY_NPAGE)
            a->help_top += a->rows / 2;
        else
            a->help = 0;
        return;
    }
    if (a->logview && !a->prompt) {
        ui_log_key(a, key);
        return;
    }
    if (a->prompt) {
        ui_prompt_key(a, key);
        return;
    }
    if (a->cols < UI_MIN_COLS || a->rows < UI_MIN_ROWS) {
        if (key == 'q' || key == KEY_F(10))
            ui_keys_handle(a, key);
        return;
    }
    ui_keys_handle(a, key);
}

/* Ctrl-C / SIGTERM seen by the loop: stop the run cleanly and leave once it has saved. */
static void ui_tui_on_signal(ui_app *a)
{
    if (a->job && job_running(a->job)) {
        if (!a->stopping) {
            job_cancel(a->job);
            a->stopping = 1;
            a->interrupted = 1;
            ui_nav_message(a, 0, "interrupted: stopping the run and saving (Ctrl-C again quits at once)");
        }
    } else {
        a->quit = 1;
        a->exit_code = 130;
    }
}

static void ui_tui_loop(ui_app *a)
{
    double last_draw = 0;
    int handled_signals = 0, stdin_ok = 1;
    ui_tui_draw(a);
    last_draw = progress_now();
    a->dirty = 0;
    while (!a->quit) {
        double now = progress_now();
        /* while a run streams, take its wake-ups at most every 100 ms; keys always wake us */
        double since = now - last_draw;
        int listen_job = a->job && (!a->dirty || since >= 0.1);
        struct pollfd fds[2] = {{.fd = stdin_ok ? STDIN_FILENO : -1, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
        if (listen_job)
            fds[1].fd = job_wake_fd(a->job);
        int timeout = a->dirty ? (int)fmax(0, 100 - since * 1000) : 100;
        poll(fds, 2, timeout);
        if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            /* the terminal went away: stop the run cleanly, then leave */
            stdin_ok = 0;
            ui_tui_on_signal(a);
        }
        int n = ui_term_signal_count();
        if (n > handled_signals) {
            handled_signals = n;
            ui_tui_on_signal(a);
        }
        int key, keyed = 0;
        while ((key = getch()) != ERR) {
            ui_tui_key(a, key);
            ui_tui_rescan(a);
            keyed = 1;
            if (a->quit)
                break;
        }
        if (a->job)
            ui_run_poll(a);
        ui_setup_poll(a);
        ui_watch_poll(a);
        ui_sessions_poll(a);
        ui_tui_rescan(a);
        now = progress_now();
        if (a->job && now - last_draw >= 1.0)
            a->dirty = 1; /* the clock and ETA */
        if (a->msg[0] && a->msg_until > 0 && now >= a->msg_until) {
            a->msg_until = 0;
            a->dirty = 1;
        }
        if (!a->quit && a->dirty && (keyed || !a->job || now - last_draw >= 0.1)) {
            ui_tui_draw(a);
            last_draw = now;
            a->dirty = 0;
        }
    }
}

/* ------------------------------------------------------------------------------------------------ entry */

const char *tui_terminal_problem(void)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return "no terminal";
    int err = 0;
    if (setupterm(NULL, STDOUT_FILENO, &err) != OK)
        return "unknown terminal type";
    char *cup = tigetstr("cup");
    if (!cup || cup == (char *)-1)
        return "the terminal cannot address the cursor";
    ui_term_capture_restore();
    del_curterm(cur_term); /* newterm() sets up its own */
    return NULL;
}

static void ui_tui_free(ui_app *a)
{
    ui_setup_free(a);
    ui_run_free(a);
    results_free(a->res);
    free(a->order);
    ui_sessions_free(a);
    ui_compare_close(a);
}

/* The folder the Sessions screen lists: the one above --session DIR, or above SESSION, or sessions/. */
static pd_status ui_tui_sessions_root(ui_app *a, const char *session, const char *sess_dir, pd_error *err)
{
    const char *from = sess_dir ? sess_dir : session;
    if (!from)
        return path_format(a->sessions_root, sizeof a->sessions_root, err, "sessions");
    if (sess_dir)
        PD_TRY(path_format(a->session_arg, sizeof a->session_arg, err, "%s", sess_dir));
    PD_TRY(path_format(a->sessions_root, sizeof a->sessions_root, err, "%s", from));
    size_t len = strlen(a->sessions_root);
    while (!sess_dir && len > 1 && a->sessions_root[len - 1] == '/')
        a->sessions_root[--len] = '\0';
    char *slash = strrchr(a->sessions_root, '/');
    if (slash && slash != a->sessions_root)
        *slash = '\0';
    else
        ui_app_copy(a->sessions_root, sizeof a->sessions_root, slash ? "/" : ".");
    return PD_OK;
}

/* curses on, colours chosen; NULL when the terminal cannot be initialised */
static SCREEN *ui_tui_start_curses(ui_app *a)
{
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr)
        return NULL;
    set_term(scr);
    ui_term_protect();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    timeout(0);
    set_escdelay(25);
    curs_set(0);
    const char *nc = getenv("NO_COLOR");
    if (!(nc && nc[0]) && has_colors()) {
        start_color();
        use_default_colors();
        a->colors = COLORS >= 256 ? 256 : COLORS >= 8 ? 8 : 0;
    }
    ui_term_init_colors(a);
    a->rows = LINES;
    a->cols = COLS;
    return scr;
}

/* The app with Setup pre-filled; NULL when out of memory. */
static ui_app *ui_tui_new(const pd_config *cfg, int utf8)
{
    ui_app *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->cfg = *cfg;
    a->utf8 = utf8;
    a->run_seconds = NAN;
    a->screen = a->prev_screen = UI_SETUP;
    return a;
}

/* What needs curses on: the Setup model, the Sessions list, SESSION on Results; problems show as messages. */
static void ui_tui_open(ui_app *a, const char *session, const char *sess_dir)
{
    pd_error err = {0};
    if (ui_tui_sessions_root(a, session, sess_dir, &err) != PD_OK)
        ui_nav_error(a, &err);
    ui_setup_init(a);
    ui_sessions_scan(a);
    if (session && ui_actions_open(a, session) == 0)
        a->screen = UI_RESULTS;
}

int tui_run(const pd_config *cfg, const char *session, const char *sess_dir)
{
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    int utf8 = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
    setlocale(LC_NUMERIC, "C");
    ui_app *a = ui_tui_new(cfg, utf8);
    if (!a)
        return 1;
    SCREEN *scr = ui_tui_start_curses(a);
    if (!scr) {
        free(a);
        fprintf(stderr, "pdiff tui: cannot initialise the terminal (TERM=%s)\n", getenv("TERM") ? getenv("TERM") : "");
        return 1;
    }
    ui_tui_open(a, session, sess_dir);

    ui_tui_loop(a);

    endwin();
    ui_term_unprotect();
    delscreen(scr);
    if (a->job) { /* only when leaving while a job still runs: it saves before we go */
        job_cancel(a->job);
        job_free(a->job);
        a->job = NULL;
    }
    int rc = a->exit_code;
    if (a->interrupted)
        fprintf(stderr, "pdiff: interrupted; the session keeps everything up to that point (pdiff resume %s)\n",
                a->run_dir);
    ui_tui_free(a);
    free(a);
    return rc;
}
