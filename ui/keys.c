/* keys.c — the one key table: what every key does on which screen. The same table feeds the dispatcher, the
 * ?/F1 help overlay and the key hints on the status line, so they cannot disagree (htop's Action.c idea). */
#include <stdio.h>
#include <string.h>

#include "keys.h"

#include "actions.h"
#include "compare.h"
#include "figures.h"
#include "log.h"
#include "nav.h"
#include "prompt.h"
#include "screen_latents.h"
#include "screen_results.h"
#include "screen_sessions.h"
#include "screen_setup.h"
#include "screen_similarity.h"
#include "table.h"
#include "term.h"

typedef struct {
    int keys[7];       /* 0-terminated */
    const char *label; /* as the help shows it */
    unsigned screens;  /* UI_ON(...) mask */
    const char *help;
    const char *hint; /* short form for the status line, NULL: not hinted */
    void (*fn)(ui_app *a, int key);
} ui_key;

#define UI_LISTS (UI_ON(UI_SETUP) | UI_ON(UI_RESULTS) | UI_ON(UI_SIMILARITY) | UI_ON(UI_SESSIONS))
#define UI_KEY_ESC 27
#define UI_KEY_CTRL(c) ((c)&0x1f)

static void ui_keys_help(ui_app *a, int key)
{
    (void)key;
    a->help = 1;
    a->help_top = 0;
}

static void ui_keys_next(ui_app *a, int key)
{
    ui_nav_goto(a, (a->screen + (key == KEY_BTAB ? UI_NSCREENS - 1 : 1)) % UI_NSCREENS);
}

static void ui_keys_jump(ui_app *a, int key)
{
    ui_nav_goto(a, key - '1');
}

static void ui_keys_quit(ui_app *a, int key)
{
    (void)key;
    if (a->job && job_running(a->job))
        a->confirm_quit = 1;
    else {
        a->quit = 1;
        a->exit_code = 0;
    }
}

static void ui_keys_nav(ui_app *a, int key)
{
    int act;
    switch (key) {
    case KEY_UP:
    case 'k':
        act = UI_NAV_UP;
        break;
    case KEY_DOWN:
    case 'j':
        act = UI_NAV_DOWN;
        break;
    case KEY_LEFT:
    case 'h':
        act = UI_NAV_LEFT;
        break;
    case KEY_RIGHT:
    case 'l':
        act = UI_NAV_RIGHT;
        break;
    case KEY_PPAGE:
    case UI_KEY_CTRL('b'):
        act = UI_NAV_PGUP;
        break;
    case KEY_NPAGE:
    case UI_KEY_CTRL('f'):
        act = UI_NAV_PGDN;
        break;
    case KEY_HOME:
    case 'g':
        act = UI_NAV_HOME;
        break;
    case KEY_END:
    case 'G':
        act = UI_NAV_END;
        break;
    case ' ':
        act = UI_NAV_SPACE;
        break;
    default:
        act = UI_NAV_ENTER;
        break;
    }
    switch (a->screen) {
    case UI_SETUP:
        ui_setup_nav(a, act);
        break;
    case UI_RESULTS:
        ui_results_nav(a, act);
        break;
    case UI_SIMILARITY:
        ui_similarity_nav(a, act);
        break;
    case UI_LATENTS:
        ui_latents_nav(a, act);
        break;
    case UI_SESSIONS:
        ui_sessions_nav(a, act);
        break;
    default:
        break;
    }
}

/* The filter string of the current screen, NULL when it has none. */
static char *ui_keys_filter_of(ui_app *a)
{
    switch (a->screen) {
    case UI_SETUP:
        return a->setup.filter;
    case UI_RESULTS:
        return a->res_filter;
    case UI_SESSIONS:
        return a->sess_filter;
    default:
        return NULL;
    }
}

/* The filter prompt's edits: the list follows the text as it is typed. */
static void ui_keys_filter_changed(ui_app *a, const char *text)
{
    char *f = ui_keys_filter_of(a);
    if (!f)
        return;
    ui_app_copy(f, sizeof a->res_filter, text);
    if (a->screen == UI_SETUP)
        ui_setup_refresh(a);
    else if (a->screen == UI_RESULTS)
        ui_results_sort(a);
    else if (a->screen == UI_SESSIONS) {
        a->sess_cursor = 0;
        a->sess_top = 0;
    }
}

static void ui_keys_filter_cleared(ui_app *a)
{
    ui_keys_filter_changed(a, "");
}

