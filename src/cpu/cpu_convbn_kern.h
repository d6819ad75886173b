/* cpu_convbn_kern.h — the vector kernels of the fused convolution block (cpu_convbn.c), included twice by it:
 * once under #pragma GCC target for AVX-512 and once for the baseline, with CB_SUFFIX naming each copy. Not a
 * header to include anywhere else. */

/* ---- the BatchNorm / ReLU / pool steps on one sample (vectors of CB_L channels) ---------------------------- */


/* x of sample smp at (+ bias) the convolution in y [h, ld, c], stored; with train, part gets its per-channel mean
 * and sum of squared deviations. acc [2 c] scratch. */
static void CB_SUFFIX(cb_emit)(const cb_args *a, int32_t smp, const float *restrict y, int32_t ld, float *restrict acc)
{
    int32_t c = a->c, w = a->w;
    float *restrict xs = a->x + (int64_t)smp * a->hw * c;
    cb_v zero = {0};
    for (int32_t cb = 0; cb < c; cb += CB_L)
        CB_ST(acc + cb, zero);
    for (int32_t yy = 0; yy < a->h; yy++)
        for (int32_t xx = 0; xx < w; xx++) {
            const float *q = y + ((int64_t)yy * ld + xx) * c;
            float *p = xs + ((int64_t)yy * w + xx) * c;
            for (int32_t cb = 0; cb < c; cb += CB_L) {
                cb_v v = CB_LD(q + cb);
                if (a->b)
                    v = v + CB_LD(a->b + cb); /* conv2d's r + bias */
                CB_ST(p + cb, v);
                CB_ST(acc + cb, CB_LD(acc + cb) + v);
            }
        }
    if (!a->train)
        return;
    double *pt = a->part + (int64_t)smp * c * 2;
    for (int32_t ch = 0; ch < c; ch++) {
        pt[2 * ch] = (double)acc[ch] / (double)a->hw;
        acc[c + ch] = (float)pt[2 * ch];
    }
    for (int32_t cb = 0; cb < c; cb += CB_L)
        CB_ST(acc + cb, zero);
    for (int64_t p = 0; p < a->hw; p++)
        for (int32_t cb = 0; cb < c; cb += CB_L) {
            cb_v d = CB_LD(xs + p * c + cb) - CB_LD(acc + c + cb);
            CB_ST(acc + cb, CB_LD(acc + cb) + d * d);
        }
    for (int32_t ch = 0; ch < c; ch++) { /* around the exact mean: minus hw (mean - float mean)^2 */
        double dm = pt[2 * ch] - (double)acc[c + ch];
        pt[2 * ch + 1] = (double)acc[ch] - (double)a->hw * dm * dm;
    }
}

