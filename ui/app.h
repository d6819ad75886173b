/* app.h — the TUI's shared state (internal to ui/; the program sees only tui.h). No functions: each ui/ module
 * declares its own in its header, and calls go one way only (each line calls only what is below it):
 *
 *   tui.c      tui.h: the entry and the loop (nothing calls back into it)
 *   keys.c     keys.h: the key table, the help overlay, the hints
 *   actions.c  actions.h: run, resume, open a session, save the Setup, export
 *   run.c      screen_run.h: the Run screen (when a run ends it opens its results: results.c)
 *   setup.c results.c similarity.c latents.c sessions.c: the other screens (screen_*.h)
 *   watch.c    watch.h: following a session another process writes (the loop polls it; it reloads Results, Run)
 *   compare.c  compare.h: the compare view of marked sessions (Sessions draws it)
 *   prompt.c   prompt.h: the line editor; Enter/Esc/edits call what its opener passed (ui_prompt_fns)
 *   nav.c      nav.h: the message line, going to a screen (Sessions: marks the list stale, the
 *              loop rescans it)
 *   draw.c     draw.h, term.c term.h: painting; plot.c heatmap.c table.c: pure widgets, no terminal
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
#include "path.h"
#include "pipeline.h"
#include "results.h"
#include "series.h"

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

enum { UI_PROMPT_NONE, UI_PROMPT_EDIT, UI_PROMPT_FILTER, UI_PROMPT_SAVE, UI_PROMPT_CONFIRM }; /* CONFIRM: y/n */
enum { UI_STAGE_PENDING, UI_STAGE_RUNNING, UI_STAGE_DONE, UI_STAGE_FAILED, UI_STAGE_SKIPPED };

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
    char probe_key[2 * PD_CONFIG_STR + 64];  /* arch|width|dataset|data_dir the tensor list was made for */
    char model_note[PD_ERROR_MSG_MAX + 100]; /* "12x12x1, 10 classes" or why the list is empty */
    int data_ok;
    char data_dir[PD_PATH_MAX];      /* where the files are (or were looked for) */
    char data_msg[PD_ERROR_MSG_MAX]; /* why they are missing */
    int target_bad;
    char target_msg[300];
    ui_setup_row *rows;
    int nrows, cursor, top;
    char filter[64];
    char err[PD_ERROR_MSG_MAX]; /* inline validation message (red) */
    int err_row;                /* row it belongs to, -1: the whole form */
    struct ui_plan_job *plan;   /* `p`: the run's plan, computed in a thread (setup_plan.c); NULL: none */
    int plan_shown;             /* the plan's popup is open */
    char filter_built[64];      /* the filter the rows were built for (a new one puts the cursor on the first row) */
    char device_checked[8];     /* the device device_msg was found for ("" = not checked) */
    char device_msg[PD_ERROR_MSG_MAX]; /* why that device cannot be used ("" = it can) */
    pd_config pending;          /* the settings a preset would give, while Setup asks (UI_PROMPT_CONFIRM) */
    char confirm[PD_ERROR_MSG_MAX]; /* the question */
    pd_config undo;             /* the settings before the last preset (`u` restores them) */
    int has_undo;
} ui_setup;

typedef struct {
    char name[256], path[PD_PATH_MAX];
    char arch[16], dataset[64];
    double task, obest, pbest, pmedian;
    int complete;
    double date;            /* newest of config.csv / summary.csv (seconds since the epoch), NaN unknown */
    double d, k, seed;      /* config.csv's target_d, k, seed (NaN unknown) */
    double novelty, wall;   /* summary.csv's novelty; the sum of its seconds_STAGE (NaN none) */
    int marked;             /* Space: chosen for the compare view (1, 2, ...: the order marked; 0 not) */
    int running;            /* another process writes it (session_owner) */
    char progress[32];      /* while running: its stage and how far ("ddpm 42%", progress.csv), else "" */
    unsigned shown;         /* the Sessions screen's draw that last showed its row (sess_draws) */
} ui_session_entry;

