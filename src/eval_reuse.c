/* eval_reuse.c — evaluations a sweep point takes from the session it shares its early stages with (see
 * eval_reuse.h). The file's models are indexed by a 64-bit FNV-1a hash of their vector's bytes, sorted, so a
 * lookup is a binary search plus a byte comparison of the candidates. */
#include "eval_reuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "zoo.h"

struct pd_eval_reuse {
    pd_zoo z;
    uint64_t *hash;   /* [z.n] sorted */
    int32_t *id;      /* [z.n] the zoo row of each hash */
    int64_t hits;
};

static uint64_t eval_reuse_hash(const float *v, int64_t d)
{
    const unsigned char *b = (const unsigned char *)v;
    uint64_t h = UINT64_C(14695981039346656037);
    for (int64_t i = 0; i < d * (int64_t)sizeof(float); i++) {
        h ^= b[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* sort hash[] with id[] alongside (a shell sort: n is a few thousand at most) */
static void eval_reuse_sort(uint64_t *hash, int32_t *id, int32_t n)
{
    for (int32_t gap = n / 2; gap > 0; gap /= 2)
        for (int32_t i = gap; i < n; i++) {
            uint64_t h = hash[i];
            int32_t m = id[i], j = i;
            for (; j >= gap && hash[j - gap] > h; j -= gap) {
                hash[j] = hash[j - gap];
                id[j] = id[j - gap];
            }
            hash[j] = h;
            id[j] = m;
        }
}

static int eval_reuse_matches(const pd_zoo *z, const int32_t *labels, int32_t n_test, int64_t d)
{
    if (z->d != d || z->n_test != n_test || !z->labels || z->n < 1)
        return 0;
    for (int32_t i = 0; i < n_test; i++)
        if (z->labels[i] != (uint8_t)labels[i])
            return 0;
    return 1;
}

void eval_reuse_open(pd_eval_reuse **out, const char *path, const int32_t *labels, int32_t n_test, int64_t d,
                     const pd_callbacks *cb)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return;
    pd_eval_reuse *r = calloc(1, sizeof *r);
    pd_error err = {0};
    if (!r)
        return;
    if (zoo_load(&r->z, path, &err) != PD_OK) {
        progress_log(cb, "evaluations of the shared session not reused: %s", err.msg);
        free(r);
        return;
    }
    if (!eval_reuse_matches(&r->z, labels, n_test, d)) {
        progress_log(cb, "evaluations of the shared session not reused: %s is of another test set or target", path);
        eval_reuse_free(r);
        return;
    }
    r->hash = malloc((size_t)r->z.n * sizeof *r->hash);
    r->id = malloc((size_t)r->z.n * sizeof *r->id);
    if (!r->hash || !r->id) {
        eval_reuse_free(r);
        return;
    }
    for (int32_t m = 0; m < r->z.n; m++) {
        r->hash[m] = eval_reuse_hash(r->z.vectors + (int64_t)m * d, d);
        r->id[m] = m;
    }
    eval_reuse_sort(r->hash, r->id, r->z.n);
    *out = r;
}

void eval_reuse_free(pd_eval_reuse *r)
{
    if (!r)
        return;
    zoo_free(&r->z);
    free(r->hash);
    free(r->id);
    free(r);
}

int eval_reuse_find(pd_eval_reuse *r, const float *vec, double *accuracy, double *loss, uint8_t *pred)
{
    if (!r)
        return 0;
    uint64_t h = eval_reuse_hash(vec, r->z.d);
    int32_t lo = 0, hi = r->z.n;
    while (lo < hi) { /* the first hash >= h */
        int32_t mid = lo + (hi - lo) / 2;
        if (r->hash[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int32_t i = lo; i < r->z.n && r->hash[i] == h; i++) {
        int32_t m = r->id[i];
        if (memcmp(r->z.vectors + (int64_t)m * r->z.d, vec, (size_t)r->z.d * sizeof(float)) != 0)
            continue;
        *accuracy = r->z.accuracy[m];
        *loss = r->z.loss[m];
        if (pred)
            memcpy(pred, r->z.preds + (int64_t)m * r->z.n_test, (size_t)r->z.n_test);
        r->hits++;
        return 1;
    }
    return 0;
}

pd_status eval_reuse_run(pd_eval_reuse *r, pd_evaluator *ev, const float *vec, double *accuracy, double *loss,
                         uint8_t *pred, pd_error *err)
{
    if (eval_reuse_find(r, vec, accuracy, loss, pred))
        return PD_OK;
    return evaluator_run(ev, vec, accuracy, loss, pred, err);
}

int64_t eval_reuse_hits(const pd_eval_reuse *r)
{
    return r ? r->hits : 0;
}