/* out of sample smp: relu(bn(x)), pooled; t [ohw c + c] scratch (the last c: gamma rstd) */
static void CB_SUFFIX(cb_forward_task)(void *ctx, int64_t smp, int thread)
{
    const cb_args *a = ctx;
    int32_t c = a->c, w = a->w;
    float *restrict t = cb_tmp(a, thread), *restrict kk = t + a->ohw * c;
    const float *restrict xs = a->x + smp * a->hw * c;
    cb_v zero = {0};
    for (int32_t ch = 0; ch < c; ch++)
        kk[ch] = a->gamma[ch] * a->rstd[ch]; /* batchnorm's ka */
    if (!a->pool) {
        for (int64_t p = 0; p < a->hw; p++)
            for (int32_t cb = 0; cb < c; cb += CB_L)
                CB_ST(t + p * c + cb, CB_FWD(CB_LD(xs + p * c + cb), CB_LD(a->m + cb), CB_LD(kk + cb),
                                             CB_LD(a->beta + cb), zero));
    } else {
        for (int32_t oy = 0; oy < a->ho; oy++)
            for (int32_t ox = 0; ox < a->wo; ox++) {
                const float *x0 = xs + ((int64_t)2 * oy * w + 2 * ox) * c, *x1 = x0 + (int64_t)w * c;
                float *o = t + ((int64_t)oy * a->wo + ox) * c;
                for (int32_t cb = 0; cb < c; cb += CB_L) {
                    cb_v mv = CB_LD(a->m + cb), kv = CB_LD(kk + cb), bv = CB_LD(a->beta + cb);
                    cb_v mx = CB_FWD(CB_LD(x0 + cb), mv, kv, bv, zero), v;
                    v = CB_FWD(CB_LD(x0 + c + cb), mv, kv, bv, zero);
                    mx = CB_SEL((cb_vi)(v > mx) | (cb_vi)(v != v), v, mx);
                    v = CB_FWD(CB_LD(x1 + cb), mv, kv, bv, zero);
                    mx = CB_SEL((cb_vi)(v > mx) | (cb_vi)(v != v), v, mx);
                    v = CB_FWD(CB_LD(x1 + c + cb), mv, kv, bv, zero);
                    mx = CB_SEL((cb_vi)(v > mx) | (cb_vi)(v != v), v, mx);
                    CB_ST(o + cb, mx);
                }
            }
    }
    cpu_wg_from_cl(a->out + smp * c * a->ohw, 0, NULL, t, a->wo, c, 0, 0, c, a->ho, a->wo);
}

/* eval: out of sample smp straight from its convolution y [h, ld, c] (+ bias, then x is what cb_emit would
 * store): relu(bn), pooled, transposed; t [ohw c + c] scratch */
static void CB_SUFFIX(cb_eval_emit)(const cb_args *a, int32_t smp, const float *restrict y, int32_t ld,
                                    float *restrict t)
{
    int32_t c = a->c;
    float *restrict kk = t + a->ohw * c;
    cb_v zero = {0};
    for (int32_t ch = 0; ch < c; ch++)
        kk[ch] = a->gamma[ch] * a->rstd[ch];
#define CB_XV(p) ({ cb_v x_ = CB_LD(p); if (a->b) x_ = x_ + CB_LD(a->b + cb); x_; })
    if (!a->pool) {
        for (int32_t yy = 0; yy < a->h; yy++)
            for (int32_t xx = 0; xx < a->w; xx++)
                for (int32_t cb = 0; cb < c; cb += CB_L)
                    CB_ST(t + ((int64_t)yy * a->w + xx) * c + cb,
                          CB_FWD(CB_XV(y + ((int64_t)yy * ld + xx) * c + cb), CB_LD(a->m + cb), CB_LD(kk + cb),
                                 CB_LD(a->beta + cb), zero));
    } else {
        for (int32_t oy = 0; oy < a->ho; oy++)
            for (int32_t ox = 0; ox < a->wo; ox++) {
                const float *y0 = y + ((int64_t)2 * oy * ld + 2 * ox) * c, *y1 = y0 + (int64_t)ld * c;
                float *o = t + ((int64_t)oy * a->wo + ox) * c;
                for (int32_t cb = 0; cb < c; cb += CB_L) {
                    cb_v mv = CB_LD(a->m + cb), kv = CB_LD(kk + cb), bv = CB_LD(a->beta + cb);
                    cb_v mx = CB_FWD(CB_XV(y0 + cb), mv, kv, bv, zero), v;
                    v = CB_FWD(CB_XV(y0 + c + cb), mv, kv, bv, zero);
                    mx = CB_SEL((cb_vi)(v > mx) | (cb_vi)(v != v), v, mx);
                    v = CB_FWD(CB_XV(y1 + cb), mv, kv, bv, zero);
                    mx = CB_SEL((cb_vi)(v > mx) | (cb_vi)(v != v), v, mx);
                    v = CB_FWD(CB_XV(y1 + c + cb), mv, kv, bv, zero);
                    mx = CB_SEL((cb_vi)(v > mx) | (cb_vi)(v != v), v, mx);
                    CB_ST(o + cb, mx);
                }
            }
    }
#undef CB_XV
    if (!a->head) {
        cpu_wg_from_cl(a->out + (int64_t)smp * c * a->ohw, 0, NULL, t, a->wo, c, 0, 0, c, a->ho, a->wo);
        return;
    }
    float *plane = t + a->head_off; /* the sample's [c, ho', wo'], still in cache for the classifier */
    cpu_wg_from_cl(plane, 0, NULL, t, a->wo, c, 0, 0, c, a->ho, a->wo);
    const pd_linear_eval *h = a->head;
    cpu_dense_thin_row(h->out + (int64_t)smp * h->o, plane, h->w, h->b, (int32_t)(c * a->ohw), h->o);
}

