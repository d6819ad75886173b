/* target.c — resolving a target spec to parameter views, gather and scatter (see target.h). */
#include "target.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int target_matches(const char *pattern, const char *name)
{
    size_t lp = strlen(pattern);
    if (strcmp(pattern, name) == 0)
        return 1;
    if (strncmp(pattern, name, lp) == 0 && name[lp] == '.')
        return 1;
    if (fnmatch(pattern, name, 0) == 0)
        return 1;
    /* a glob naming a layer ("layer4.*.bn2") selects that layer's tensors */
    char prefixed[160];
    snprintf(prefixed, sizeof prefixed, "%s.*", pattern);
    return strpbrk(pattern, "*?[") && fnmatch(prefixed, name, 0) == 0;
}

/* "auto": the tensors of the last two BatchNorm nodes, else of the last linear node. */
static void target_auto(const pd_model *m, char *sel)
{
    int found = 0;
    for (int node = model_node_count(m) - 1; node >= 0 && found < 2; node--) {
        if (!model_node_is_bn(m, node))
            continue;
        found++;
        for (int i = 0; i < model_tensor_count(m); i++)
            if (model_tensor(m, i)->node == node)
                sel[i] = 1;
    }
    if (found)
        return;
    for (int node = model_node_count(m) - 1; node >= 0; node--)
        if (model_node_is_linear(m, node)) {
            for (int i = 0; i < model_tensor_count(m); i++)
                if (model_tensor(m, i)->node == node)
                    sel[i] = 1;
            return;
        }
}

static void target_list_names(const pd_model *m, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < model_tensor_count(m) && len + 4 < size; i++) {
        int w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", model_tensor(m, i)->name);
        if (w < 0 || (size_t)w >= size - len) {
            snprintf(buf + (size > 8 ? size - 8 : 0), 8, ", ...");
            return;
        }
        len += (size_t)w;
    }
}

pd_status target_resolve(pd_target *t, const pd_model *m, const char *spec, pd_error *err)
{
    memset(t, 0, sizeof *t);
    int nt = model_tensor_count(m);
    char *sel = calloc((size_t)nt, 1);
    if (!sel)
        return error_set(err, PD_ERR_NOMEM, "target: out of memory");
    if (strcmp(spec, "auto") == 0) {
        target_auto(m, sel);
    } else if (strcmp(spec, "all") == 0) {
        memset(sel, 1, (size_t)nt);
    } else {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", spec);
        char *save = NULL;
        for (char *pat = strtok_r(buf, ",", &save); pat; pat = strtok_r(NULL, ",", &save)) {
            while (*pat == ' ')
                pat++;
            int hits = 0;
            for (int i = 0; i < nt; i++)
                if (target_matches(pat, model_tensor(m, i)->name)) {
                    sel[i] = 1;
                    hits++;
                }
            if (!hits) {
                char names[400];
                target_list_names(m, names, sizeof names);
                free(sel);
                return error_set(err, PD_ERR_CONFIG, "target: '%s' matches no parameter of %s (it has: %s)", pat,
                                 model_arch_name(model_spec(m)->arch), names);
            }
        }
    }
    size_t names_len = 1;
    for (int i = 0; i < nt; i++)
        if (sel[i]) {
            t->n++;
            t->d += model_tensor(m, i)->count;
            names_len += strlen(model_tensor(m, i)->name) + 1;
        }
    if (t->n == 0) {
        free(sel);
        return error_set(err, PD_ERR_CONFIG, "target: '%s' selects no parameters", spec);
    }
    t->tensor = malloc((size_t)t->n * sizeof *t->tensor);
    t->names = malloc(names_len);
    if (!t->tensor || !t->names) {
        free(sel);
        target_free(t);
        return error_set(err, PD_ERR_NOMEM, "target: out of memory");
    }
    int k = 0;
    t->names[0] = '\0';
    for (int i = 0; i < nt; i++)
        if (sel[i]) {
            t->tensor[k++] = i;
            if (k > 1)
                strcat(t->names, ",");
            strcat(t->names, model_tensor(m, i)->name);
        }
    t->first_node = model_tensor(m, t->tensor[0])->node;
    free(sel);
    return PD_OK;
}

void target_free(pd_target *t)
{
    if (!t)
        return;
    free(t->tensor);
    free(t->names);
    memset(t, 0, sizeof *t);
}

void target_gather(pd_backend *be, const pd_model *m, const pd_target *t, const float *params, float *vec)
{
    int64_t at = 0;
    for (int i = 0; i < t->n; i++) {
        const pd_tensor_info *ti = model_tensor(m, t->tensor[i]);
        be->copy(be, vec + at, params + ti->offset, (size_t)ti->count * sizeof(float));
        at += ti->count;
    }
}

void target_scatter(pd_backend *be, const pd_model *m, const pd_target *t, const float *vec, float *params)
{
    int64_t at = 0;
    for (int i = 0; i < t->n; i++) {
        const pd_tensor_info *ti = model_tensor(m, t->tensor[i]);
        be->copy(be, params + ti->offset, vec + at, (size_t)ti->count * sizeof(float));
        at += ti->count;
    }
}
