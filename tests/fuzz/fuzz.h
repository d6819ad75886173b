/* fuzz.h — shared by the fuzz targets (tests/fuzz/fuzz_*.c). Each target defines LLVMFuzzerTestOneInput, which
 * libFuzzer calls (configure --enable-fuzz, CC=clang) or fuzz_replay.c calls for every file of a corpus (make check).
 * pdiff's parsers read files, so the input is written to a file of this process first. */
#ifndef PD_FUZZ_H
#define PD_FUZZ_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_NAMES 8

static char fuzz_dir_[64];
static char fuzz_names_[FUZZ_MAX_NAMES][160];
static int fuzz_n_names_;

static void fuzz_cleanup_(void)
{
    for (int i = 0; i < fuzz_n_names_; i++)
        unlink(fuzz_names_[i]);
    if (fuzz_dir_[0])
        rmdir(fuzz_dir_);
}

/* This process's scratch folder (made once, emptied and removed at exit), or NULL. */
static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_[0]) {
        /* in memory where possible: a file rewritten for every input on a disk holds a fuzzer to ~200 inputs/s */
        snprintf(fuzz_dir_, sizeof fuzz_dir_, "/dev/shm/pdiff-fuzz-XXXXXX");
        if (!mkdtemp(fuzz_dir_)) {
            snprintf(fuzz_dir_, sizeof fuzz_dir_, "/tmp/pdiff-fuzz-XXXXXX");
            if (!mkdtemp(fuzz_dir_)) {
                fuzz_dir_[0] = '\0';
                return NULL;
            }
        }
        atexit(fuzz_cleanup_);
    }
    return fuzz_dir_;
}

/* Write size bytes of data to the file at path (created or truncated); 0 when that fails. */
static inline int fuzz_write_whole(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* Write data to the file `name` (at most FUZZ_MAX_NAMES different names) in the scratch folder; its path, or NULL. */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    const char *dir = fuzz_dir();
    if (!dir)
        return NULL;
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int i = 0;
    while (i < fuzz_n_names_ && strcmp(fuzz_names_[i], path) != 0)
        i++;
    if (i == fuzz_n_names_) {
        if (i == FUZZ_MAX_NAMES)
            return NULL;
        snprintf(fuzz_names_[fuzz_n_names_++], sizeof fuzz_names_[0], "%s", path);
    }
    return fuzz_write_whole(path, data, size) ? fuzz_names_[i] : NULL;
}

/* Remove the files in dir, the folders below it down to depth more levels (0: files only), and dir itself. */
static inline void fuzz_remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0
            && snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path && unlink(path) != 0
            && depth > 0)
            fuzz_remove_tree(path, depth - 1);
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The whole file at path into *data (malloc'ed, never NULL on success) and *size; 0 when it cannot be read. */
static inline int fuzz_read_whole(const char *path, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc(n > 0 ? (size_t)n : 1);
    int ok = n >= 0 && *data && fread(*data, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    *size = ok ? (size_t)n : 0;
    return ok;
}

#endif
