/* cuda_diffusion.cu — the UNet's time embedding and the DDPM's element-wise steps on the CUDA backend
 * (contracts in src/backend.h; CPU twin: src/cpu_diffusion.c).
 *
 * temb adds row t[b] of a learned table to every channel of sample b (in place allowed). Its backward pass
 * first sums dout over channels per sample (channels in order), then adds those sums to the table, the
 * first sample with each timestep adding its own and those of the later samples with the same timestep in
 * sample order: repeated timesteps accumulate in the CPU's order, without atomics. diffusion_step draws element
 * i's noise at counter offset + i (rng_hash_normal), the CPU's numbers. Timesteps and the schedule tables live
 * on the device: no host round trip per step. */
#include "cuda_internal.cuh"

/* out [n, c, l] = in [n, c, l] + table [t[b], l] broadcast over c; t [n] (out may alias in) */
static void cuda_diffusion_temb_forward(pd_backend *be, float *out, const float *in, const float *table,
                                        const int32_t *t, int32_t n, int32_t c, int32_t l)
{
    if (l <= 0 || c <= 0)
        return;
    pd_fastdiv dc = pd_fastdiv_make((uint32_t)c);
    cuda_map2(be, l, (int64_t)n * c, [=] __device__(uint32_t j, uint32_t bc) { /* one grid row per (b, channel) */
        uint32_t b = pd_fastdiv_div(dc, bc);
        int64_t e = (int64_t)bc * l + j;
        out[e] = in[e] + table[(int64_t)t[b] * l + j];
    });
}

void cuda_temb_table_grad(pd_backend *be, float *dtable, const float *g, const int32_t *t, int32_t n, int32_t c,
                          int32_t l, float *scratch)
{
    int64_t plane = (int64_t)c * l;
    float *sums = scratch;                                 /* [n, l] */
    int32_t *next = (int32_t *)(scratch + (int64_t)n * l); /* the next sample with the same timestep, or -1 */
    int32_t *first = next + n;                             /* 1 for the first sample with its timestep */
    cuda_map2(be, l, n, [=] __device__(uint32_t j, uint32_t b) {
        const float *gb = g + (int64_t)b * plane + j;
        float s = 0.0f;
        for (int32_t ch = 0; ch < c; ch++)
            s += gb[(int64_t)ch * l];
        sums[(int64_t)b * l + j] = s;
    });
    cuda_map(be, n, [=] __device__(int64_t b) {
        int32_t tb = t[b], nx = -1, fi = 1;
        for (int32_t q = 0; q < (int32_t)b && fi; q++)
            fi = t[q] != tb;
        for (int32_t q = (int32_t)b + 1; q < n && nx < 0; q++)
            if (t[q] == tb)
                nx = q;
        next[b] = nx;
        first[b] = fi;
    });
    /* Row t[b] gains the sums of the samples with that timestep in sample order, as a loop over b would add
     * them; one thread per (sample, position), where the first sample with each timestep adds for all of them
     * along the chain of next samples (not one thread per position looping over the batch: that was a quarter
     * of a DDPM step on an H200). */
    cuda_map2(be, l, n, [=] __device__(uint32_t j, uint32_t b) {
        if (!first[b])
            return;
        float *row = dtable + (int64_t)t[b] * l + j;
        float acc = *row;
        for (int32_t q = (int32_t)b; q >= 0; q = next[q])
            acc += sums[(int64_t)q * l + j];
        *row = acc;
    });
}

/* din [n, c, l] = dout (acc as usual; may be NULL, may alias dout); dtable [T, l]: row t[b] += sum over c of
 * dout [b, c, :] (may be NULL); t [n] */
static void cuda_diffusion_temb_backward(pd_backend *be, float *din, float *dtable, const float *dout,
                                         const int32_t *t, int32_t n, int32_t c, int32_t l, int acc)
{
    if (n <= 0 || l <= 0)
        return;
    int64_t plane = (int64_t)c * l;
    if (dtable)
        cuda_temb_table_grad(be, dtable, dout, t, n, c, l,
                             (float *)cuda_scratch(be, (size_t)cuda_temb_scratch_floats(n, l) * sizeof(float)));
    if (!din || (din == dout && !acc))
        return;
    if (acc)
        cuda_map(be, (int64_t)n * plane, [=] __device__(int64_t e) { din[e] += dout[e]; });
    else
        CUDA_CHECK(cudaMemcpyAsync(din, dout, (size_t)(n * plane) * sizeof(float), cudaMemcpyDeviceToDevice,
                                   cuda_of(be)->stream));
}

/* xt [n, l] = sqrt_ab [t[b]] x0 [n, l] + sqrt_1mab [t[b]] eps [n, l]; t [n]; tables [T] */
static void cuda_diffusion_q_sample(pd_backend *be, float *xt, const float *x0, const float *eps,
                                    const int32_t *t, const float *sqrt_ab, const float *sqrt_1mab, int32_t n,
                                    int32_t l)
{
    if (l <= 0)
        return;
    cuda_map2(be, l, n, [=] __device__(uint32_t j, uint32_t b) {
        int32_t tb = t[b];
        int64_t e = (int64_t)b * l + j;
        xt[e] = sqrt_ab[tb] * x0[e] + sqrt_1mab[tb] * eps[e];
    });
}

/* x [n] = c1 clamp(ca x - cb eps [n], -1, 1) + c2 x + sigma N(0,1)(seed, offset + i) */
static void cuda_diffusion_step(pd_backend *be, float *x, const float *eps, int64_t n, float ca, float cb, float c1,
                                float c2, float sigma, uint64_t seed, uint64_t offset)
{
    cuda_map(be, n, [=] __device__(int64_t i) {
        float xi = x[i];
        float v = ca * xi - cb * eps[i];
        float x0p = v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v); /* NaN passes through, as torch.clamp */
        float y = c1 * x0p + c2 * xi;
        if (sigma != 0.0f)
            y += sigma * rng_hash_normal(seed, offset + (uint64_t)i);
        x[i] = y;
    });
}

void cuda_diffusion_register(pd_backend *be)
{
    be->temb_forward = cuda_diffusion_temb_forward;
    be->temb_backward = cuda_diffusion_temb_backward;
    be->diffusion_q_sample = cuda_diffusion_q_sample;
    be->diffusion_step = cuda_diffusion_step;
}
