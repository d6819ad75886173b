/* setup.c — the Setup screen: every setting of the key table grouped as config.h groups them, edited in place
 * and checked by config_set() at once (the message shows inline in red); the data set with a found/missing
 * hint (dataset_locate); the model's parameter tensors with shapes and sizes, ticked with Space to form the
 * target, with the running total D. `r` starts the run with these settings (actions.c); `p` shows its plan (the work,
 * memory and estimated time per stage, plan.h) in a popup, computed in a thread because timing the units takes
 * seconds.
 *
 * The tensor list comes from a real model built with trainable = 0 and max_batch 1 on a one-thread CPU backend;
 * its input shape is probed from the data set's headers (IDX) or known (CIFAR), falling back to 1x28x28 with
 * 10 classes when the files are missing.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "screen_setup.h"

#include "backend.h"
#include "dataset.h"
#include "nav.h"
#include "plan.h"
#include "prompt.h"
#include "table.h"
#include "target.h"
#include "term.h"

/* ------------------------------------------------------------------------------------------------ probing */

static void ui_setup_free_model(ui_setup *s)
{
    model_free(s->model);
    s->model = NULL;
    free(s->t);
    s->t = NULL;
    s->nt = 0;
}

/* Tick the tensors the configured target selects. */
static void ui_setup_apply_target(ui_app *a)
{
    ui_setup *s = &a->setup;
    for (int i = 0; i < s->nt; i++)
        s->t[i].ticked = 0;
    s->target_bad = 0;
    s->target_msg[0] = '\0';
    if (!s->model)
        return;
    pd_target t;
    pd_error err = {0};
    if (target_resolve(&t, s->model, a->cfg.target, &err) != PD_OK) {
        s->target_bad = 1;
        ui_app_copy(s->target_msg, sizeof s->target_msg, err.msg);
        return;
    }
    for (int i = 0; i < t.n; i++)
        if (t.tensor[i] >= 0 && t.tensor[i] < s->nt)
            s->t[t.tensor[i]].ticked = 1;
    target_free(&t);
}

static void ui_setup_probe(ui_app *a)
{
    ui_setup *s = &a->setup;
    const pd_config *c = &a->cfg;
    char key[sizeof s->probe_key];
    snprintf(key, sizeof key, "%s|%d|%s|%s", c->arch, (int)c->width, c->dataset, c->data_dir);
    if (strcmp(key, s->probe_key) == 0)
        return;
    ui_app_copy(s->probe_key, sizeof s->probe_key, key);
    ui_setup_free_model(s);

    pd_error err = {0};
    s->data_dir[0] = '\0';
    s->data_ok = dataset_locate(c->dataset, c->data_dir, s->data_dir, sizeof s->data_dir, &err) == PD_OK;
    ui_app_copy(s->data_msg, sizeof s->data_msg, s->data_ok ? "" : err.msg);

    int32_t ch = 1, h = 28, w = 28, classes = 10;
    pd_error perr = {0};
    int known = s->data_ok && dataset_probe(c->dataset, c->data_dir, &ch, &h, &w, &classes, &perr) == PD_OK;
    if (!known) {
        ch = strncmp(c->dataset, "cifar", 5) == 0 ? 3 : 1;
        h = w = ch == 3 ? 32 : 28;
        classes = strcmp(c->dataset, "cifar100") == 0 ? 100 : 10;
    }

    pd_arch arch;
    if (model_arch_parse(c->arch, &arch, &err) != PD_OK) {
        ui_app_copy(s->model_note, sizeof s->model_note, err.msg);
        return;
    }
    if (!s->be && backend_cpu_create(&s->be, 1, &err) != PD_OK) {
        ui_app_copy(s->model_note, sizeof s->model_note, err.msg);
        return;
    }
    pd_model_spec spec = {.arch = arch,
                          .in_c = ch,
                          .in_h = h,
                          .in_w = w,
                          .classes = classes,
                          .width = c->width,
                          .max_batch = 1,
                          .trainable = 0};
    if (model_create(&s->model, s->be, &spec, &err) != PD_OK) {
        s->model = NULL;
        snprintf(s->model_note, sizeof s->model_note, "cannot build %s: %s", c->arch, err.msg);
        return;
    }
    snprintf(s->model_note, sizeof s->model_note, "%s on %dx%dx%d, %d classes%s", c->arch, (int)h, (int)w, (int)ch,
             (int)classes, known ? "" : " (assumed: data not found)");
    int n = model_tensor_count(s->model);
    s->t = calloc((size_t)(n > 0 ? n : 1), sizeof *s->t);
    if (!s->t)
        return;
    for (int i = 0; i < n; i++) {
        const pd_tensor_info *ti = model_tensor(s->model, i);
        ui_app_copy(s->t[i].name, sizeof s->t[i].name, ti->name);
        s->t[i].ndim = ti->ndim;
        memcpy(s->t[i].shape, ti->shape, sizeof s->t[i].shape);
        s->t[i].count = ti->count;
    }
    s->nt = n;
}

