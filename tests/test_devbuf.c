/* test_devbuf.c — the owned-buffer list (src/devbuf.h) over a counting fake backend, and the shared RNG hash
 * (src/rng_hash.h) against rng.h's functions. */
#include "devbuf.h"
#include "rng.h"
#include "rng_hash.h"
#include "tap.h"

/* A backend whose alloc fails after `budget` successes and which records what it hands out and takes back. */
typedef struct {
    pd_backend base; /* must be first */
    int budget, live, allocs, frees;
    void *order[64];
    size_t bytes[64];
    int freed_in_order;
} fake_backend;

static void *fake_alloc(pd_backend *be, size_t bytes)
{
    fake_backend *f = (fake_backend *)be;
    if (f->budget-- <= 0)
        return NULL;
    void *p = calloc(1, bytes);
    if (p && f->allocs < 64) {
        f->order[f->allocs] = p;
        f->bytes[f->allocs] = bytes;
    }
    f->allocs++;
    f->live++;
    return p;
}

static void fake_free(pd_backend *be, void *p)
{
    fake_backend *f = (fake_backend *)be;
    if (!p)
        return;
    if (f->frees >= 64 || f->order[f->frees] != p)
        f->freed_in_order = 0;
    f->frees++;
    f->live--;
    free(p);
}

static void fake_init(fake_backend *f, int budget)
{
    memset(f, 0, sizeof *f);
    f->base.alloc = fake_alloc;
    f->base.free = fake_free;
    f->budget = budget;
    f->freed_in_order = 1;
}

static void test_devbuf(void)
{
    fake_backend f;
    fake_init(&f, 100);
    pd_devbuf l;
    devbuf_init(&l, &f.base);
    float *a = NULL;
    for (int i = 0; i < 40; i++) /* past the list's first capacity: it grows */
        a = devbuf_floats(&l, i);
    int32_t *b = devbuf_ints(&l, 5);
    tap_ok(a && b && !devbuf_failed(&l) && f.allocs == 41 && f.live == 41, "41 buffers allocated, none failed");
    tap_ok(f.bytes[0] == sizeof(float) && f.bytes[3] == 3 * sizeof(float) && f.bytes[40] == 5 * sizeof(int32_t),
           "sizes: n elements, at least one");
    devbuf_free(&l);
    tap_ok(f.live == 0 && f.frees == 41 && f.freed_in_order, "devbuf_free frees them all, in allocation order");
    tap_ok(devbuf_floats(&l, 3) != NULL && !devbuf_failed(&l), "the list is reusable after devbuf_free");
    devbuf_free(&l);

    fake_init(&f, 3);
    devbuf_init(&l, &f.base);
    for (int i = 0; i < 3; i++)
        devbuf_floats(&l, 8);
    tap_ok(!devbuf_failed(&l), "three allocations within the budget");
    float *x = devbuf_floats(&l, 8);
    int calls = f.allocs;
    int32_t *y = devbuf_ints(&l, 8);
    tap_ok(!x && !y && devbuf_failed(&l) && f.allocs == calls, "after a failure: NULL, failed, nothing more asked");
    devbuf_free(&l);
    tap_ok(f.live == 0 && !devbuf_failed(&l), "a failed list frees what it got and starts over empty");

    pd_devbuf zero;
    memset(&zero, 0, sizeof zero);
    devbuf_free(&zero);
    tap_ok(1, "a zeroed list frees as an empty one");
}

static void test_rng_hash(void)
{
    int same = 1;
    for (uint64_t i = 0; i < 10000; i++) {
        uint64_t seed = i * 0x9E3779B97F4A7C15ULL;
        float n1 = rng_normal_at(seed, i), n2 = rng_hash_normal(seed, i);
        float u1 = rng_uniform_at(seed, i), u2 = rng_hash_uniform(seed, i);
        if (rng_hash(seed, i) != rng_hash_mix(seed, i) || memcmp(&n1, &n2, sizeof n1) != 0
            || memcmp(&u1, &u2, sizeof u1) != 0)
            same = 0;
    }
    tap_ok(same, "rng_hash.h's inline functions give rng.h's numbers bit for bit");
}

int main(void)
{
    test_devbuf();
    test_rng_hash();
    return tap_done();
}