struct ui_app;
/* What an open prompt does (prompt.h): its opener passes these, so the prompt calls nobody else. */
typedef struct {
    int (*submit)(struct ui_app *a, const char *text);  /* Enter: 0 closes the prompt, else it stays open */
    void (*change)(struct ui_app *a, const char *text); /* after each edit (live filters); may be NULL */
    void (*cancel)(struct ui_app *a);                   /* Esc; may be NULL */
} ui_prompt_fns;

typedef struct ui_app {
    /* terminal */
    int utf8, colors, rows, cols;
    int ramp[UI_HEATMAP_MAX_RAMP], nramp;
    /* screens and overlays */
    int screen, prev_screen;
    int history[16], n_history; /* screens visited before this one, oldest first: Esc goes back through them */
    int dirty, quit, exit_code;
    int help, help_top;
    int confirm_quit;
    int prompt;
    ui_prompt_fns prompt_fns;
    char line[512];
    int line_len, line_pos;
    int cur_y, cur_x; /* where the terminal cursor goes while a prompt is open (-1: the prompt line) */
    char msg[PD_ERROR_MSG_MAX + 64];
    int msg_err;
    double msg_until;
    /* Setup */
    pd_config cfg;
    char session_arg[PD_PATH_MAX]; /* --session */
    char sessions_root[PD_PATH_MAX];
    ui_setup setup;
    /* the run */
    pd_job *job;
    double job_t0; /* monotonic time the job started */
    char run_dir[PD_PATH_MAX];
    int stopping;       /* quit requested: exit once the job has saved */
    int interrupted;    /* stopped by Ctrl-C / SIGTERM */
    double run_seconds; /* final elapsed time of the last run */
    ui_stage stage[PD_STAGE_COUNT];
    double run_cost[PD_STAGE_COUNT][2]; /* relative size of each stage's work (its two units) for the run's ETA */
    ui_series task_loss, task_acc, collect_loss, ae_loss, ddpm_loss;
    char log[UI_LOG_LINES][200];
    int log_head, log_n;
    int job_started;                       /* the job began a stage (else its failure is a failed start) */
    char run_error[PD_ERROR_MSG_MAX + 64]; /* the last run's failure in full ("": none); the log view shows it */
    struct ui_logview *logview;            /* L: the log view (log.h), NULL when closed */
    int log_scale;
    /* results */
    pd_results *res;
    int32_t *order;
    int norder, res_cursor, res_top, res_sort;
    char res_filter[64];
    int res_rev, res_detail; /* reverse sort (O); the selected model's numbers (Enter) */
    /* similarity */
    int sim_r, sim_c, sim_zoom, sim_r0, sim_c0;
    int lat_cursor; /* latents: the selected point */
    /* sessions */
    ui_session_entry *sess;
    int nsess, sess_cursor, sess_top;
    int sess_stale; /* rescan before the next key or frame (nav.c sets it, the loop rescans) */
    double sess_poll_next; /* when the Sessions screen next looks at who writes its sessions (sessions.c) */
    unsigned sess_draws;   /* draws of the Sessions table so far (ui_session_entry.shown) */
    int sess_poll_turn;    /* where the next poll's turn through the rows not shown and not running starts */
    long long sess_root_stamp; /* the sessions root's modification time (ns) at the last scan: a change rescans */
    char sess_filter[64];
    int sess_sort, sess_rev;           /* sort column (sessions.c), reversed */
    char sess_delete[PD_PATH_MAX];     /* a session waiting for y/n before it is deleted; "" none */
    struct ui_compare *cmp;            /* the compare view (compare.c); NULL when closed */
    /* watching a session another process writes (watch.c) */
    int watching;                      /* a->res is being written by another process */
    char watch_who[320];               /* "running on HOST pid N" */
    char watch_dir[PD_PATH_MAX];       /* the session watched */
    char watch_sig[256];               /* the sizes and times of its files at the last reload */
    double watch_next;                 /* when to look again */
    long watch_pid;                    /* the writer's pid (its lock file) */
    double watch_done_s;               /* seconds of the stages it completed (summary.csv) */
    char watch_prog[64];               /* progress.csv's size and time at the last look (watch.c) */
    double watch_cost[PD_STAGE_COUNT][2]; /* run_cost from the session's config.csv (the whole run's ETA) */
} ui_app;

/* Copy a string into dst[size], truncating (snprintf "%s" without the truncation warnings). */
static inline void ui_app_copy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#endif
