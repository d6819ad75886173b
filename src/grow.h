/* grow.h — the one growth rule of the engine's and the UI's appendable arrays (public: ui/ uses it too). */
#ifndef PD_GROW_H
#define PD_GROW_H

#include <stdint.h>
#include <stdlib.h>

/* Room for at least `need` elements of `size` bytes: returns p itself when *cap already holds them, else p
 * reallocated to a capacity doubled from `first` (or from *cap) until it does, with *cap updated; NULL when
 * memory runs out (p and *cap are then unchanged and p stays valid). */
static inline void *pd_grow(void *p, int64_t *cap, int64_t need, size_t size, int64_t first)
{
    if (need <= *cap)
        return p;
    int64_t c = *cap > 0 ? *cap : first > 0 ? first : 1;
    while (c < need)
        c *= 2;
    void *q = realloc(p, (size_t)c * size);
    if (q)
        *cap = c;
    return q;
}

#endif
