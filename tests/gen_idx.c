/* gen_idx.c — writes a small synthetic IDX data set for the CLI and pipeline tests.
 *
 * Usage: gen_idx DIR [TRAIN TEST SIZE]  (defaults 2000 500 12)
 * Each of 10 classes has a fixed random prototype image; a sample is its prototype plus noise, so a small model
 * separates the classes well but not perfectly. Training files are plain, test files gzip-compressed, so both
 * code paths are exercised.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "rng.h"

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static int write_file(const char *path, int gz, const unsigned char *hdr, size_t nh, const unsigned char *data,
                      size_t nd)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f)
            return -1;
        int ok = gzwrite(f, hdr, (unsigned)nh) == (int)nh && gzwrite(f, data, (unsigned)nd) == (int)nd;
        return gzclose(f) == Z_OK && ok ? 0 : -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(hdr, 1, nh, f) == nh && fwrite(data, 1, nd, f) == nd;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int write_split(const char *dir, const char *prefix, int n, int size, int gz, uint64_t seed,
                       const float *proto)
{
    int px = size * size;
    unsigned char *img = malloc((size_t)n * (size_t)px), *lab = malloc((size_t)n);
    if (!img || !lab)
        return -1;
    pd_rng r;
    rng_init(&r, seed);
    for (int i = 0; i < n; i++) {
        int c = i % 10;
        lab[i] = (unsigned char)c;
        for (int j = 0; j < px; j++) {
            float v = proto[c * px + j] + 4.0f * rng_normal(&r);
            float b = 128.0f + 60.0f * v;
            img[(size_t)i * px + j] = (unsigned char)(b < 0 ? 0 : b > 255 ? 255 : b);
        }
    }
    char path[4096];
    unsigned char hdr[16];
    put_be32(hdr, 0x803);
    put_be32(hdr + 4, (uint32_t)n);
    put_be32(hdr + 8, (uint32_t)size);
    put_be32(hdr + 12, (uint32_t)size);
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
    int rc = write_file(path, gz, hdr, 16, img, (size_t)n * px);
    put_be32(hdr, 0x801);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
    rc |= write_file(path, gz, hdr, 8, lab, (size_t)n);
    free(img);
    free(lab);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 5) {
        fprintf(stderr, "usage: gen_idx DIR [TRAIN TEST SIZE]\n");
        return 2;
    }
    int ntrain = argc == 5 ? atoi(argv[2]) : 2000, ntest = argc == 5 ? atoi(argv[3]) : 500;
    int size = argc == 5 ? atoi(argv[4]) : 12;
    float *proto = malloc((size_t)10 * size * size * sizeof *proto);
    if (!proto)
        return 1;
    for (int i = 0; i < 10 * size * size; i++)
        proto[i] = rng_normal_at(99, (uint64_t)i);
    int rc = write_split(argv[1], "train", ntrain, size, 0, 1, proto) | write_split(argv[1], "t10k", ntest, size, 1, 2, proto);
    free(proto);
    if (rc) {
        fprintf(stderr, "gen_idx: cannot write into %s\n", argv[1]);
        return 1;
    }
    return 0;
}
