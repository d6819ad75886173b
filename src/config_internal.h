/* config_internal.h — what config.c and config_csv.c share (private to the config module): the key table's entry
 * type, a parsed value, the table itself and the single-key operations. */
#ifndef PD_CONFIG_INTERNAL_H
#define PD_CONFIG_INTERNAL_H

#include <stddef.h>

#include "config.h"

enum {
    CFG_MIN_OPEN = 1, /* min is excluded: (min, ... */
    CFG_MAX_OPEN = 2, /* max is excluded: ..., max) */
    CFG_INTEGERS = 4  /* LIST elements must be integers */
};

typedef pd_status (*cfg_rule)(const char *key, const char *value, char *canon, size_t size, pd_error *err);

typedef struct {
    pd_key_info info; /* first, so config_key_at() can hand out &entry->info */
    size_t off, size; /* the field in pd_config */
    unsigned flags;
    int list_min, list_max; /* LIST: how many elements */
    cfg_rule rule;          /* STRING: the key-specific check (NULL: any text) */
    const char *def;        /* the default (CPU experiment) value */
} cfg_key;

/* The parsed value of one key, ready to store. */
typedef struct {
    int32_t i;
    uint64_t u;
    double d;
    char s[PD_CONFIG_STR];
} cfg_value;

extern const cfg_key config_keys[];
#define CFG_NKEYS config_key_count()

/* The entry of a key by name, NULL when unknown. */
const cfg_key *cfg_find(const char *name);
/* Check value against key k; on success fill v (the canonical form for strings and lists). */
pd_status cfg_check(const cfg_key *k, const char *raw, cfg_value *v, pd_error *err);
void cfg_store(pd_config *c, const cfg_key *k, const cfg_value *v);
/* The string form of a field; 0 when buf is too small. */
int cfg_format(const pd_config *c, const cfg_key *k, char *buf, size_t size);
/* Remove spaces and tabs around in (and line ends at its end) into out[size]. */
void cfg_trim(const char *in, char *out, size_t size);

#endif
