/* app.h — the TUI's state and the functions its files share (internal to ui/; main.c sees only tui.h).
 *
 * One ui_app holds everything: terminal capabilities, the Setup configuration, the running job and what it
 * streamed (stage progress, loss series, log lines), the loaded results snapshot and each screen's cursor.
 * Only the UI thread touches it; the worker thread lives inside the engine's job (job.h) and is read through
 * job_poll_events()/job_poll_metrics(). Screens draw into the rows between the title bar and the status line
 * and react to navigation actions; every key goes through the one key table in keys.c, which also writes the
 * help overlay. Widgets that need no terminal live in plot.c, heatmap.c and table.c; draw.c paints them.
 */
#ifndef PD_UI_APP_H
#define PD_UI_APP_H

#include <curses.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "heatmap.h"
#include "job.h"
#include "model.h"
#include "pipeline.h"
#include "results.h"

enum { UI_SETUP, UI_RUN, UI_RESULTS, UI_SIMILARITY, UI_LATENTS, UI_SESSIONS, UI_NSCREENS };
#define UI_ON(s) (1u << (s))
#define UI_ALL ((1u << UI_NSCREENS) - 1u)

#define UI_MIN_COLS 40
#define UI_MIN_ROWS 12
#define UI_LOG_LINES 200

/* colour roles (ui_term_role) */
enum {
    UI_C_NORMAL,
    UI_C_TITLE,
    UI_C_TAB,
    UI_C_STATUS,
    UI_C_ERROR,
    UI_C_OK,
    UI_C_DIM,
    UI_C_HEAD,
    UI_C_SEL,
    UI_C_WARN,
    UI_C_SERIES, /* UI_C_SERIES + 0..7: series and kind colours */
    UI_C_COUNT = UI_C_SERIES + 8
};

/* navigation actions passed to a screen */
enum {
    UI_NAV_UP,
    UI_NAV_DOWN,
    UI_NAV_LEFT,
    UI_NAV_RIGHT,
    UI_NAV_PGUP,
    UI_NAV_PGDN,
    UI_NAV_HOME,
    UI_NAV_END,
    UI_NAV_ENTER,
    UI_NAV_SPACE
};

enum { UI_PROMPT_NONE, UI_PROMPT_EDIT, UI_PROMPT_FILTER, UI_PROMPT_SAVE };
enum { UI_STAGE_PENDING, UI_STAGE_RUNNING, UI_STAGE_DONE, UI_STAGE_FAILED, UI_STAGE_SKIPPED };

typedef struct {
    double *x, *y;
    int n;
    int64_t cap;
} ui_series;

typedef struct {
    int state;
    double t_start, t_end; /* seconds since the job started */
    char unit[16];         /* latest progress unit ("task", "evaluate", ...) */
    int64_t done, total;
    double unit_t0; /* when that unit's progress started */
    int64_t unit_done0;
} ui_stage;

typedef struct {
    char name[64];
    int32_t ndim, shape[4];
    int64_t count;
    int ticked;
} ui_tensor;

enum { UI_ROW_GROUP, UI_ROW_KEY, UI_ROW_TENSOR };
typedef struct {
    int kind;
    int index; /* key index (config_key_at) or tensor index */
} ui_setup_row;

typedef struct {
    pd_backend *be;  /* a 1-thread CPU backend for listing the model's tensors */
    pd_model *model; /* the Setup model (trainable = 0, max_batch 1), NULL when it cannot be built */
    ui_tensor *t;
    int nt;
    char probe_key[1200];                    /* arch|width|dataset|data_dir the tensor list was made for */
    char model_note[PD_ERROR_MSG_MAX + 100]; /* "12x12x1, 10 classes" or why the list is empty */
    int data_ok;
    char data_msg[600];
    int target_bad;
    char target_msg[300];
    ui_setup_row *rows;
    int nrows, cursor, top;
    char filter[64];
    char err[PD_ERROR_MSG_MAX]; /* inline validation message (red) */
    int err_row;                /* row it belongs to, -1: the whole form */
} ui_setup;

typedef struct {
    char name[256], path[4400];
    char arch[16], dataset[64];
    double task, obest, pbest, pmedian;
    int complete;
} ui_session_entry;

typedef struct ui_app {
    /* terminal */
    int utf8, colors, rows, cols;
    int ramp[UI_HEATMAP_MAX_RAMP], nramp;
    /* screens and overlays */
    int screen, prev_screen;
    int dirty, quit, exit_code;
    int help, help_top;
    int confirm_quit;
    int prompt;
    char line[512];
    int line_len, line_pos;
    int cur_y, cur_x; /* where the terminal cursor goes while a prompt is open (-1: the prompt line) */
    char msg[PD_ERROR_MSG_MAX + 64];
    int msg_err;
    double msg_until;
    /* Setup */
    pd_config cfg;
    char session_arg[4096]; /* --session */
    char sessions_root[4096];
    ui_setup setup;
    /* the run */
    pd_job *job;
    double job_t0; /* monotonic time the job started */
    char run_dir[4096];
    int stopping;       /* quit requested: exit once the job has saved */
    int interrupted;    /* stopped by Ctrl-C / SIGTERM */
    double run_seconds; /* final elapsed time of the last run */
    ui_stage stage[PD_STAGE_COUNT];
    ui_series task_loss, task_acc, collect_loss, ae_loss, ddpm_loss;
    char log[UI_LOG_LINES][200];
    int log_head, log_n;
    int log_scale;
    /* results */
    pd_results *res;
    int32_t *order;
    int norder, res_cursor, res_top, res_sort;
    char res_filter[64];
    /* similarity */
    int sim_r, sim_c, sim_zoom, sim_r0, sim_c0;
    /* sessions */
    ui_session_entry *sess;
    int nsess, sess_cursor, sess_top;
    char sess_filter[64];
} ui_app;

