/* test_augment.c — augment=cropflip (4-pixel zero-padded random crop + horizontal flip) on tiny images against
 * hand-computed expectations, its determinism, and the task learning-rate schedules (constant, cosine, step). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "augment.h"
#include "dataset.h"
#include "train.h"
#include "tap.h"

#define H 3
#define W 5
#define PAD 255 /* marks a padded pixel in the expectations */

/* One 2-channel 3x5 image: byte 10 y + x + 1 in channel 0, 100 + that in channel 1. */
static uint8_t pixels[2 * H * W];
static int32_t labels[1] = {7};

static pd_split tiny_split(void)
{
    for (int ch = 0; ch < 2; ch++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                pixels[(ch * H + y) * W + x] = (uint8_t)(100 * ch + 10 * y + x + 1);
    pd_split s = {.n = 1, .c = 2, .h = H, .w = W, .pixels = pixels, .labels = labels,
                  .mean = {0.5f, 0.25f, 0}, .std = {0.25f, 0.5f, 1}};
    return s;
}

/* A step whose draw for image 0 is (dy, dx, flip). */
static int64_t step_with(uint64_t stream, int32_t dy, int32_t dx, int32_t flip)
{
    for (int64_t step = 0; step < 100000; step++) {
        pd_augment_draw d = augment_draw(stream, step, 0);
        if (d.dy == dy && d.dx == dx && d.flip == flip)
            return step;
    }
    return -1;
}

/* Channel 0 of the augmented image under (dy, dx, flip) equals want (source bytes, PAD = padding), channel 1 the
 * same shifted by 100; values normalised with each channel's mean/std, padding as byte 0. */
static void expect_image(const char *what, int32_t dy, int32_t dx, int32_t flip, const int want[H][W])
{
    pd_split s = tiny_split();
    const uint64_t stream = augment_stream(42);
    int64_t step = step_with(stream, dy, dx, flip);
    float x[2 * H * W];
    int32_t y = -1, idx = 0;
    augment_batch(&s, &idx, 1, x, &y, stream, step);
    int bad = step < 0 || y != 7;
    for (int ch = 0; ch < 2 && !bad; ch++)
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                int b = want[r][c] == PAD ? 0 : want[r][c] + 100 * ch;
                float v = ((float)b / 255.0f - s.mean[ch]) / s.std[ch];
                if (x[(ch * H + r) * W + c] != v) {
                    tap_diag("%s: channel %d (%d,%d) is %g, want %g (byte %d)", what, ch, r, c,
                             (double)x[(ch * H + r) * W + c], (double)v, b);
                    bad = 1;
                }
            }
    tap_ok(!bad, "%s", what);
}

static void test_crops(void)
{
    static const int identity[H][W] = {{1, 2, 3, 4, 5}, {11, 12, 13, 14, 15}, {21, 22, 23, 24, 25}};
    expect_image("offset (4,4) without flip is the identity", 4, 4, 0, identity);
    static const int right1[H][W] = {{2, 3, 4, 5, PAD}, {12, 13, 14, 15, PAD}, {22, 23, 24, 25, PAD}};
    expect_image("offset (4,5): the window moves one pixel right, zero padding on the right", 4, 5, 0, right1);
    static const int up1[H][W] = {{PAD, PAD, PAD, PAD, PAD}, {1, 2, 3, 4, 5}, {11, 12, 13, 14, 15}};
    expect_image("offset (3,4): the window moves one row up, a padded first row", 3, 4, 0, up1);
    static const int flipped[H][W] = {{5, 4, 3, 2, 1}, {15, 14, 13, 12, 11}, {25, 24, 23, 22, 21}};
    expect_image("offset (4,4) with flip mirrors left-right", 4, 4, 1, flipped);
    /* output column x reads source column (W - 1 - x) + 6 - 4: 6, 5 (padding), 4, 3, 2 */
    static const int right2_flip[H][W] = {{PAD, PAD, 5, 4, 3}, {PAD, PAD, 15, 14, 13}, {PAD, PAD, 25, 24, 23}};
    expect_image("offset (4,6) then flip: crop source columns 2..6, mirrored", 4, 6, 1, right2_flip);
    static const int corner[H][W] = {{PAD, PAD, PAD, PAD, PAD}, {PAD, PAD, PAD, PAD, PAD},
                                     {PAD, PAD, PAD, PAD, PAD}};
    expect_image("offset (0,0) on a 3x5 image is all padding", 0, 0, 0, corner);
    static const int low_left[H][W] = {{PAD, PAD, 21, 22, 23}, {PAD, PAD, PAD, PAD, PAD}, {PAD, PAD, PAD, PAD, PAD}};
    expect_image("offset (6,2): source rows 2.., columns -2..2", 6, 2, 0, low_left);
}