/* dy of one window (block cb): d[i] = g where window value i is the pick and positive */
#define CB_ROUTE(v0, v1, v2, v3, g, zero, d)                                                                      \
    do {                                                                                                           \
        cb_v mx_ = (v0);                                                                                           \
        cb_vi t1_ = (cb_vi)((v1) > mx_) | (cb_vi)((v1) != (v1));                                                   \
        mx_ = CB_SEL(t1_, (v1), mx_);                                                                              \
        cb_vi t2_ = (cb_vi)((v2) > mx_) | (cb_vi)((v2) != (v2));                                                   \
        mx_ = CB_SEL(t2_, (v2), mx_);                                                                              \
        cb_vi t3_ = (cb_vi)((v3) > mx_) | (cb_vi)((v3) != (v3));                                                   \
        (d)[0] = CB_SEL(~(t1_ | t2_ | t3_) & (cb_vi)((v0) > (zero)), (g), (zero));                                 \
        (d)[1] = CB_SEL(t1_ & ~(t2_ | t3_) & (cb_vi)((v1) > (zero)), (g), (zero));                                 \
        (d)[2] = CB_SEL(t2_ & ~t3_ & (cb_vi)((v2) > (zero)), (g), (zero));                                         \
        (d)[3] = CB_SEL(t3_ & (cb_vi)((v3) > (zero)), (g), (zero));                                                \
    } while (0)

/* backward pass 1 on sample smp: part = per-channel sums of dy and dy (x - m); t [ohw c + 2 c] scratch */
static void CB_SUFFIX(cb_sums_task)(void *ctx, int64_t smp, int thread)
{
    const cb_args *a = ctx;
    int32_t c = a->c, w = a->w;
    float *restrict g = cb_tmp(a, thread), *restrict s1 = g + a->ohw * c, *restrict s2 = s1 + c;
    const float *restrict xs = a->x + smp * a->hw * c;
    cb_v zero = {0};
    cpu_wg_to_cl(g, a->wo, c, 0, 0, a->dout + smp * c * a->ohw, c, a->ho, a->wo);
    for (int32_t cb = 0; cb < c; cb += CB_L) {
        CB_ST(s1 + cb, zero);
        CB_ST(s2 + cb, zero);
    }
    if (!a->pool) {
        for (int64_t p = 0; p < a->hw; p++)
            for (int32_t cb = 0; cb < c; cb += CB_L) {
                cb_v mv = CB_LD(a->m + cb), xv = CB_LD(xs + p * c + cb);
                cb_v v = CB_FWD(xv, mv, CB_LD(a->ka + cb), CB_LD(a->beta + cb), zero);
                cb_v d = CB_SEL((cb_vi)(v > zero), CB_LD(g + p * c + cb), zero);
                CB_ST(s1 + cb, CB_LD(s1 + cb) + d);
                CB_ST(s2 + cb, CB_LD(s2 + cb) + d * (xv - mv));
            }
    } else {
        for (int32_t oy = 0; oy < a->ho; oy++)
            for (int32_t ox = 0; ox < a->wo; ox++) {
                const float *x0 = xs + ((int64_t)2 * oy * w + 2 * ox) * c, *x1 = x0 + (int64_t)w * c;
                const float *gq = g + ((int64_t)oy * a->wo + ox) * c;
                for (int32_t cb = 0; cb < c; cb += CB_L) {
                    cb_v mv = CB_LD(a->m + cb), kv = CB_LD(a->ka + cb), bv = CB_LD(a->beta + cb);
                    cb_v xa = CB_LD(x0 + cb), xb = CB_LD(x0 + c + cb), xc = CB_LD(x1 + cb), xd = CB_LD(x1 + c + cb);
                    cb_v d[4];
                    CB_ROUTE(CB_FWD(xa, mv, kv, bv, zero), CB_FWD(xb, mv, kv, bv, zero), CB_FWD(xc, mv, kv, bv, zero),
                             CB_FWD(xd, mv, kv, bv, zero), CB_LD(gq + cb), zero, d);
                    CB_ST(s1 + cb, CB_LD(s1 + cb) + ((d[0] + d[1]) + (d[2] + d[3])));
                    CB_ST(s2 + cb, CB_LD(s2 + cb) + ((d[0] * (xa - mv) + d[1] * (xb - mv))
                                                     + (d[2] * (xc - mv) + d[3] * (xd - mv))));
                }
            }
    }
    double *pt = a->part + smp * c * 2;
    for (int32_t ch = 0; ch < c; ch++) {
        pt[2 * ch] = s1[ch];
        pt[2 * ch + 1] = s2[ch];
    }
}