/* ------------------------------------------------------------------------------------------------ the plan */

#define UI_PLAN_LINE 1200

/* One plan being computed in its own thread, or computed. */
typedef struct ui_plan_job {
    pthread_t th;
    pd_config cfg;
    pd_plan plan;
    pd_error err;
    pd_status st;
    atomic_int done, cancel;
} ui_plan_job;

static int ui_setup_plan_cancelled(void *ud)
{
    return atomic_load(&((ui_plan_job *)ud)->cancel);
}

static void *ui_setup_plan_thread(void *vp)
{
    ui_plan_job *j = vp;
    pd_callbacks cb = {.should_cancel = ui_setup_plan_cancelled, .ud = j};
    j->st = plan_compute(&j->plan, &j->cfg, 1, &cb, &j->err);
    atomic_store(&j->done, 1);
    return NULL;
}

/* Stop (cancel and join) and forget the plan. */
static void ui_setup_plan_end(ui_app *a)
{
    ui_plan_job *j = a->setup.plan;
    a->setup.plan = NULL;
    a->setup.plan_shown = 0;
    if (!j)
        return;
    atomic_store(&j->cancel, 1);
    pthread_join(j->th, NULL);
    free(j);
}

int ui_setup_plan_close(ui_app *a)
{
    int was = a->setup.plan_shown;
    ui_setup_plan_end(a);
    return was;
}

void ui_setup_plan_toggle(ui_app *a)
{
    if (ui_setup_plan_close(a))
        return;
    if (a->job && job_running(a->job)) {
        ui_nav_message(a, 1, "a run is active: timing the plan's units now would slow it down");
        return;
    }
    pd_error err = {0};
    if (config_validate(&a->cfg, &err) != PD_OK) {
        ui_nav_error(a, &err);
        return;
    }
    ui_plan_job *j = calloc(1, sizeof *j);
    if (!j) {
        ui_nav_message(a, 1, "out of memory");
        return;
    }
    j->cfg = a->cfg;
    if (pthread_create(&j->th, NULL, ui_setup_plan_thread, j) != 0) {
        free(j);
        ui_nav_message(a, 1, "cannot start a thread to compute the plan");
        return;
    }
    a->setup.plan = j;
    a->setup.plan_shown = 1;
}

void ui_setup_poll(ui_app *a)
{
    ui_plan_job *j = a->setup.plan;
    if (j && j->st == PD_OK && atomic_load(&j->done) == 1) {
        atomic_store(&j->done, 2); /* seen */
        a->dirty = 1;
    }
}