static void ui_keys_back(ui_app *a, int key)
{
    (void)key;
    if (a->screen == UI_SETUP && ui_setup_plan_close(a))
        return;
    if (a->screen == UI_RESULTS && a->res_detail) {
        a->res_detail = 0;
        return;
    }
    if (a->screen == UI_SESSIONS && a->cmp) {
        ui_compare_close(a);
        return;
    }
    char *f = ui_keys_filter_of(a);
    if (f && *f) {
        f[0] = '\0';
        if (a->screen == UI_SETUP)
            ui_setup_refresh(a);
        if (a->screen == UI_RESULTS)
            ui_results_sort(a);
        return;
    }
    ui_nav_back(a);
}

static void ui_keys_filter(ui_app *a, int key)
{
    (void)key;
    char *f = ui_keys_filter_of(a);
    if (f)
        ui_prompt_open(a, UI_PROMPT_FILTER, f,
                       (ui_prompt_fns){.change = ui_keys_filter_changed, .cancel = ui_keys_filter_cleared});
}

static void ui_keys_plan(ui_app *a, int key)
{
    (void)key;
    ui_setup_plan_toggle(a);
}

static void ui_keys_run(ui_app *a, int key)
{
    (void)key;
    ui_actions_run(a);
}

static void ui_keys_cancel(ui_app *a, int key)
{
    (void)key;
    if (a->job && job_running(a->job)) {
        job_cancel(a->job);
        ui_nav_message(a, 0, "stopping the run: the current stage saves its state (pdiff resume continues it)");
    } else
        ui_nav_message(a, 1, "no run is active");
}

static void ui_keys_save(ui_app *a, int key)
{
    (void)key;
    ui_actions_save(a);
}

static void ui_keys_export(ui_app *a, int key)
{
    (void)key;
    const char *dir = a->screen == UI_SESSIONS ? ui_sessions_selected(a) : a->res ? a->res->dir : NULL;
    if (!dir)
        ui_nav_message(a, 1, "no session to export: open one first (Sessions, 6)");
    else
        ui_actions_export(a, dir);
}

static void ui_keys_export_model(ui_app *a, int key)
{
    (void)key;
    ui_results_export_model(a);
}

static void ui_keys_figure(ui_app *a, int key)
{
    (void)key;
    ui_figures_export(a);
}

static void ui_keys_sort(ui_app *a, int key)
{
    (void)key;
    static const char *const names[] = {"id", "accuracy", "kind", "max similarity"};
    a->res_sort = (a->res_sort + 1) % 4;
    ui_results_sort(a);
    ui_nav_message(a, 0, "models sorted by %s", names[a->res_sort]);
}

static void ui_keys_reverse(ui_app *a, int key)
{
    (void)key;
    a->res_rev = !a->res_rev;
    ui_results_sort(a);
    ui_nav_message(a, 0, "sort order %s", a->res_rev ? "reversed" : "back to normal");
}

static void ui_keys_kinds(ui_app *a, int key)
{
    (void)key;
    ui_results_toggle_kinds(a);
}

static void ui_keys_log(ui_app *a, int key)
{
    (void)key;
    a->log_scale = !a->log_scale;
}

static void ui_keys_logview(ui_app *a, int key)
{
    (void)key;
    ui_log_open(a);
}

static void ui_keys_zoom(ui_app *a, int key)
{
    (void)key;
    a->sim_zoom = !a->sim_zoom;
    ui_nav_message(a, 0, a->sim_zoom ? "heatmap: one cell per pair, scrolling" : "heatmap: fitted to the screen");
}

static void ui_keys_redraw(ui_app *a, int key)
{
    (void)key;
    clearok(curscr, TRUE);
    ui_sessions_scan(a);
}

static void ui_keys_undo(ui_app *a, int key)
{
    (void)key;
    ui_setup_undo(a);
}

static void ui_keys_resume(ui_app *a, int key)
{
    (void)key;
    ui_actions_resume(a, ui_sessions_selected(a));
}

static void ui_keys_open(ui_app *a, int key)
{
    (void)key;
    const char *dir = a->cmp ? NULL : ui_sessions_selected(a);
    if (dir && ui_actions_open(a, dir) == 0)
        ui_nav_goto(a, UI_RESULTS);
}

