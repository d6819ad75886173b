/* kind.c — one symbol, one colour and one label per model kind (see kind.h). */
/* src/figure.c keeps this table as data for the print figures (`pdiff plot`: a marker shape and an Okabe-Ito colour
 * per symbol); tests/plot.sh checks that the kinds, labels and symbols stay the same. */
#include "kind.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *kind, *label;
    ui_kind_style style;
} ui_kind_table[] = {
    {"original", "original", {'o', 1, 0}},     /* cyan */
    {"pdiff", "p-diff", {'*', 2, 1}},          /* yellow, bold */
    {"pdiff_latent", "p-diff latent", {'+', 2, 0}},
    {"finetune", "fine-tuned", {'f', 3, 0}},   /* green */
    {"ae_recon", "AE recon", {'r', 4, 0}},     /* magenta */
    {"noise:", "noise", {'~', 5, 0}},          /* red; every sigma */
    {"averaged", "averaged", {'=', 6, 0}},     /* blue */
    {"ensemble", "ensemble", {'E', 7, 1}},     /* white, bold */
    {"gaussian", "gaussian", {'g', 7, 0}},     /* white */
};
enum { UI_KIND_N = (int)(sizeof ui_kind_table / sizeof ui_kind_table[0]) };

static int ui_kind_find(const char *kind)
{
    for (int i = 0; kind && i < UI_KIND_N; i++) {
        const char *k = ui_kind_table[i].kind;
        size_t n = strlen(k);
        if (k[n - 1] == ':' ? strncmp(kind, k, n) == 0 : strcmp(kind, k) == 0)
            return i;
    }
    return -1;
}

ui_kind_style ui_kind_of(const char *kind)
{
    int i = ui_kind_find(kind);
    if (i < 0)
        return (ui_kind_style){'?', 8, 0};
    return ui_kind_table[i].style;
}

void ui_kind_label(const char *kind, int utf8, char *buf, size_t size)
{
    int i = ui_kind_find(kind);
    if (i < 0)
        snprintf(buf, size, "%s", kind ? kind : "?");
    else if (strncmp(kind, "noise:", 6) == 0)
        snprintf(buf, size, "noise %s=%s", utf8 ? "\u03c3" : "s", kind + 6);
    else
        snprintf(buf, size, "%s", ui_kind_table[i].label);
}