/* The popup's lines: the data, per stage the work, memory and time, the total, what it was measured on. */
static int ui_setup_plan_lines(const ui_app *a, char lines[][UI_PLAN_LINE], int max)
{
    const ui_plan_job *j = a->setup.plan;
    const pd_plan *p = &j->plan;
    int n = 0;
    if (!atomic_load(&j->done)) {
        snprintf(lines[n++], UI_PLAN_LINE, "computing the plan: timing a few units of each stage on %s...", a->cfg.device);
        return n;
    }
    if (j->st != PD_OK) {
        snprintf(lines[n++], UI_PLAN_LINE, "no plan: %s", j->err.msg);
        return n;
    }
    char mem[32], t[32];
    snprintf(lines[n++], UI_PLAN_LINE, "%s on %s: %d + %d images of %dx%dx%d, %d classes", a->cfg.arch, a->cfg.dataset,
             p->n_train, p->n_test, p->h, p->w, p->c, p->classes);
    if (p->data_note[0] && n < max)
        snprintf(lines[n++], UI_PLAN_LINE, "%s", p->data_note);
    snprintf(lines[n++], UI_PLAN_LINE, "%-9s %10s %10s  %s", "stage", "memory", "time", "work");
    for (int i = 0; i < PD_STAGE_COUNT && n < max - 2; i++) {
        plan_format_bytes(p->stage[i].bytes, mem, sizeof mem);
        plan_format_seconds(p->stage[i].seconds, t, sizeof t);
        snprintf(lines[n++], UI_PLAN_LINE, "%-9s %10s %10s  %s", pipeline_stage_name((pd_stage)i), mem, t, p->stage[i].work);
    }
    plan_format_bytes(p->peak_bytes, mem, sizeof mem);
    plan_format_seconds(p->total_seconds, t, sizeof t);
    snprintf(lines[n++], UI_PLAN_LINE, "%-9s %10s %10s  estimated total (memory: the largest stage's)", "total", mem, t);
    snprintf(lines[n++], UI_PLAN_LINE, "measured on %s with %d thread%s in %.1f s (p or Esc closes)", p->backend, p->threads,
             p->threads == 1 ? "" : "s", p->measure_seconds);
    return n;
}

static void ui_setup_draw_plan(ui_app *a, int y, int h)
{
    char lines[16][UI_PLAN_LINE];
    int n = ui_setup_plan_lines(a, lines, 16);
    int w = a->cols, bh = n + 2 < h ? n + 2 : h;
    if (w < 20 || bh < 3)
        return;
    attrset(A_NORMAL);
    ui_term_box(a, y + (h - bh) / 2, 0, bh, w, "plan of a run with these settings");
    for (int i = 0; i < bh - 2; i++) {
        attrset(i == 2 && n > 3 ? ui_term_role(a, UI_C_HEAD) : A_NORMAL);
        ui_term_text(y + (h - bh) / 2 + 1 + i, 2, w - 4, lines[i]);
    }
    attrset(A_NORMAL);
}

/* ------------------------------------------------------------------------------------------------ rows */

static int ui_setup_add_row(ui_setup *s, int kind, int index, int cap)
{
    if (s->nrows >= cap)
        return -1;
    s->rows[s->nrows].kind = kind;
    s->rows[s->nrows].index = index;
    s->nrows++;
    return 0;
}

void ui_setup_refresh(ui_app *a)
{
    ui_setup *s = &a->setup;
    ui_setup_probe(a);
    ui_setup_apply_target(a);
    /* keep the cursor on the same setting or tensor when the list changes */
    ui_setup_row keep = {-1, -1};
    if (s->rows && s->cursor >= 0 && s->cursor < s->nrows)
        keep = s->rows[s->cursor];
    int cap = 2 * config_key_count() + s->nt + 8;
    free(s->rows);
    s->rows = calloc((size_t)cap, sizeof *s->rows);
    s->nrows = 0;
    if (!s->rows)
        return;
    const char *group = NULL;
    for (int i = 0; i < config_key_count(); i++) {
        const pd_key_info *k = config_key_at(i);
        int is_target = strcmp(k->name, "target") == 0;
        int key_match = !s->filter[0] || strstr(k->name, s->filter);
        int tensor_match = 0;
        for (int t = 0; is_target && t < s->nt && !tensor_match; t++)
            tensor_match = !s->filter[0] || strstr(s->t[t].name, s->filter);
        if (!key_match && !tensor_match)
            continue;
        if (!group || strcmp(group, k->group) != 0) {
            ui_setup_add_row(s, UI_ROW_GROUP, i, cap);
            group = k->group;
        }
        if (key_match)
            ui_setup_add_row(s, UI_ROW_KEY, i, cap);
        for (int t = 0; is_target && t < s->nt; t++)
            if (!s->filter[0] || key_match || strstr(s->t[t].name, s->filter))
                ui_setup_add_row(s, UI_ROW_TENSOR, t, cap);
    }
    for (int i = 0; i < s->nrows; i++)
        if (s->rows[i].kind == keep.kind && s->rows[i].index == keep.index)
            s->cursor = i;
    if (s->cursor >= s->nrows)
        s->cursor = s->nrows - 1;
    if (s->cursor < 0)
        s->cursor = 0;
    /* land on a selectable row */
    while (s->cursor < s->nrows - 1 && s->rows[s->cursor].kind == UI_ROW_GROUP)
        s->cursor++;
}

