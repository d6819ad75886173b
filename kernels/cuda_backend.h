/* cuda_backend.h — the CUDA backend: the pd_backend table (src/backend.h) filled with CUDA kernels and cuBLAS.
 *
 * Built into kernels/libpdiffcuda.a only when configure finds CUDA (PD_HAVE_CUDA in pdiff_build.h); the engine
 * reaches it through backend_create(PD_BACKEND_CUDA), never directly. Memory from its alloc() is device memory
 * on GPU 0 (the first device CUDA_VISIBLE_DEVICES leaves): host code must move data with upload/download/copy.
 * Every op runs asynchronously on one CUDA stream owned by the backend; upload and download wait for it,
 * synchronize() waits for everything queued. GEMMs are true float32 (cuBLAS default math: no TF32), every
 * reduction runs in a fixed order (no float atomics), and random fills use the counter-based generator of
 * src/rng.c, so results repeat exactly on one GPU model and random numbers equal the CPU backend's.
 * A CUDA failure inside an op (which cannot return a status) is fatal: it goes through PD_ASSERT's hook with
 * the CUDA error text.
 */
#ifndef PD_CUDA_BACKEND_H
#define PD_CUDA_BACKEND_H

#include "backend.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create the CUDA backend. threads is recorded in be->threads (host-side work only). Fails with PD_ERR_DEVICE
 * and a one-line message when no CUDA device is usable ("device=cuda: no CUDA device found (...)"), or when
 * the stream or cuBLAS cannot be set up. */
pd_status cuda_backend_create(pd_backend **out, int threads, pd_error *err);

#ifdef __cplusplus
}
#endif

#endif
