/* fuzz_safetensors.c — the safetensors reader (safetensors.h) on any bytes: the header's JSON through jansson and
 * every check of what it claims. An accepted file must give every tensor's values as float, and must survive the
 * writer: its tensors and metadata written again and read back are the same (names, order, dtypes, shapes, bytes),
 * which abort()s, and so counts as a crash, when they differ. */
#include "fuzz.h"
#include "safetensors.h"

/* The tensors and metadata of a and b are the same (b is a's rewrite, so its offsets may differ). */
static int fuzz_same(const pd_safetensors *a, const pd_safetensors *b)
{
    if (a->n != b->n || a->n_meta != b->n_meta)
        return 0;
    for (int i = 0; i < a->n; i++) {
        const pd_st_tensor *x = &a->t[i], *y = &b->t[i];
        if (strcmp(x->name, y->name) != 0 || x->dtype != y->dtype || x->ndim != y->ndim ||
            x->end - x->begin != y->end - y->begin ||
            memcmp(a->data + x->begin, b->data + y->begin, (size_t)(x->end - x->begin)) != 0)
            return 0;
        for (int d = 0; d < x->ndim; d++)
            if (x->shape[d] != y->shape[d])
                return 0;
    }
    for (int i = 0; i < a->n_meta; i++) {
        const char *v = safetensors_meta_get(b, a->meta_key[i]);
        if (!v || strcmp(v, a->meta_value[i]) != 0)
            return 0;
    }
    return 1;
}

/* Write f again (tensors from its data are little-endian already, which the writer keeps on such a host). */
static void fuzz_rewrite(const pd_safetensors *f)
{
    const char *path = fuzz_file("rewrite.safetensors", (const uint8_t *)"", 0); /* registered for clean-up */
    pd_st_writer *w;
    pd_error err = {0};
    if (!path || safetensors_writer_create(&w, &err) != PD_OK)
        return;
    pd_status s = PD_OK;
    for (int i = 0; i < f->n_meta && s == PD_OK; i++)
        s = safetensors_meta(w, f->meta_key[i], f->meta_value[i], &err);
    for (int i = 0; i < f->n && s == PD_OK; i++)
        s = safetensors_add(w, f->t[i].name, f->t[i].dtype, f->t[i].ndim, f->t[i].shape, f->data + f->t[i].begin,
                            &err);
    if (s != PD_OK) {
        fprintf(stderr, "fuzz_safetensors: the writer refused what the reader took: %s\n", err.msg);
        abort();
    }
    pd_safetensors g;
    if (safetensors_commit(w, path, &err) != PD_OK || safetensors_read(&g, path, &err) != PD_OK) {
        fprintf(stderr, "fuzz_safetensors: rewriting failed: %s\n", err.msg);
        abort();
    }
    if (!fuzz_same(f, &g)) {
        fprintf(stderr, "fuzz_safetensors: the rewritten file differs\n");
        abort();
    }
    safetensors_free(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pd_safetensors f;
    pd_error err = {0};
    if (safetensors_parse(&f, data, size, "fuzz.safetensors", &err) != PD_OK) {
        if (strchr(err.msg, '\n')) {
            fprintf(stderr, "fuzz_safetensors: a message of more than one line: %s\n", err.msg);
            abort();
        }
        return 0;
    }
    for (int i = 0; i < f.n; i++) {
        int64_t n = safetensors_numel(&f.t[i]);
        float *out = malloc((size_t)(n ? n : 1) * sizeof *out);
        if (out && safetensors_get_f32(&f, &f.t[i], out, &err) != PD_OK)
            abort(); /* a tensor the reader accepted is readable */
        free(out);
        if (safetensors_find(&f, f.t[i].name) == NULL)
            abort();
    }
    fuzz_rewrite(&f);
    safetensors_free(&f);
    return 0;
}