void ui_setup_init(ui_app *a)
{
    memset(&a->setup, 0, sizeof a->setup);
    a->setup.err_row = -1;
    ui_setup_refresh(a);
}

void ui_setup_free(ui_app *a)
{
    ui_setup_plan_end(a);
    ui_setup_free_model(&a->setup);
    backend_destroy(a->setup.be);
    a->setup.be = NULL;
    free(a->setup.rows);
    a->setup.rows = NULL;
    a->setup.nrows = 0;
}

const char *ui_setup_current_key(const ui_app *a)
{
    const ui_setup *s = &a->setup;
    if (s->cursor < 0 || s->cursor >= s->nrows)
        return NULL;
    const ui_setup_row *r = &s->rows[s->cursor];
    return r->kind == UI_ROW_TENSOR ? "target" : config_key_at(r->index)->name;
}

static int64_t ui_setup_d(const ui_setup *s, int *ntick)
{
    int64_t d = 0;
    *ntick = 0;
    for (int i = 0; i < s->nt; i++)
        if (s->t[i].ticked) {
            d += s->t[i].count;
            (*ntick)++;
        }
    return d;
}

/* ------------------------------------------------------------------------------------------------ editing */

/* The target spec for the ticked tensors: "all", else whole layers by their prefix and single tensors by name. */
static void ui_setup_compose_target(const ui_setup *s, char *out, size_t size)
{
    int all = s->nt > 0;
    for (int i = 0; i < s->nt; i++)
        all &= s->t[i].ticked;
    if (all) {
        snprintf(out, size, "all");
        return;
    }
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < s->nt;) {
        const char *dot = strrchr(s->t[i].name, '.');
        size_t plen = dot ? (size_t)(dot - s->t[i].name) : strlen(s->t[i].name);
        int j = i, whole = 1;
        while (j < s->nt && strncmp(s->t[j].name, s->t[i].name, plen) == 0 && s->t[j].name[plen] == '.' &&
               !strchr(s->t[j].name + plen + 1, '.')) {
            whole &= s->t[j].ticked;
            j++;
        }
        if (j == i) /* a name without a dot */
            j = i + 1;
        for (int k = i; k < j; k++) {
            if (!s->t[k].ticked)
                continue;
            int n = whole ? snprintf(out + o, size - o, "%s%.*s", o ? "," : "", (int)plen, s->t[i].name)
                          : snprintf(out + o, size - o, "%s%s", o ? "," : "", s->t[k].name);
            if (n > 0 && (size_t)n < size - o)
                o += (size_t)n;
            if (whole)
                break;
        }
        i = j;
    }
}

static void ui_setup_toggle(ui_app *a, int t)
{
    ui_setup *s = &a->setup;
    s->t[t].ticked = !s->t[t].ticked;
    char spec[4096];
    ui_setup_compose_target(s, spec, sizeof spec);
    if (!spec[0]) {
        s->target_bad = 1;
        snprintf(s->target_msg, sizeof s->target_msg, "tick at least one tensor (Space)");
        return;
    }
    pd_error err = {0};
    if (config_set(&a->cfg, "target", spec, &err) != PD_OK) {
        s->target_bad = 1;
        ui_app_copy(s->target_msg, sizeof s->target_msg, err.msg);
        return;
    }
    s->target_bad = 0;
    s->target_msg[0] = '\0';
}

/* The edit prompt's Enter: 0 when config_set() takes the value, -1 with the message in setup.err */
static int ui_setup_commit(ui_app *a, const char *text)
{
    ui_setup *s = &a->setup;
    const char *key = ui_setup_current_key(a);
    if (!key)
        return 0;
    pd_error err = {0};
    if (config_set(&a->cfg, key, text, &err) != PD_OK) {
        ui_app_copy(s->err, sizeof s->err, err.msg);
        s->err_row = s->cursor;
        return -1;
    }
    s->err[0] = '\0';
    s->err_row = -1;
    ui_setup_plan_close(a); /* made for the old value */
    ui_setup_refresh(a);
    return 0;
}