static const ui_key ui_keys_table[] = {
    {{'?', KEY_F(1)}, "?  F1", UI_ALL, "this help (generated from the key table)", "help", ui_keys_help},
    {{'\t', KEY_BTAB}, "Tab  S-Tab", UI_ALL, "next / previous screen", NULL, ui_keys_next},
    {{'1', '2', '3', '4', '5', '6'},
     "1..6",
     UI_ALL,
     "jump to Setup, Run, Results, Similarity, Latents, Sessions",
     NULL,
     ui_keys_jump},
    {{'r', KEY_F(5)},
     "r  F5",
     UI_ON(UI_SETUP) | UI_ON(UI_RUN),
     "start a run with the Setup settings",
     "run",
     ui_keys_run},
    {{'p'},
     "p",
     UI_ON(UI_SETUP),
     "the plan of a run: work, memory and time per stage, measured here",
     "plan",
     ui_keys_plan},
    {{'u'}, "u", UI_ON(UI_SETUP), "undo the last preset: the settings before it come back", NULL, ui_keys_undo},
    {{'c'}, "c", UI_ON(UI_RUN), "cancel the run (it saves; pdiff resume continues)", "cancel", ui_keys_cancel},
    {{'l'}, "l", UI_ON(UI_RUN), "log-scale loss plots on/off", "log", ui_keys_log},
    {{'L'}, "L", UI_ON(UI_RUN), "the run's log (run.log; j/k PgUp/PgDn g/G / n N, q back)", "runlog", ui_keys_logview},
    {{'o'}, "o", UI_ON(UI_RESULTS), "sort models by id / accuracy / kind / max similarity", "sort", ui_keys_sort},
    {{'O'}, "O", UI_ON(UI_RESULTS), "reverse the sort order", NULL, ui_keys_reverse},
    {{'m'}, "m", UI_ON(UI_RESULTS), "the per-kind memorization table instead of the models", NULL, ui_keys_kinds},
    {{'z'},
     "z",
     UI_ON(UI_SIMILARITY),
     "heatmap: fit to screen (block means) / one cell per pair",
     "zoom",
     ui_keys_zoom},
    {{'R'}, "R", UI_ON(UI_SESSIONS), "resume the selected session (continues its stages)", NULL, ui_keys_resume},
    {{' '}, "Space", UI_ON(UI_SESSIONS), "mark / unmark the session for compare (A, B, ...)", "mark", ui_sessions_key},
    {{'c'},
     "c",
     UI_ON(UI_SESSIONS),
     "compare the marked sessions: summaries side by side, loss curves overlaid (c / Esc closes)",
     "compare",
     ui_sessions_key},
    {{'o', 'O'}, "o  O", UI_ON(UI_SESSIONS), "sort by the next column / reverse the order", "sort", ui_sessions_key},
    {{'d', KEY_DC}, "d  Del", UI_ON(UI_SESSIONS), "delete the selected session (asks first)", NULL, ui_sessions_key},
    {{KEY_UP, 'k'}, "Up  k", UI_LISTS, "move up", NULL, ui_keys_nav},
    {{KEY_DOWN, 'j'}, "Down  j", UI_LISTS, "move down", NULL, ui_keys_nav},
    {{KEY_LEFT, 'h'}, "Left  h", UI_ON(UI_SETUP) | UI_ON(UI_SIMILARITY), "left / previous choice", NULL, ui_keys_nav},
    {{KEY_RIGHT, 'l'}, "Right  l", UI_ON(UI_SETUP) | UI_ON(UI_SIMILARITY), "right / next choice", NULL, ui_keys_nav},
    {{KEY_PPAGE, KEY_NPAGE, UI_KEY_CTRL('b'), UI_KEY_CTRL('f')},
     "PgUp  PgDn",
     UI_LISTS,
     "page up / down",
     NULL,
     ui_keys_nav},
    {{KEY_HOME, KEY_END, 'g', 'G'}, "Home  End", UI_LISTS, "first / last", NULL, ui_keys_nav},
    {{'\n', '\r', KEY_ENTER},
     "Enter",
     UI_ON(UI_SETUP),
     "edit the value (checked at once; Esc cancels)",
     "edit",
     ui_keys_nav},
    {{'\n', '\r', KEY_ENTER}, "Enter", UI_ON(UI_SESSIONS), "open the session's results", "open", ui_keys_open},
    {{'\n', '\r', KEY_ENTER}, "Enter", UI_ON(UI_RESULTS), "every number of the selected model", NULL, ui_keys_nav},
    {{KEY_LEFT, KEY_RIGHT, 'h', 'l', KEY_HOME, KEY_END},
     "Left  Right",
     UI_ON(UI_LATENTS),
     "select the previous / next point (Home/End: first / last)",
     NULL,
     ui_keys_nav},
    {{' '}, "Space", UI_ON(UI_SETUP), "tick a tensor into the target / next choice", "tick", ui_keys_nav},
    {{'/'},
     "/",
     UI_ON(UI_SETUP) | UI_ON(UI_RESULTS) | UI_ON(UI_SESSIONS),
     "filter the list (Esc clears)",
     "filter",
     ui_keys_filter},
    {{'s'}, "s", UI_ALL, "save the Setup settings as a config.csv", NULL, ui_keys_save},
    {{'e'},
     "e",
     UI_ON(UI_RESULTS) | UI_ON(UI_SIMILARITY) | UI_ON(UI_SESSIONS),
     "export report.csv and report.tex into the session",
     "export",
     ui_keys_export},
    {{'x'},
     "x",
     UI_ON(UI_RESULTS),
     "export the selected model as safetensors into SESSION/export",
     NULL,
     ui_keys_export_model},
    {{'F'},
     "F",
     UI_ON(UI_RESULTS) | UI_ON(UI_SIMILARITY),
     "export the figure on screen as PDF into SESSION/figures (pdiff plot --only)",
     NULL,
     ui_keys_figure},
    {{UI_KEY_ESC}, "Esc", UI_ALL, "back: clear the filter, or the previous screen", NULL, ui_keys_back},
    {{UI_KEY_CTRL('l')}, "Ctrl-L", UI_ALL, "redraw the screen, rescan sessions", NULL, ui_keys_redraw},
    {{'q', KEY_F(10)}, "q  F10", UI_ALL, "quit (asks when a run is active)", "quit", ui_keys_quit},
};