/* ka dy - kb (x - m) + kc */
#define CB_DIN(d, xv, mv, kav, kbv, kcv) ((kav) * (d) - (kbv) * ((xv) - (mv)) + (kcv))

/* y [h, ld, c] <- the BatchNorm input gradient of sample smp; g [ohw c] scratch */
static void CB_SUFFIX(cb_dbn)(const cb_args *a, int32_t smp, float *restrict y, int32_t ld, float *restrict g)
{
    int32_t c = a->c, w = a->w;
    const float *restrict xs = a->x + (int64_t)smp * a->hw * c;
    cb_v zero = {0};
    cpu_wg_to_cl(g, a->wo, c, 0, 0, a->dout + (int64_t)smp * c * a->ohw, c, a->ho, a->wo);
    if (!a->pool) {
        for (int32_t yy = 0; yy < a->h; yy++)
            for (int32_t xx = 0; xx < w; xx++) {
                int64_t p = (int64_t)yy * w + xx;
                for (int32_t cb = 0; cb < c; cb += CB_L) {
                    cb_v mv = CB_LD(a->m + cb), kav = CB_LD(a->ka + cb), xv = CB_LD(xs + p * c + cb);
                    cb_v v = CB_FWD(xv, mv, kav, CB_LD(a->beta + cb), zero);
                    cb_v d = CB_SEL((cb_vi)(v > zero), CB_LD(g + p * c + cb), zero);
                    CB_ST(y + ((int64_t)yy * ld + xx) * c + cb, CB_DIN(d, xv, mv, kav, CB_LD(a->kb + cb),
                                                                         CB_LD(a->kc + cb)));
                }
            }
        return;
    }
    for (int32_t oy = 0; oy < a->ho; oy++)
        for (int32_t ox = 0; ox < a->wo; ox++) {
            const float *x0 = xs + ((int64_t)2 * oy * w + 2 * ox) * c, *x1 = x0 + (int64_t)w * c;
            const float *gq = g + ((int64_t)oy * a->wo + ox) * c;
            float *y0 = y + ((int64_t)2 * oy * ld + 2 * ox) * c, *y1 = y0 + (int64_t)ld * c;
            for (int32_t cb = 0; cb < c; cb += CB_L) {
                cb_v mv = CB_LD(a->m + cb), kav = CB_LD(a->ka + cb), bv = CB_LD(a->beta + cb);
                cb_v kbv = CB_LD(a->kb + cb), kcv = CB_LD(a->kc + cb);
                cb_v xa = CB_LD(x0 + cb), xb = CB_LD(x0 + c + cb), xc = CB_LD(x1 + cb), xd = CB_LD(x1 + c + cb);
                cb_v d[4];
                CB_ROUTE(CB_FWD(xa, mv, kav, bv, zero), CB_FWD(xb, mv, kav, bv, zero), CB_FWD(xc, mv, kav, bv, zero),
                         CB_FWD(xd, mv, kav, bv, zero), CB_LD(gq + cb), zero, d);
                CB_ST(y0 + cb, CB_DIN(d[0], xa, mv, kav, kbv, kcv));
                CB_ST(y0 + c + cb, CB_DIN(d[1], xb, mv, kav, kbv, kcv));
                CB_ST(y1 + cb, CB_DIN(d[2], xc, mv, kav, kbv, kcv));
                CB_ST(y1 + c + cb, CB_DIN(d[3], xd, mv, kav, kbv, kcv));
            }
        }
    for (int32_t yy = 0; yy < a->h; yy++) /* positions no window reaches: dy = 0 */
        for (int32_t xx = yy < 2 * a->ho ? 2 * a->wo : 0; xx < w; xx++)
            for (int32_t cb = 0; cb < c; cb += CB_L) {
                cb_v mv = CB_LD(a->m + cb), xv = CB_LD(xs + ((int64_t)yy * w + xx) * c + cb);
                CB_ST(y + ((int64_t)yy * ld + xx) * c + cb,
                      CB_DIN(zero, xv, mv, CB_LD(a->ka + cb), CB_LD(a->kb + cb), CB_LD(a->kc + cb)));
            }
}