static void ui_setup_cancel(ui_app *a)
{
    a->setup.err[0] = '\0';
}

static void ui_setup_cycle(ui_app *a, const pd_key_info *k, int dir)
{
    char cur[PD_CONFIG_STR];
    if (config_get(&a->cfg, k->name, cur, sizeof cur, NULL) != PD_OK)
        return;
    if (k->kind == PD_KEY_INT) {
        long long v = atoll(cur) + dir;
        if (v < (long long)k->min || v > (long long)k->max)
            return;
        snprintf(cur, sizeof cur, "%lld", v);
        ui_setup_commit(a, cur);
        return;
    }
    if (k->kind != PD_KEY_CHOICE || !k->choices)
        return;
    char choices[256];
    ui_app_copy(choices, sizeof choices, k->choices);
    char *list[32];
    int n = 0, at = 0;
    for (char *save = NULL, *tok = strtok_r(choices, "|", &save); tok && n < 32; tok = strtok_r(NULL, "|", &save)) {
        if (strcmp(tok, cur) == 0)
            at = n;
        list[n++] = tok;
    }
    if (n > 0)
        ui_setup_commit(a, list[(at + dir + n) % n]);
}

void ui_setup_nav(ui_app *a, int act)
{
    ui_setup *s = &a->setup;
    if (s->nrows == 0)
        return;
    int step = 0, page = a->rows - 8 > 1 ? a->rows - 8 : 1;
    switch (act) {
    case UI_NAV_UP:
        step = -1;
        break;
    case UI_NAV_DOWN:
        step = 1;
        break;
    case UI_NAV_PGUP:
        step = -page;
        break;
    case UI_NAV_PGDN:
        step = page;
        break;
    case UI_NAV_HOME:
        step = -s->nrows;
        break;
    case UI_NAV_END:
        step = s->nrows;
        break;
    default:
        break;
    }
    if (step) {
        int c = s->cursor + step;
        c = c < 0 ? 0 : c >= s->nrows ? s->nrows - 1 : c;
        int dir = step > 0 ? 1 : -1;
        while (c >= 0 && c < s->nrows && s->rows[c].kind == UI_ROW_GROUP)
            c += dir;
        if (c < 0 || c >= s->nrows) { /* ran off the end: search the other way */
            c = c < 0 ? 0 : s->nrows - 1;
            while (c >= 0 && c < s->nrows && s->rows[c].kind == UI_ROW_GROUP)
                c -= dir;
        }
        if (c >= 0 && c < s->nrows)
            s->cursor = c;
        s->err[0] = '\0';
        return;
    }
    const ui_setup_row *r = &s->rows[s->cursor];
    if (r->kind == UI_ROW_TENSOR) {
        if (act == UI_NAV_SPACE || act == UI_NAV_ENTER)
            ui_setup_toggle(a, r->index);
        return;
    }
    if (r->kind != UI_ROW_KEY)
        return;
    const pd_key_info *k = config_key_at(r->index);
    if (act == UI_NAV_LEFT || act == UI_NAV_RIGHT)
        ui_setup_cycle(a, k, act == UI_NAV_LEFT ? -1 : 1);
    else if (act == UI_NAV_SPACE && k->kind == PD_KEY_CHOICE)
        ui_setup_cycle(a, k, 1);
    else if (act == UI_NAV_ENTER || act == UI_NAV_SPACE) {
        char cur[PD_CONFIG_STR] = "";
        config_get(&a->cfg, k->name, cur, sizeof cur, NULL);
        ui_prompt_open(a, UI_PROMPT_EDIT, cur, (ui_prompt_fns){.submit = ui_setup_commit, .cancel = ui_setup_cancel});
    }
}

/* ------------------------------------------------------------------------------------------------ drawing */

