/* target.h — the p-diff target: the subset of a model's parameters that collection trains and diffusion generates.
 *
 * A target spec is "auto" (the last two BatchNorm layers, or the last linear layer of a model without BatchNorm),
 * "all", or a comma list of patterns; a pattern selects every parameter tensor whose name equals it, starts with
 * it followed by '.', or matches it as a glob (fnmatch: "layer4.*.bn2", "bn?"). Every pattern must select
 * something. The selected tensors, in parameter-block order, form one flat vector of d numbers: gather flattens
 * them out of a parameter block, scatter loads a vector back in.
 *
 *   pd_target t;
 *   if (target_resolve(&t, model, "bn2,bn3", &err) != PD_OK) ...   // t.d == 256 on convnet
 *   target_gather(be, &t, model_params(model), vec);
 *   target_scatter(be, &t, generated, model_params(model));
 *   target_free(&t);
 */
#ifndef PD_TARGET_H
#define PD_TARGET_H

#include <stdint.h>

#include "model.h"

typedef struct {
    int32_t n;          /* number of tensors */
    int32_t *tensor;    /* [n] model tensor indices, ascending */
    int64_t d;          /* total number of parameters */
    int32_t first_node; /* node owning the first selected tensor */
    char *names;        /* "bn2.weight,bn2.bias,..." (malloc'd) */
} pd_target;

pd_status target_resolve(pd_target *t, const pd_model *m, const char *spec, pd_error *err);
void target_free(pd_target *t);
/* vec [d] <- the selected views of params [param_count] (device memory of be) */
void target_gather(pd_backend *be, const pd_model *m, const pd_target *t, const float *params, float *vec);
/* the selected views of params <- vec [d] */
void target_scatter(pd_backend *be, const pd_model *m, const pd_target *t, const float *vec, float *params);

#endif
