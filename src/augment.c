/* augment.c — random crop with zero padding and horizontal flip of training batches (see augment.h). */
#include "augment.h"

#include "error.h"
#include "rng.h"

uint64_t augment_stream(uint64_t shuffle_seed)
{
    return rng_derive(shuffle_seed, "augment");
}

pd_augment_draw augment_draw(uint64_t stream, int64_t step, int32_t i)
{
    const uint64_t span = 2 * AUGMENT_PAD + 1;
    uint64_t h = rng_hash(rng_hash(stream, (uint64_t)step), (uint64_t)i);
    pd_augment_draw d = {.dy = (int32_t)(h % span), .dx = (int32_t)(h / span % span),
                         .flip = (int32_t)(h / (span * span) & 1u)};
    return d;
}

int augment_source(const pd_augment_draw *d, int32_t h, int32_t w, int32_t y, int32_t x, int32_t *sy, int32_t *sx)
{
    int32_t cx = d->flip ? w - 1 - x : x; /* the flip mirrors the cropped window */
    *sy = y + d->dy - AUGMENT_PAD;
    *sx = cx + d->dx - AUGMENT_PAD;
    return *sy >= 0 && *sy < h && *sx >= 0 && *sx < w;
}

void augment_batch(const pd_split *s, const int32_t *idx, int32_t n, float *x, int32_t *y, uint64_t stream,
                   int64_t step)
{
    PD_ASSERT(s && (n == 0 || idx) && s->c >= 1 && s->c <= 3);
    dataset_batch(s, idx, n, NULL, y); /* the labels (and the indices checked) */
    if (!x)
        return;
    const int64_t hw = (int64_t)s->h * s->w, chw = s->c * hw;
    float lut[3][256]; /* as dataset_batch normalises; padding is byte 0 */
    dataset_norm_lut(s, lut);
    for (int32_t i = 0; i < n; i++) {
        pd_augment_draw d = augment_draw(stream, step, i);
        const uint8_t *src = s->pixels + (size_t)idx[i] * chw;
        float *dst = x + (size_t)i * chw;
        for (int32_t r = 0; r < s->h; r++)
            for (int32_t c = 0; c < s->w; c++) {
                int32_t sy, sx;
                int in = augment_source(&d, s->h, s->w, r, c, &sy, &sx);
                int64_t from = (int64_t)sy * s->w + sx, to = (int64_t)r * s->w + c;
                for (int32_t ch = 0; ch < s->c; ch++)
                    dst[ch * hw + to] = lut[ch][in ? src[ch * hw + from] : 0];
            }
    }
}