static void test_geometry(void)
{
    pd_augment_draw d = {.dy = 8, .dx = 0, .flip = 1};
    int32_t sy, sx;
    int in = augment_source(&d, 32, 32, 0, 0, &sy, &sx);
    tap_ok(in && sy == 4 && sx == 27, "32x32, offset (8,0) with flip: output (0,0) is source (4,27) (got %d,%d)", sy,
           sx);
    in = augment_source(&d, 32, 32, 31, 31, &sy, &sx);
    tap_ok(!in && sy == 35, "... and output (31,31) is padding (source row 35)");
    int seen_dy[9] = {0}, seen_dx[9] = {0}, flips = 0, n = 9000, same = 1;
    for (int i = 0; i < n; i++) {
        pd_augment_draw a = augment_draw(7, i / 100, i % 100), b = augment_draw(7, i / 100, i % 100);
        same &= a.dy == b.dy && a.dx == b.dx && a.flip == b.flip;
        if (a.dy >= 0 && a.dy <= 8 && a.dx >= 0 && a.dx <= 8) {
            seen_dy[a.dy]++;
            seen_dx[a.dx]++;
        }
        flips += a.flip;
    }
    int all = 1;
    for (int j = 0; j < 9; j++)
        all &= seen_dy[j] > n / 9 / 2 && seen_dx[j] > n / 9 / 2;
    tap_ok(same && all && flips > n * 45 / 100 && flips < n * 55 / 100,
           "draws are deterministic, offsets cover 0..8 evenly, flip about half the time (%d of %d)", flips, n);
    pd_augment_draw a = augment_draw(7, 3, 0), b = augment_draw(7, 4, 0), c = augment_draw(8, 3, 0);
    tap_ok(!(a.dy == b.dy && a.dx == b.dx && a.flip == b.flip && a.dy == c.dy && a.dx == c.dx && a.flip == c.flip),
           "another step or stream draws otherwise");
}

/* augment_batch at the identity equals dataset_batch, labels included, for a batch of two. */
static void test_identity_batch(void)
{
    pd_split s = tiny_split();
    uint64_t stream = augment_stream(5);
    int64_t step = -1;
    for (int64_t t = 0; t < 1000000 && step < 0; t++) {
        pd_augment_draw a = augment_draw(stream, t, 0), b = augment_draw(stream, t, 1);
        if (a.dy == 4 && a.dx == 4 && !a.flip && b.dy == 4 && b.dx == 4 && !b.flip)
            step = t;
    }
    int32_t idx[2] = {0, 0}, ya[2], yb[2];
    float xa[2 * 2 * H * W], xb[2 * 2 * H * W];
    augment_batch(&s, idx, 2, xa, ya, stream, step);
    dataset_batch(&s, idx, 2, xb, yb);
    tap_ok(step >= 0 && memcmp(xa, xb, sizeof xa) == 0 && ya[0] == yb[0] && ya[1] == yb[1],
           "a batch drawn at (4,4) without flip is dataset_batch's, bit for bit");
}

static void test_schedules(void)
{
    pd_train_opts o = {.lr = 0.1f, .schedule = TRAIN_LR_CONSTANT};
    tap_ok(train_lr_at(&o, 0, 10, 100) == 0.1f && train_lr_at(&o, 99, 10, 100) == 0.1f, "constant: lr throughout");
    o.schedule = TRAIN_LR_COSINE;
    float want = (float)(0.5 * o.lr * (1.0 + cos(M_PI * 30.0 / 100.0)));
    tap_ok(train_lr_at(&o, 0, 10, 100) == 0.1f && train_lr_at(&o, 30, 10, 100) == want &&
               train_lr_at(&o, 50, 10, 100) == (float)(0.5 * o.lr * (1.0 + cos(M_PI * 0.5))),
           "cosine: lr (1 + cos(pi t / steps)) / 2, as before");
    o = (pd_train_opts){.lr = 0.1f, .schedule = TRAIN_LR_STEP, .n_milestones = 2, .milestones = {2, 4},
                        .gamma = 0.1};
    float g1 = (float)((double)0.1f * 0.1), g2 = (float)((double)0.1f * 0.1 * 0.1);
    tap_ok(train_lr_at(&o, 0, 10, 60) == 0.1f && train_lr_at(&o, 19, 10, 60) == 0.1f,
           "step: lr before the first milestone (epochs 0, 1)");
    tap_ok(train_lr_at(&o, 20, 10, 60) == g1 && train_lr_at(&o, 39, 10, 60) == g1,
           "step: x gamma from the first step of milestone epoch 2 through epoch 3");
    tap_ok(train_lr_at(&o, 40, 10, 60) == g2 && train_lr_at(&o, 59, 10, 60) == g2,
           "step: x gamma^2 from epoch 4 on (%g)", (double)g2);
    o.n_milestones = 0;
    tap_ok(train_lr_at(&o, 59, 10, 60) == 0.1f, "step without milestones: constant");
}

int main(void)
{
    test_crops();
    test_geometry();
    test_identity_batch();
    test_schedules();
    return tap_done();
}
