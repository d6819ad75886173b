/* kind.h — one symbol, one colour and one label per model kind, for every screen (pure, no terminal).
 *
 * The kinds are the zoo's ("original", "ensemble", "ae_recon", "pdiff", "finetune", "averaged", "noise:SIGMA") and
 * latents.csv's ("pdiff_latent": the DDPM samples before decoding). Similarity, Latents and every legend take their
 * marker and colour from here, so a kind looks the same everywhere; original, fine-tuned and averaged have distinct
 * colours. Colours are series slots 1..8 (UI_C_SERIES + slot - 1); unknown kinds get '?'.
 */
#ifndef PD_UI_KIND_H
#define PD_UI_KIND_H

#include <stddef.h>

typedef struct {
    char symbol; /* scatter marker */
    int color;   /* series colour slot 1..8 */
    int bold;    /* drawn bold (p-diff, the subject) */
} ui_kind_style;

ui_kind_style ui_kind_of(const char *kind);
/* A reader's name for a kind: "p-diff", "fine-tuned", "noise σ=0.01" ("noise s=0.01" in ASCII), ... */
void ui_kind_label(const char *kind, int utf8, char *buf, size_t size);

#endif