#define UI_NKEYS ((int)(sizeof ui_keys_table / sizeof ui_keys_table[0]))

void ui_keys_handle(ui_app *a, int key)
{
    for (int i = 0; i < UI_NKEYS; i++) {
        const ui_key *k = &ui_keys_table[i];
        if (!(k->screens & UI_ON(a->screen)))
            continue;
        for (int j = 0; j < 7 && k->keys[j]; j++)
            if (k->keys[j] == key) {
                k->fn(a, key);
                return;
            }
    }
}

const char *ui_keys_hints(const ui_app *a)
{
    static char buf[256];
    size_t o = 0;
    buf[0] = '\0';
    if (ui_prompt_hints(a)) /* an open prompt takes every key */
        return ui_prompt_hints(a);
    for (int i = 0; i < UI_NKEYS; i++) {
        const ui_key *k = &ui_keys_table[i];
        if (!k->hint || !(k->screens & UI_ON(a->screen)))
            continue;
        char key[16];
        /* the first key of the label ("r  F5" -> "r") */
        ui_app_copy(key, sizeof key, k->label);
        char *sp = strchr(key, ' ');
        if (sp)
            *sp = '\0';
        int n = snprintf(buf + o, sizeof buf - o, "%s%s:%s", o ? " " : "", key, k->hint);
        if (n < 0 || (size_t)n >= sizeof buf - o)
            break;
        o += (size_t)n;
    }
    return buf;
}

static const char *const ui_keys_screen_names[UI_NSCREENS] = {"Setup",      "Run",     "Results",
                                                              "Similarity", "Latents", "Sessions"};

void ui_keys_draw_help(ui_app *a)
{
    /* lines: this screen's keys, then the keys of every screen */
    const char *lines[2 * UI_NKEYS + 8];
    char store[2 * UI_NKEYS + 8][160];
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            snprintf(store[n], sizeof store[n], "On the %s screen", ui_keys_screen_names[a->screen]);
        else
            snprintf(store[n], sizeof store[n], "Everywhere");
        lines[n] = store[n];
        n++;
        for (int i = 0; i < UI_NKEYS; i++) {
            const ui_key *k = &ui_keys_table[i];
            int here = (k->screens & UI_ON(a->screen)) != 0, global = k->screens == UI_ALL;
            if (!here || global != (pass == 1))
                continue;
            snprintf(store[n], sizeof store[n], "  %-11s %s", k->label, k->help);
            lines[n] = store[n];
            n++;
        }
    }
    snprintf(store[n], sizeof store[n], "Ctrl-C stops a run cleanly (it saves); a second Ctrl-C quits at once.");
    lines[n] = store[n];
    n++;
    int w = a->cols - 4 < 80 ? a->cols - 4 : 80, h = a->rows - 2 < n + 2 ? a->rows - 2 : n + 2;
    if (w < 20 || h < 3)
        return;
    int y = (a->rows - h) / 2, x = (a->cols - w) / 2;
    int inner = h - 2;
    if (a->help_top > n - inner)
        a->help_top = n - inner;
    if (a->help_top < 0)
        a->help_top = 0;
    attrset(A_NORMAL);
    ui_term_box(a, y, x, h, w, "keys  (Esc closes, arrows scroll)");
    for (int i = 0; i < inner && a->help_top + i < n; i++) {
        const char *s = lines[a->help_top + i];
        int heading = s[0] != ' ' && a->help_top + i != n - 1;
        attrset(heading ? ui_term_role(a, UI_C_HEAD) : A_NORMAL);
        ui_term_text(y + 1 + i, x + 2, w - 4, s);
    }
    attrset(A_NORMAL);
}