/* Copy a string into dst[size], truncating (snprintf "%s" without the truncation warnings). */
static inline void ui_app_copy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* tui.c */
double ui_tui_now(void);
void ui_tui_message(ui_app *a, int is_error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ui_tui_goto(ui_app *a, int screen);
void ui_tui_open_results(ui_app *a, const char *dir);

/* term.c: colours, glyphs and text */
void ui_term_init_colors(ui_app *a);
attr_t ui_term_role(const ui_app *a, int role);
void ui_term_set(const ui_app *a, int role);
void ui_term_pair(int fg, int bg, attr_t attrs); /* fg/bg terminal colours, via alloc_pair */
void ui_term_text(int y, int x, int width, const char *s);
void ui_term_textf(int y, int x, int width, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ui_term_fill(int y, int x, int width);
void ui_term_box(const ui_app *a, int y, int x, int h, int w, const char *title);
const char *ui_term_glyph(const ui_app *a, const char *utf8, const char *ascii);
void ui_term_clip_rows(int *top, int cursor, int n, int height);
/* Terminal protection: capture the restore sequence and tty modes (after setupterm), then protect() once
 * curses runs: signal handlers, the engine's assertion hook; emergency_restore() is async-signal-safe. */
void ui_term_capture_restore(void);
void ui_term_emergency_restore(void);
void ui_term_protect(void);
void ui_term_unprotect(void);
int ui_term_signal_count(void); /* SIGINT/SIGTERM/SIGHUP seen so far */

/* draw.c: widgets on the terminal */
typedef struct {
    const ui_series *s;
    const char *label;
    int color; /* series colour slot 1..8 */
} ui_plot_line;
void ui_draw_plot(ui_app *a, int y, int x, int h, int w, const char *title, const ui_plot_line *lines, int n,
                  int logscale, const char *empty_note);
void ui_draw_bar(const ui_app *a, int y, int x, int w, double frac);
void ui_draw_scatter(ui_app *a, int y, int x, int h, int w, const char *title, const char *xlabel, const char *ylabel,
                     const double *xs, const double *ys, const int *kind, int n, const char *const *kinds, int nkinds);
char ui_draw_marker(int kind);
/* A heat cell at (y, x): upper/lower colour slots (-1 none); one char. */
void ui_draw_heat_cell(const ui_app *a, int y, int x, int upper, int lower);
void ui_draw_legend(const ui_app *a, int y, int x, int w, const char *label, double lo, double hi);

/* keys.c */
void ui_keys_handle(ui_app *a, int key);
void ui_keys_draw_help(ui_app *a);
const char *ui_keys_hints(const ui_app *a);

/* prompt.c: the one-line editor, list filters, the quit confirmation */
void ui_prompt_open(ui_app *a, int kind, const char *initial);
void ui_prompt_key(ui_app *a, int key);
void ui_prompt_draw(ui_app *a);
void ui_prompt_draw_confirm(ui_app *a);
char *ui_prompt_filter(ui_app *a); /* the filter string of the current screen, NULL when none */

/* actions.c */
void ui_actions_run(ui_app *a);    /* start a run with the Setup settings */
void ui_actions_resume(ui_app *a); /* resume the session selected on Sessions */
void ui_actions_save(ui_app *a);   /* ask where, then ui_actions_save_to */
void ui_actions_save_to(ui_app *a, const char *path);
void ui_actions_export(ui_app *a, const char *dir);
int ui_actions_write_report(const char *dir, int csv, pd_error *err);

/* screens */
void ui_setup_init(ui_app *a);
void ui_setup_free(ui_app *a);
void ui_setup_refresh(ui_app *a);
void ui_setup_draw(ui_app *a, int y, int h);
void ui_setup_nav(ui_app *a, int act);
int ui_setup_commit(ui_app *a, const char *text); /* 0: accepted; -1: message in setup.err */
const char *ui_setup_current_key(const ui_app *a);

void ui_run_reset(ui_app *a);
void ui_run_free(ui_app *a);
void ui_run_poll(ui_app *a);         /* drain the job's events and metrics */
void ui_run_from_results(ui_app *a); /* curves and stage times of a loaded session */
void ui_run_draw(ui_app *a, int y, int h);
void ui_run_log(ui_app *a, const char *line);
int ui_run_active_stage(const ui_app *a);
double ui_run_eta(const ui_app *a, int stage);
double ui_run_elapsed(const ui_app *a);

void ui_results_set(ui_app *a, pd_results *r); /* takes ownership */
void ui_results_sort(ui_app *a);
void ui_results_draw(ui_app *a, int y, int h);
void ui_results_nav(ui_app *a, int act);

void ui_similarity_draw(ui_app *a, int y, int h);
void ui_similarity_nav(ui_app *a, int act);

void ui_latents_draw(ui_app *a, int y, int h);

void ui_sessions_scan(ui_app *a);
void ui_sessions_free(ui_app *a);
void ui_sessions_draw(ui_app *a, int y, int h);
void ui_sessions_nav(ui_app *a, int act);
const char *ui_sessions_selected(const ui_app *a);

#endif