/* ---- the direct convolution ---------------------------------------------------------------------------- */

/* y [h w, c] <- sample smp's convolution without the bias; pad: its padded input */
static void CB_SUFFIX(cb_direct_conv)(const cb_args *a, const float *restrict pad, float *restrict y)
{
    int32_t c = a->c, st = a->s->stride;
    for (int32_t oy = 0; oy < a->h; oy++) {
        const float *row = pad + cb_tap(a, 0, oy, 0);
        float *yr = y + (int64_t)oy * a->w * c;
        for (int32_t cb = 0; cb < c; cb += CB_L) { /* one vector of channels, four positions at a time */
            int32_t ox = 0;
            for (; ox + 4 <= a->w; ox += 4) {
                cb_v s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
                const float *p = row + (int64_t)ox * st;
                for (int32_t t = 0; t < a->taps; t++) {
                    cb_v wv = CB_LD(a->wt + (int64_t)t * c + cb);
                    const float *q = p + a->toff[t];
                    s0 += q[0] * wv;
                    s1 += q[st] * wv;
                    s2 += q[2 * st] * wv;
                    s3 += q[3 * st] * wv;
                }
                float *o = yr + (int64_t)ox * c + cb;
                CB_ST(o, s0);
                CB_ST(o + c, s1);
                CB_ST(o + 2 * c, s2);
                CB_ST(o + 3 * c, s3);
            }
            for (; ox < a->w; ox++) {
                cb_v s0 = {0};
                const float *p = row + (int64_t)ox * st;
                for (int32_t t = 0; t < a->taps; t++)
                    s0 += p[a->toff[t]] * CB_LD(a->wt + (int64_t)t * c + cb);
                CB_ST(yr + (int64_t)ox * c + cb, s0);
            }
        }
    }
}