static void ui_setup_draw_row(ui_app *a, int y, int idx, int sel)
{
    ui_setup *s = &a->setup;
    const ui_setup_row *r = &s->rows[idx];
    int W = a->cols;
    char line[1024];
    if (r->kind == UI_ROW_GROUP) {
        const pd_key_info *k = config_key_at(r->index);
        attrset(ui_term_role(a, UI_C_HEAD));
        const char *hz = ui_term_glyph(a, "\u2500\u2500", "--");
        ui_term_textf(y, 0, W, "%s %s", hz, k->group);
        attrset(A_NORMAL);
        return;
    }
    int nw = W >= 90 ? 18 : 14, vw = W >= 100 ? 30 : W >= 80 ? 24 : 18;
    if (r->kind == UI_ROW_TENSOR) {
        const ui_tensor *t = &s->t[r->index];
        char shape[64] = "", cnt[32];
        for (int d = 0; d < t->ndim && d < 4; d++) {
            char part[16];
            snprintf(part, sizeof part, "%s%d", d ? ui_term_glyph(a, "\u00d7", "x") : "", (int)t->shape[d]);
            strncat(shape, part, sizeof shape - strlen(shape) - 1);
        }
        ui_table_fmt_count(t->count, cnt, sizeof cnt);
        char name[256], sh[128], cn[64];
        int tw = nw + vw - 6 > 12 ? nw + vw - 6 : 12;
        ui_table_fit(t->name, tw, 0, a->utf8, name, sizeof name);
        ui_table_fit(shape, 14, 0, a->utf8, sh, sizeof sh);
        ui_table_fit(cnt, 10, 1, a->utf8, cn, sizeof cn);
        snprintf(line, sizeof line, "    [%c] %s %s %s", t->ticked ? 'x' : ' ', name, sh, cn);
        attrset(sel ? ui_term_role(a, UI_C_SEL) : t->ticked ? ui_term_role(a, UI_C_OK) : A_NORMAL);
        ui_term_text(y, 0, W, line);
        attrset(A_NORMAL);
        return;
    }
    const pd_key_info *k = config_key_at(r->index);
    char val[PD_CONFIG_STR] = "", def[PD_CONFIG_STR] = "";
    config_get(&a->cfg, k->name, val, sizeof val, NULL);
    pd_config dc;
    config_defaults(&dc);
    config_get(&dc, k->name, def, sizeof def, NULL);
    char name[64], v[512];
    ui_table_fit(k->name, nw, 0, a->utf8, name, sizeof name);
    int editing = sel && a->prompt == UI_PROMPT_EDIT;
    ui_table_fit(editing ? "" : val, vw, 0, a->utf8, v, sizeof v);
    attrset(sel ? ui_term_role(a, UI_C_SEL) : A_NORMAL);
    ui_term_textf(y, 0, W, "  %s ", name);
    attrset(sel ? ui_term_role(a, UI_C_SEL) : strcmp(val, def) != 0 ? A_BOLD : A_NORMAL);
    ui_term_text(y, nw + 3, vw, v);
    attrset(ui_term_role(a, UI_C_DIM));
    if (W > nw + vw + 5)
        ui_term_text(y, nw + vw + 4, W - (nw + vw + 4), k->help);
    attrset(A_NORMAL);
    if (editing) {
        /* the edit buffer, scrolled so the cursor stays visible */
        attrset(A_UNDERLINE);
        int bw;
        const char *shown = ui_prompt_visible(a, vw - 1, &bw);
        ui_term_text(y, nw + 3, vw, shown);
        attrset(A_NORMAL);
        a->cur_y = y;
        a->cur_x = nw + 3 + bw;
    }
}

/* " data   SPEC  ✓ files found in DIR" or " data   SPEC  ✗ WHY": the verdict always shows; a long spec is
 * shortened in the middle, a long folder or message at the start (the folder's own name stays). */
