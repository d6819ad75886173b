/* stage_latents.c — the analysis's latent picture: one t-SNE of the AE latents of the originals, the p-diff
 * samples (decoded, then re-encoded) and the noise-added originals, and of the DDPM's own latent samples before
 * decoding (kind "pdiff_latent", from state/samples.bin, id = the p-diff model it decodes to; left out for a
 * session whose generate stage did not keep them), written to latents.csv (id, kind, tsne_x, tsne_y). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvio.h"
#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_util.h"
#include "tsne.h"
#include "vecnorm.h"
#include "zoo.h"

#define STAGE_LATENTS_RAW "pdiff_latent"

static int stage_latents_wanted(const char *kind)
{
    return strcmp(kind, "original") == 0 || strcmp(kind, "pdiff") == 0 || strncmp(kind, "noise:", 6) == 0;
}

/* The latents of state/samples.bin into lat [n_pdiff, ls] (host); *n receives 0 when the file is absent. */
static pd_status stage_latents_samples(pd_pipeline *p, int32_t n_pdiff, int64_t ls, float *lat, int32_t *n,
                                       pd_error *err)
{
    char path[PD_PATH_MAX];
    pd_state *s;
    *n = 0;
    PD_TRY(stage_state_load_optional(p->session, "samples", "samples", path, sizeof path, &s, err));
    if (!s)
        return PD_OK;
    int64_t ns = 0, length = 0;
    pd_status st = state_get_i64(s, "n", &ns, err);
    if (st == PD_OK)
        st = state_get_i64(s, "length", &length, err);
    if (st == PD_OK && (ns != n_pdiff || length != ls))
        st = error_set(err, PD_ERR_STATE, "%s: holds %lld latents of %lld numbers, state/models.bin %d p-diff models "
                       "of latents of %lld (rerun the generate stage)", path, (long long)ns, (long long)length,
                       n_pdiff, (long long)ls);
    const float *v = st == PD_OK ? state_get(s, "latents", PD_DTYPE_F32, ns * length, NULL, err) : NULL;
    if (st == PD_OK && !v)
        st = err ? err->status : PD_ERR_STATE;
    for (int64_t i = 0; st == PD_OK && i < ns * length; i++)
        if (!isfinite(v[i]))
            st = error_set(err, PD_ERR_STATE, "%s: latent %lld holds %g, not a finite number (rerun the generate "
                           "stage)", path, (long long)i, (double)v[i]);
    if (st == PD_OK) {
        memcpy(lat, v, (size_t)(ns * length) * sizeof *lat);
        *n = (int32_t)ns;
    }
    state_free(s);
    return st;
}

/* The AE latents lat [n, ls] of the models ids [n] of z, through the normalisation, 256 at a time. */
static pd_status stage_latents_encode(pd_pipeline *p, const pd_zoo *z, const int32_t *ids, int32_t n, pd_ae *ae,
                                      const float *mean, const float *std, float *lat, pd_error *err)
{
    pd_backend *be = p->be;
    int64_t ls = ae_latent_size(ae), d = z->d;
    float *x = malloc((size_t)256 * (size_t)d * sizeof *x);
    float *xdev = backend_alloc_floats(be, 256 * d);
    pd_status st = x && xdev ? PD_OK : error_set(err, PD_ERR_NOMEM, "analyze: out of memory");
    for (int32_t b = 0; st == PD_OK && b < n; b += 256) {
        int32_t nb = n - b < 256 ? n - b : 256;
        for (int32_t i = 0; i < nb; i++)
            vecnorm_apply(z->vectors + (int64_t)ids[b + i] * d, 1, d, mean, std, x + (int64_t)i * d);
        be->upload(be, xdev, x, (size_t)nb * (size_t)d * sizeof(float));
        be->download(be, lat + (int64_t)b * ls, ae_encode(ae, xdev, nb), (size_t)nb * (size_t)ls * sizeof(float));
    }
    be->free(be, xdev);
    free(x);
    return st;
}

/* latents.csv: row i is model ids[i] of kind kinds[i] at y[2 i], y[2 i + 1]. */
static pd_status stage_latents_write(pd_pipeline *p, const int32_t *ids, const char *const *kinds, const double *y,
                                     int32_t n, pd_error *err)
{
    char path[PD_PATH_MAX];
    pd_csv_writer *w;
    PD_TRY(csvio_create(&w, session_path(p->session, "latents.csv", path, sizeof path), err));
    static const char *const head[4] = {"id", "kind", "tsne_x", "tsne_y"};
    for (int i = 0; i < 4; i++)
        csvio_text(w, head[i]);
    csvio_endrow(w);
    for (int32_t i = 0; i < n; i++) {
        csvio_int(w, ids[i]);
        csvio_text(w, kinds[i]);
        csvio_num(w, y[2 * i]);
        csvio_num(w, y[2 * i + 1]);
        csvio_endrow(w);
    }
    return csvio_commit(w, err);
}

pd_status stage_analyze_latents(pd_pipeline *p, const pd_zoo *z, pd_error *err)
{
    int32_t n = 0, n_pdiff = zoo_ids_of(z, "pdiff", NULL), n_raw = 0;
    for (int32_t m = 0; m < z->n; m++)
        n += stage_latents_wanted(z->kind[m]);
    if (n < 2)
        return PD_OK;
    pd_ae *ae = NULL;
    float *mean = NULL, *std = NULL;
    PD_TRY(stage_load_ae(p, z->d, 256, &ae, &mean, &std, err));
    int64_t ls = ae_latent_size(ae);
    int32_t cap = n + n_pdiff;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    const char **kinds = malloc((size_t)cap * sizeof *kinds);
    float *lat = malloc((size_t)cap * (size_t)ls * sizeof *lat);
    double *y = malloc((size_t)cap * 2 * sizeof *y);
    pd_status st = ids && kinds && lat && y ? PD_OK : error_set(err, PD_ERR_NOMEM, "analyze: out of memory");
    int32_t at = 0;
    for (int32_t m = 0; st == PD_OK && m < z->n; m++)
        if (stage_latents_wanted(z->kind[m])) {
            kinds[at] = z->kind[m];
            ids[at++] = m;
        }
    if (st == PD_OK)
        st = stage_latents_encode(p, z, ids, n, ae, mean, std, lat, err);
    if (st == PD_OK)
        st = stage_latents_samples(p, n_pdiff, ls, lat + (int64_t)n * ls, &n_raw, err);
    if (st == PD_OK && n_raw > 0) {
        zoo_ids_of(z, "pdiff", ids + n);
        for (int32_t i = 0; i < n_raw; i++)
            kinds[n + i] = STAGE_LATENTS_RAW;
    }
    if (st == PD_OK) {
        progress_log(&p->cb, "analyze: t-SNE of %d latents of %lld numbers", n + n_raw, (long long)ls);
        pd_tsne_opts o = {.perplexity = 30, .iterations = 1000, .seed = rng_derive(p->cfg.seed, "tsne"),
                          .threads = p->be->threads};
        st = tsne_embed(lat, n + n_raw, (int32_t)ls, &o, y, err);
    }
    if (st == PD_OK)
        st = stage_latents_write(p, ids, kinds, y, n + n_raw, err);
    free(ids);
    free(kinds);
    free(lat);
    free(y);
    free(mean);
    free(std);
    ae_free(ae);
    return st;
}
