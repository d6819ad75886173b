/* setup.c — the Setup screen: every setting of the key table grouped as config.h groups them, edited in place
 * and checked by config_set() at once (the message shows inline in red); the data set with a found/missing
 * hint (dataset_locate); the model's parameter tensors with shapes and sizes, ticked with Space to form the
 * target, with the running total D. `r` starts the run with these settings (actions.c); `p` shows its plan
 * (setup_plan.c). Enter edits a value in place (the row shows it: a marker, the field in reverse video; the keys go
 * to the field until Enter takes the value or Esc cancels); a preset that changes other settings asks first, and
 * `u` undoes it.
 *
 * The tensor list comes from a real model built with trainable = 0 and max_batch 1 on a one-thread CPU backend;
 * its input shape is probed from the data set's headers (IDX) or known (CIFAR), falling back to 1x28x28 with
 * 10 classes when the files are missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "screen_setup.h"

#include "backend.h"
#include "dataset.h"
#include "nav.h"
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

/* device=cuda: can this pdiff make a CUDA backend here? Asked once per device value; device_msg says why not. */
static void ui_setup_check_device(ui_app *a)
{
    ui_setup *s = &a->setup;
    if (strcmp(s->device_checked, a->cfg.device) == 0)
        return;
    ui_app_copy(s->device_checked, sizeof s->device_checked, a->cfg.device);
    s->device_msg[0] = '\0';
    if (strcmp(a->cfg.device, "cuda") != 0)
        return;
    pd_backend *be = NULL;
    pd_error err = {0};
    if (backend_create(&be, PD_BACKEND_CUDA, 1, &err) != PD_OK)
        ui_app_copy(s->device_msg, sizeof s->device_msg, err.msg[0] ? err.msg : "device=cuda: no CUDA backend");
    backend_destroy(be);
}

void ui_setup_refresh(ui_app *a)
{
    ui_setup *s = &a->setup;
    ui_setup_probe(a);
    ui_setup_apply_target(a);
    ui_setup_check_device(a);
    /* keep the cursor on the same setting or tensor when the list changes, but a new filter starts at its first row
     * (an Enter there must not act on a row the filter hides) */
    ui_setup_row keep = {-1, -1};
    if (s->rows && s->cursor >= 0 && s->cursor < s->nrows)
        keep = s->rows[s->cursor];
    if (strcmp(s->filter, s->filter_built) != 0 && s->filter[0]) {
        keep.kind = -1;
        s->cursor = 0;
    }
    ui_app_copy(s->filter_built, sizeof s->filter_built, s->filter);
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
    ui_setup_plan_close(a);
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

/* 1 when spec selects exactly the ticked tensors with t ticked (on) or not: untick can't leave t selected by a glob. */
static int ui_setup_selects(const ui_app *a, const char *spec, int t, int on)
{
    const ui_setup *s = &a->setup;
    pd_target tg;
    if (!s->model || target_resolve(&tg, s->model, spec, NULL) != PD_OK)
        return 0;
    int same = tg.n > 0;
    for (int i = 0, k = 0; i < s->nt && same; i++) {
        int sel = k < tg.n && tg.tensor[k] == i;
        k += sel;
        same = sel == (i == t ? on : s->t[i].ticked);
    }
    target_free(&tg);
    return same;
}

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

/* The user's own list (not auto or all) with the tensor t added (on) or its own entry taken out (off) into out;
 * 0 when that cannot express the change (auto/all, or t is selected by a glob or prefix, not by its name). */
static int ui_setup_edit_list(const ui_app *a, int t, int on, char *out, size_t size)
{
    const char *cur = a->cfg.target, *name = a->setup.t[t].name;
    if (strcmp(cur, "auto") == 0 || strcmp(cur, "all") == 0 || !cur[0])
        return 0;
    if (on)
        return snprintf(out, size, "%s,%s", cur, name) < (int)size;
    char buf[PD_CONFIG_STR];
    ui_app_copy(buf, sizeof buf, cur);
    size_t o = 0;
    int found = 0;
    out[0] = '\0';
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, name) == 0) {
            found = 1;
            continue;
        }
        int n = snprintf(out + o, size - o, "%s%s", o ? "," : "", tok);
        if (n < 0 || (size_t)n >= size - o)
            return 0;
        o += (size_t)n;
    }
    return found && o > 0;
}

/* Space on a tensor: tick or untick it. A typed list keeps its names and globs (the tensor is added to it or its own
 * name taken out); otherwise the spec is composed from the ticks. */
