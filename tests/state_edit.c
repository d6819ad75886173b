/* state_edit.c — tests' helper: set one number in a state file (state.h's format) and fix its checksum, to craft
 * files that are valid as files but hold values out of range.
 *
 *   state_edit FILE SECTION INDEX VALUE     element INDEX of SECTION becomes VALUE (converted to its dtype)
 *
 * Exit 0 on success, 1 with a message on stderr otherwise.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static unsigned char *state_edit_read(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (*size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)*size)) != NULL && fread(buf, 1, (size_t)*size, f) != (size_t)*size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static uint32_t state_edit_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Store VALUE as element i of a section of dtype dt at data (host little-endian, as pdiff writes). */
static int state_edit_store(unsigned char *data, uint32_t dt, uint64_t i, const char *value)
{
    double v = strtod(value, NULL);
    switch (dt) {
    case 1: { float f = (float)v; memcpy(data + 4 * i, &f, 4); return 0; }
    case 2: { int32_t x = (int32_t)strtoll(value, NULL, 10); memcpy(data + 4 * i, &x, 4); return 0; }
    case 3: data[i] = (unsigned char)strtol(value, NULL, 10); return 0;
    case 4: memcpy(data + 8 * i, &v, 8); return 0;
    case 5: { int64_t x = strtoll(value, NULL, 10); memcpy(data + 8 * i, &x, 8); return 0; }
    default: return -1;
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: state_edit FILE SECTION INDEX VALUE\n");
        return 1;
    }
    long size = 0;
    unsigned char *b = state_edit_read(argv[1], &size);
    if (!b || size < 36) {
        fprintf(stderr, "state_edit: %s: cannot read\n", argv[1]);
        return 1;
    }
    static const int widths[6] = {0, 4, 4, 1, 8, 8};
    uint32_t n = state_edit_u32(b + 12);
    uint64_t index = strtoull(argv[3], NULL, 10);
    long off = 32;
    int done = 0;
    for (uint32_t s = 0; s < n && !done && off + 48 <= size - 4; s++) {
        uint32_t dt = state_edit_u32(b + off + 32);
        uint64_t count = state_edit_u32(b + off + 40) | (uint64_t)state_edit_u32(b + off + 44) << 32;
        if (dt < 1 || dt > 5)
            break;
        if (strncmp((const char *)b + off, argv[2], 32) == 0 && index < count) {
            done = state_edit_store(b + off + 48, dt, index, argv[4]) == 0;
            break;
        }
        off += 48 + (long)(count * (uint64_t)widths[dt]);
    }
    if (!done) {
        fprintf(stderr, "state_edit: %s: no element %s[%s]\n", argv[1], argv[2], argv[3]);
        free(b);
        return 1;
    }
    uint32_t crc = (uint32_t)crc32(0L, b, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        b[size - 4 + i] = (unsigned char)(crc >> (8 * i));
    FILE *f = fopen(argv[1], "wb");
    int ok = f && fwrite(b, 1, (size_t)size, f) == (size_t)size;
    if (f && fclose(f) != 0)
        ok = 0;
    free(b);
    if (!ok) {
        fprintf(stderr, "state_edit: %s: cannot write\n", argv[1]);
        return 1;
    }
    return 0;
}