static void ui_setup_draw_data(ui_app *a, int y)
{
    const ui_setup *s = &a->setup;
    int W = a->cols;
    const char *mark = s->data_ok ? ui_term_glyph(a, "\u2713", "ok:") : ui_term_glyph(a, "\u2717", "missing:");
    const char *lead = s->data_ok ? " files found in " : " ";
    const char *what = s->data_ok ? s->data_dir : s->data_msg;
    int avail = W - 8 - 2 - ui_table_text_width(mark) - ui_table_text_width(lead) - 1;
    int spec_w = ui_table_text_width(a->cfg.dataset), what_w = ui_table_text_width(what);
    int spec_room = spec_w;
    if (spec_w + what_w > avail) { /* the spec gets what the folder leaves, but at least 12 columns */
        int want = what_w < avail / 2 ? what_w : avail / 2;
        spec_room = avail - want < spec_w ? avail - want : spec_w;
        if (spec_room < 12)
            spec_room = spec_w < 12 ? spec_w : 12;
    }
    char spec[PD_CONFIG_STR + 8], tail[PD_PATH_MAX + PD_ERROR_MSG_MAX];
    ui_table_elide(a->cfg.dataset, spec_room, UI_ELIDE_MIDDLE, a->utf8, spec, sizeof spec);
    ui_table_elide(what, avail - ui_table_text_width(spec), UI_ELIDE_START, a->utf8, tail, sizeof tail);
    attrset(A_BOLD);
    ui_term_textf(y, 0, W, " data   %s", spec);
    int dx = 9 + ui_table_text_width(spec);
    attrset(ui_term_role(a, s->data_ok ? UI_C_OK : UI_C_ERROR));
    ui_term_textf(y, dx, W - dx, "  %s%s%s", mark, lead, tail);
    attrset(A_NORMAL);
}

void ui_setup_draw(ui_app *a, int y, int h)
{
    ui_setup *s = &a->setup;
    int W = a->cols;
    ui_setup_draw_data(a, y);
    int ntick;
    int64_t d = ui_setup_d(s, &ntick);
    char dt[32];
    ui_table_fmt_count(d, dt, sizeof dt);
    attrset(A_BOLD);
    ui_term_textf(y + 1, 0, W, " target D = %s in %d tensor%s  %s  %s", dt, ntick, ntick == 1 ? "" : "s",
                  ui_term_glyph(a, "\u00b7", "|"), s->model_note);
    if (s->target_bad) {
        attrset(ui_term_role(a, UI_C_ERROR));
        ui_term_textf(y + 2, 0, W, " target: %s", s->target_msg);
    } else {
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_textf(y + 2, 0, W, " Enter edits, Space ticks a tensor, %s changes a choice, p plans, r runs%s%s",
                      ui_term_glyph(a, "\u2190\u2192", "left/right"), s->filter[0] ? "  filter: " : "", s->filter);
    }
    attrset(A_NORMAL);
    int ly = y + 3, lh = h - 4;
    if (lh < 1)
        return;
    if (s->nrows == 0) {
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_text(ly, 2, W - 2, "no setting or tensor matches the filter (Esc clears it)");
        attrset(A_NORMAL);
    }
    int inline_err = s->err[0] && s->err_row >= 0;
    ui_term_clip_rows(&s->top, s->cursor, s->nrows, inline_err && lh > 1 ? lh - 1 : lh);
    int row = 0;
    for (int idx = s->top; idx < s->nrows && row < lh; idx++) {
        ui_setup_draw_row(a, ly + row, idx, idx == s->cursor);
        row++;
        if (inline_err && s->err_row == idx && row < lh) {
            attrset(ui_term_role(a, UI_C_ERROR));
            ui_term_textf(ly + row, 0, W, "    %s %s", ui_term_glyph(a, "\u2514\u2192", "->"), s->err);
            attrset(A_NORMAL);
            row++;
        }
    }
    /* bottom line: the form-wide error, or the current key's help and range */
    int by = y + h - 1;
    if (s->err[0] && s->err_row < 0) {
        attrset(ui_term_role(a, UI_C_ERROR));
        ui_term_textf(by, 0, W, " %s", s->err);
    } else {
        const char *key = ui_setup_current_key(a);
        const pd_key_info *k = key ? config_key_find(key) : NULL;
        attrset(ui_term_role(a, UI_C_DIM));
        if (k && (k->kind == PD_KEY_INT || k->kind == PD_KEY_REAL))
            ui_term_textf(by, 0, W, " %s: %s, from %g to %g", k->name, k->help, k->min, k->max);
        else if (k && k->kind == PD_KEY_CHOICE)
            ui_term_textf(by, 0, W, " %s: %s (%s)", k->name, k->help, k->choices);
        else if (k)
            ui_term_textf(by, 0, W, " %s: %s", k->name, k->help);
    }
    attrset(A_NORMAL);
    if (s->plan_shown && s->plan)
        ui_setup_draw_plan(a, y, h);
}