static void ui_setup_toggle(ui_app *a, int t)
{
    ui_setup *s = &a->setup;
    char spec[4096];
    int on = !s->t[t].ticked;
    pd_config next = a->cfg;
    if (ui_setup_edit_list(a, t, on, spec, sizeof spec) && config_set(&next, "target", spec, NULL) == PD_OK &&
        ui_setup_selects(a, next.target, t, on)) {
        a->cfg = next;
        ui_setup_apply_target(a);
        return;
    }
    s->t[t].ticked = on;
    ui_setup_compose_target(s, spec, sizeof spec);
    if (!spec[0]) {
        s->target_bad = 1;
        snprintf(s->target_msg, sizeof s->target_msg, "target: tick at least one tensor (Space)");
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

/* The names of the settings (but preset) that differ between a and b, comma separated, into out; their count. */
static int ui_setup_diff(const pd_config *a, const pd_config *b, char *out, size_t size)
{
    int n = 0;
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < config_key_count(); i++) {
        const char *name = config_key_at(i)->name;
        char va[PD_CONFIG_STR] = "", vb[PD_CONFIG_STR] = "";
        config_get(a, name, va, sizeof va, NULL);
        config_get(b, name, vb, sizeof vb, NULL);
        if (strcmp(name, "preset") == 0 || strcmp(va, vb) == 0)
            continue;
        n++;
        int w = snprintf(out + o, size - o, "%s%s", o ? ", " : "", name);
        if (w > 0 && (size_t)w < size - o)
            o += (size_t)w;
    }
    return n;
}

static void ui_setup_changed(ui_app *a)
{
    a->setup.err[0] = '\0';
    a->setup.err_row = -1;
    ui_setup_plan_close(a); /* made for the old value */
    ui_setup_refresh(a);
}

/* y to the preset question: the settings before it are kept for `u`. */
static int ui_setup_preset_apply(ui_app *a, const char *text)
{
    (void)text;
    ui_setup *s = &a->setup;
    char changed[PD_ERROR_MSG_MAX];
    int n = ui_setup_diff(&a->cfg, &s->pending, changed, sizeof changed);
    s->undo = a->cfg;
    s->has_undo = 1;
    a->cfg = s->pending;
    ui_setup_changed(a);
    ui_nav_message(a, 0, "preset %s applied: %d setting%s changed (u undoes)", a->cfg.preset, n, n == 1 ? "" : "s");
    return 0;
}

static void ui_setup_preset_keep(ui_app *a)
{
    ui_nav_message(a, 0, "preset not applied: the settings are unchanged");
}

/* A preset that would change other settings asks first (y/n); 1 when it asks. */
static int ui_setup_preset_ask(ui_app *a, const char *name)
{
    ui_setup *s = &a->setup;
    pd_config next = a->cfg;
    char changed[300];
    if (config_set(&next, "preset", name, NULL) != PD_OK)
        return 0; /* the commit reports it */
    int n = ui_setup_diff(&a->cfg, &next, changed, sizeof changed);
    if (n == 0)
        return 0;
    s->pending = next;
    snprintf(s->confirm, sizeof s->confirm, "apply preset %s? it changes %d setting%s (y/n): %s", next.preset, n,
             n == 1 ? "" : "s", changed);
    ui_prompt_open(a, UI_PROMPT_CONFIRM, "", (ui_prompt_fns){.submit = ui_setup_preset_apply, .cancel = ui_setup_preset_keep});
    return 1;
}

void ui_setup_undo(ui_app *a)
{
    ui_setup *s = &a->setup;
    if (!s->has_undo) {
        ui_nav_message(a, 1, "nothing to undo: u restores the settings from before the last preset");
        return;
    }
    a->cfg = s->undo;
    s->has_undo = 0;
    ui_setup_changed(a);
    ui_nav_message(a, 0, "the settings from before the preset are back");
}

/* The edit prompt's Enter: 0 when config_set() takes the value (or a preset asks first), -1 with the message in
 * setup.err */
static int ui_setup_commit(ui_app *a, const char *text)
{
    ui_setup *s = &a->setup;
    const char *key = ui_setup_current_key(a);
    if (!key)
        return 0;
    if (strcmp(key, "preset") == 0 && ui_setup_preset_ask(a, text))
        return 0;
    pd_error err = {0};
    if (config_set(&a->cfg, key, text, &err) != PD_OK) {
        ui_app_copy(s->err, sizeof s->err, err.msg);
        s->err_row = s->cursor;
        return -1;
    }
    ui_setup_changed(a);
    return 0;
}

/* Esc: the setting keeps its old value (nothing was set), the message goes. */
static void ui_setup_cancel(ui_app *a)
{
    a->setup.err[0] = '\0';
    a->setup.err_row = -1;
}

/* An edit after a refused Enter: the message follows the text (it quotes what the field holds now). */
static void ui_setup_edit_changed(ui_app *a, const char *text)
{
    ui_setup *s = &a->setup;
    const char *key = ui_setup_current_key(a);
    if (!s->err[0] || !key)
        return;
    pd_config probe = a->cfg;
    pd_error err = {0};
    if (strcmp(key, "preset") == 0 || config_set(&probe, key, text, &err) == PD_OK)
        s->err[0] = '\0';
    else
        ui_app_copy(s->err, sizeof s->err, err.msg);
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
        ui_prompt_open(a, UI_PROMPT_EDIT, cur,
                       (ui_prompt_fns){.submit = ui_setup_commit, .change = ui_setup_edit_changed, .cancel = ui_setup_cancel});
    }
}

