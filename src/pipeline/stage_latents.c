/* stage_latents.c — the analysis's latent picture: t-SNE of the AE latents of the originals, the p-diff
 * samples and the noise-added originals, written to latents.csv (id, kind, tsne_x, tsne_y). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvio.h"
#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "tsne.h"
#include "zoo.h"


static int stage_latents_wanted(const char *kind)
{
    return strcmp(kind, "original") == 0 || strcmp(kind, "pdiff") == 0 || strncmp(kind, "noise:", 6) == 0;
}

pd_status stage_analyze_latents(pd_pipeline *p, const pd_zoo *z, pd_error *err)
{
    pd_backend *be = p->be;
    int32_t n = 0;
    for (int32_t m = 0; m < z->n; m++)
        n += stage_latents_wanted(z->kind[m]);
    if (n < 2)
        return PD_OK;
    pd_ae *ae = NULL;
    float *mean = NULL, *std = NULL;
    PD_TRY(stage_load_ae(p, z->d, 256, &ae, &mean, &std, err));
    int64_t ls = ae_latent_size(ae), d = z->d;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    float *x = malloc((size_t)256 * (size_t)d * sizeof *x), *lat = malloc((size_t)n * (size_t)ls * sizeof *lat);
    double *y = malloc((size_t)n * 2 * sizeof *y);
    float *xdev = backend_alloc_floats(be, 256 * d);
    pd_status st = ids && x && lat && y && xdev ? PD_OK : error_set(err, PD_ERR_NOMEM, "analyze: out of memory");
    int32_t at = 0;
    for (int32_t m = 0; st == PD_OK && m < z->n; m++)
        if (stage_latents_wanted(z->kind[m]))
            ids[at++] = m;
    for (int32_t b = 0; st == PD_OK && b < n; b += 256) {
        int32_t nb = n - b < 256 ? n - b : 256;
        for (int32_t i = 0; i < nb; i++)
            for (int64_t j = 0; j < d; j++)
                x[(int64_t)i * d + j] = (z->vectors[(int64_t)ids[b + i] * d + j] - mean[j]) / std[j];
        be->upload(be, xdev, x, (size_t)nb * (size_t)d * sizeof(float));
        be->download(be, lat + (int64_t)b * ls, ae_encode(ae, xdev, nb), (size_t)nb * (size_t)ls * sizeof(float));
    }
    if (st == PD_OK) {
        progress_log(&p->cb, "analyze: t-SNE of %d latents of %lld numbers", n, (long long)ls);
        pd_tsne_opts o = {.perplexity = 30, .iterations = 1000, .seed = rng_derive(p->cfg.seed, "tsne"),
                          .threads = be->threads};
        st = tsne_embed(lat, n, (int32_t)ls, &o, y, err);
    }
    if (st == PD_OK) {
        char path[PD_PATH_MAX];
        pd_csv_writer *w;
        st = csvio_create(&w, session_path(p->session, "latents.csv", path, sizeof path), err);
        if (st == PD_OK) {
            static const char *const head[4] = {"id", "kind", "tsne_x", "tsne_y"};
            for (int i = 0; i < 4; i++)
                csvio_text(w, head[i]);
            csvio_endrow(w);
            for (int32_t i = 0; i < n; i++) {
                csvio_int(w, ids[i]);
                csvio_text(w, z->kind[ids[i]]);
                csvio_num(w, y[2 * i]);
                csvio_num(w, y[2 * i + 1]);
                csvio_endrow(w);
            }
            st = csvio_commit(w, err);
        }
    }
    be->free(be, xdev);
    free(ids);
    free(x);
    free(lat);
    free(y);
    free(mean);
    free(std);
    ae_free(ae);
    return st;
}