/* group g of samples: weight- and bias-gradient partials, din */
static void CB_SUFFIX(cb_direct_backward_task)(void *ctx, int64_t grp, int thread)
{
    const cb_args *a = ctx;
    const pd_conv2d_shape *s = a->s;
    int32_t c = a->c;
    float *pad = cb_tmp(a, thread), *y = pad + cb_round((int64_t)s->cin * a->hp * a->wp), *g = y + a->hw * c;
    float *dpad = g + a->ohw * c, *bs = dpad + cb_round((int64_t)s->cin * a->hp * a->wp);
    float *dwp = a->dwp + grp * a->dwp_floats; /* [taps, c] */
    double *dbp = a->dbp + grp * c;
    memset(dwp, 0, (size_t)a->taps * c * sizeof(float));
    for (int32_t ch = 0; ch < c; ch++)
        dbp[ch] = 0.0;
    int32_t first = (int32_t)(grp * s->n / a->ngroups), last = (int32_t)((grp + 1) * s->n / a->ngroups);
    for (int32_t smp = first; smp < last; smp++) {
        cb_pad_input(a, pad, smp);
        CB_SUFFIX(cb_dbn)(a, smp, y, a->w, g);
        /* dW [t, c] += sum over positions of x (tap t) dy, in registers: four taps per pass over the positions */
        for (int32_t cb = 0; cb < c; cb += CB_L) {
            cb_v sb = {0};
            for (int32_t t0 = 0; t0 < a->taps; t0 += 4) {
                int32_t nt = a->taps - t0 < 4 ? a->taps - t0 : 4;
                int64_t o0 = a->toff[t0], o1 = a->toff[t0 + (nt > 1)], o2 = a->toff[t0 + (nt > 2) * 2];
                int64_t o3 = a->toff[t0 + (nt > 3) * 3];
                cb_v s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
                for (int32_t oy = 0; oy < a->h; oy++) {
                    const float *dy = y + (int64_t)oy * a->w * c + cb;
                    const float *px = pad + cb_tap(a, 0, oy, 0);
                    for (int32_t ox = 0; ox < a->w; ox++) {
                        cb_v d = CB_LD(dy + (int64_t)ox * c);
                        const float *q = px + (int64_t)ox * s->stride;
                        s0 += q[o0] * d;
                        s1 += q[o1] * d;
                        s2 += q[o2] * d;
                        s3 += q[o3] * d;
                        if (t0 == 0)
                            sb += d;
                    }
                }
                float *dr = dwp + (int64_t)t0 * c + cb; /* (taps past nt repeat tap t0 and are not stored) */
                CB_ST(dr, CB_LD(dr) + s0);
                if (nt > 1)
                    CB_ST(dr + c, CB_LD(dr + c) + s1);
                if (nt > 2)
                    CB_ST(dr + 2 * c, CB_LD(dr + 2 * c) + s2);
                if (nt > 3)
                    CB_ST(dr + 3 * c, CB_LD(dr + 3 * c) + s3);
            }
            CB_ST(bs + cb, sb);
        }
        for (int32_t ch = 0; ch < c; ch++)
            dbp[ch] += bs[ch];
        if (!a->din)
            continue;
        memset(dpad, 0, (size_t)s->cin * a->hp * a->wp * sizeof(float));
        for (int32_t oy = 0; oy < a->h; oy++)
            for (int32_t ox = 0; ox < a->w; ox++) {
                const float *dy = y + ((int64_t)oy * a->w + ox) * c;
                int64_t base = cb_tap(a, 0, oy, ox);
                for (int32_t t = 0; t < a->taps; t++) {
                    cb_v p = {0};
                    for (int32_t cb = 0; cb < c; cb += CB_L)
                        p += CB_LD(a->wt + (int64_t)t * c + cb) * CB_LD(dy + cb);
                    float sum = 0.0f;
                    for (int l = 0; l < CB_L; l++)
                        sum += p[l];
                    dpad[base + a->toff[t]] += sum;
                }
            }
        int64_t plane = (int64_t)s->h * s->w;
        for (int32_t ci = 0; ci < s->cin; ci++)
            for (int32_t yy = 0; yy < s->h; yy++) {
                const float *src = dpad + ((int64_t)ci * a->hp + yy + s->pad) * a->wp + s->pad;
                float *dst = a->din + ((int64_t)smp * s->cin + ci) * plane + (int64_t)yy * s->w;
                for (int32_t xx = 0; xx < s->w; xx++)
                    dst[xx] = a->acc ? dst[xx] + src[xx] : src[xx];
            }
    }
}