/* ------------------------------------------------------------------------------------------------ drawing */

/* A setting's row: name, value, help. A value wider than its column takes the help's room (the bottom line shows
 * the help of the selected row), so a typed list is not cut. Being edited: a marker, the field in reverse video
 * as wide as the rest of the row, scrolled so the cursor stays visible. */
static void ui_setup_draw_key(ui_app *a, int y, const pd_key_info *k, int sel, int nw, int vw)
{
    int W = a->cols;
    char val[PD_CONFIG_STR] = "", def[PD_CONFIG_STR] = "";
    config_get(&a->cfg, k->name, val, sizeof val, NULL);
    pd_config dc;
    config_defaults(&dc);
    config_get(&dc, k->name, def, sizeof def, NULL);
    char name[64], v[1024];
    ui_table_fit(k->name, nw, 0, a->utf8, name, sizeof name);
    int editing = sel && a->prompt == UI_PROMPT_EDIT, wide = W - nw - 4;
    int room = editing || ui_table_text_width(val) > vw ? wide : vw;
    ui_table_fit(editing ? "" : val, room, 0, a->utf8, v, sizeof v);
    attrset(editing ? A_BOLD : sel ? ui_term_role(a, UI_C_SEL) : A_NORMAL);
    ui_term_textf(y, 0, W, "%s %s ", editing ? ui_term_glyph(a, "\u270e", ">") : " ", name);
    attrset(editing ? A_REVERSE : sel ? ui_term_role(a, UI_C_SEL) : strcmp(val, def) != 0 ? A_BOLD : A_NORMAL);
    ui_term_text(y, nw + 3, room, v);
    attrset(ui_term_role(a, UI_C_DIM));
    if (room == vw && W > nw + vw + 5)
        ui_term_text(y, nw + vw + 4, W - (nw + vw + 4), k->help);
    attrset(A_NORMAL);
    if (editing) {
        int bw;
        const char *shown = ui_prompt_visible(a, room - 1, &bw);
        attrset(A_REVERSE);
        ui_term_text(y, nw + 3, room, shown);
        attrset(A_NORMAL);
        a->cur_y = y;
        a->cur_x = nw + 3 + bw;
    }
}

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
    ui_setup_draw_key(a, y, config_key_at(r->index), sel, nw, vw);
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

/* The line under row idx: the refused value's message, or why device=cuda cannot run here; NULL: none. */
static const char *ui_setup_note(const ui_app *a, int idx)
{
    const ui_setup *s = &a->setup;
    if (s->err[0] && s->err_row == idx)
        return s->err;
    const ui_setup_row *r = &s->rows[idx];
    if (s->device_msg[0] && r->kind == UI_ROW_KEY && strcmp(config_key_at(r->index)->name, "device") == 0)
        return s->device_msg;
    return NULL;
}

/* The bottom line: the preset question, the field being edited, the form-wide error, or the key's help and range. */
static void ui_setup_draw_bottom(ui_app *a, int by)
{
    ui_setup *s = &a->setup;
    int W = a->cols;
    if (a->prompt == UI_PROMPT_CONFIRM) {
        attrset(ui_term_role(a, UI_C_WARN) | A_BOLD);
        ui_term_textf(by, 0, W, " %s", s->confirm);
    } else if (a->prompt == UI_PROMPT_EDIT && ui_setup_current_key(a)) {
        char old[PD_CONFIG_STR] = "";
        config_get(&a->cfg, ui_setup_current_key(a), old, sizeof old, NULL);
        attrset(ui_term_role(a, UI_C_HEAD));
        ui_term_textf(by, 0, W, " editing %s: Enter accepts, Esc cancels (back to '%s')", ui_setup_current_key(a), old);
    } else if (s->err[0] && s->err_row < 0) {
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
        ui_term_textf(y + 2, 0, W, " %s", s->target_msg); /* it names the key */
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
    int extra = (s->err[0] && s->err_row >= 0) + (s->device_msg[0] != 0);
    ui_term_clip_rows(&s->top, s->cursor, s->nrows, lh > extra ? lh - extra : 1);
    int row = 0;
    for (int idx = s->top; idx < s->nrows && row < lh; idx++) {
        ui_setup_draw_row(a, ly + row, idx, idx == s->cursor);
        row++;
        const char *note = ui_setup_note(a, idx);
        if (note && row < lh) {
            attrset(ui_term_role(a, note == s->err ? UI_C_ERROR : UI_C_WARN));
            ui_term_textf(ly + row, 0, W, "    %s %s", ui_term_glyph(a, "\u2514\u2192", "->"), note);
            attrset(A_NORMAL);
            row++;
        }
    }
    ui_setup_draw_bottom(a, y + h - 1);
    if (s->plan_shown && s->plan)
        ui_setup_draw_plan(a, y, h);
}
