#!/bin/sh
# cuda_pipeline.sh — the tiny end-to-end p-diff pipeline (tests/pipeline.sh's settings) run once on the CPU and
# once with device=cuda; the two accuracy tables must agree within noise. Skips (TAP "1..0 # SKIP", exit 0)
# when pdiff was built without CUDA or no CUDA device is present.
#
# "Within noise": the task model, the collected checkpoints and the ensemble come from the same seeds and the same
# data order on both devices and differ only by float rounding (GEMM summation order), so their accuracies must
# agree to a few test images; the generated models pass through two more trainings (AE, DDPM) whose small
# rounding differences are amplified by sampling, so p-diff's numbers get a looser bound.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}"
work="$top_builddir/tests/work/cuda_pipeline"

if ! "$PDIFF" --version 2>/dev/null | grep -q '^backends:.*cuda'; then
    echo "1..0 # SKIP pdiff was built without CUDA"
    exit 0
fi
rm -rf "$work"; mkdir -p "$work/data"
if ! "$PDIFF" bench --only sgemm_gflops --set device=cuda > "$work/bench.out" 2> "$work/bench.err"; then
    if grep -q "no CUDA device" "$work/bench.err"; then
        echo "1..0 # SKIP $(head -n 1 "$work/bench.err")"
        exit 0
    fi
    echo "Bail out! pdiff bench --set device=cuda failed: $(head -c 300 "$work/bench.err")"
    exit 1
fi

. "${top_srcdir:-.}/tests/tap_lib.sh" # n, failed, ok, check

check "bench on the GPU printed sgemm_gflops" grep -q '^sgemm_gflops,GFLOP/s,' "$work/bench.out"
check "bench says it ran on the cuda backend" grep -q 'backend cuda' "$work/bench.err"
"$top_builddir/tests/gen_idx" "$work/data" 1500 400 10 || { echo "Bail out! gen_idx failed"; exit 1; }

tiny="--set dataset=idx:$work/data --set arch=mlp --set epochs=2 --set k=20 --set save_every=1 --set ae_steps=80
 --set ddpm_steps=80 --set n_generate=8 --set n_recon=2 --set timesteps=60 --set ddpm_channels=8,8,8,8
 --set n_noise=2 --set noise_sigmas=0.01,0.1 --set n_finetune=2 --set finetune_steps=3 --set threads=2"
for dev in cpu cuda; do
    # shellcheck disable=SC2086
    "$PDIFF" run --session "$work/$dev" $tiny --set device=$dev --quiet 2> "$work/$dev.err"
    ok $? "tiny pipeline with device=$dev exits 0$( [ -s "$work/$dev.err" ] && printf ' (%s)' "$(head -c 200 "$work/$dev.err")")"
    check "device=$dev wrote summary.csv and models.csv" sh -c "test -s '$work/$dev/summary.csv' && test -s '$work/$dev/models.csv'"
done
check "the cuda session records device=cuda" grep -q '^"device","cuda"' "$work/cuda/config.csv"

# value of a summary metric of session $1 ("" when missing)
metric() { awk -F, -v m="\"$2\"" '$1 == m {print $2}' "$work/$1/summary.csv"; }
# agree METRIC TOLERANCE [CPU_SESSION CUDA_SESSION]: |cpu - cuda| <= tolerance (accuracies are fractions)
agree() {
    a=$(metric "${3:-cpu}" "$1"); b=$(metric "${4:-cuda}" "$1")
    if [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v t="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; then
        ok 0 "${3:-cpu}: $1 agrees: cpu $a, cuda $b (tolerance $2)"
    else
        ok 1 "${3:-cpu}: $1 agrees: cpu '$a', cuda '$b' (tolerance $2)"
    fi
}
for m in task_accuracy original_best original_mean original_median ensemble; do agree "$m" 0.02; done
for m in pdiff_best pdiff_mean pdiff_median ae_recon_best; do agree "$m" 0.1; done
check "the GPU's p-diff models are real models (best accuracy above chance)" \
    awk -v a="$(metric cuda pdiff_best)" 'BEGIN { exit !(a > 0.2) }'
# the generator's options, on both devices: the EMA of the UNet's weights, per-tensor scaling, raw DDPM latents.
# 80 AE and DDPM steps are too few to learn per-tensor-scaled vectors (p-diff's best is near chance, 0.14 against the
# originals' 0.28, on the CPU too), so the GPU is held to the CPU's numbers here, not to an accuracy.
for dev in cpu cuda; do
    # shellcheck disable=SC2086
    "$PDIFF" run --session "$work/${dev}_ema" $tiny --set device=$dev --set ddpm_ema=0.9 --set normalize=tensor --quiet
    ok $? "device=$dev with ddpm_ema=0.9 and normalize=tensor exits 0"
done
for m in ae_recon_best pdiff_best pdiff_mean; do agree "$m" 0.1 cpu_ema cuda_ema; done
check "... the GPU's latents.csv has the 8 DDPM samples" \
    test "$(grep -c ',"pdiff_latent",' "$work/cuda_ema/latents.csv")" -eq 8

# On the GPU too a run repeats itself, and a run stopped (Ctrl-C in the AE, kill -9 in the DDPM) and resumed ends
# with the files of the uninterrupted run (tests/pipeline.sh checks the same on the CPU)
long="$tiny --set ae_steps=400 --set ddpm_steps=500"
u="$work/cuda_long"
for s in "$u" "$work/cuda_again"; do
    # shellcheck disable=SC2086
    "$PDIFF" run --session "$s" $long --set device=cuda --quiet; ok $? "device=cuda, longer run ($(basename "$s")) exits 0"
done
same_session "$u" "$work/cuda_again" "device=cuda run twice: the same files"
k="$work/cuda_stopped"
# shellcheck disable=SC2086
"$PDIFF" run --session "$k" $long --set device=cuda 2> "$k.err" & pid=$!
wait_until "grep -q -E '^ae +[1-9][0-9]*%' '$k.err'"; kill -INT $pid; wait $pid; rc=$?
ok "$([ $rc -eq 130 ] && echo 0 || echo 1)" "Ctrl-C in the AE on the GPU exits 130 (exit $rc)"
"$PDIFF" resume "$k" 2> "$k.err2" & pid=$!
wait_until "test -e '$k/state/ddpm.bin'"; kill -9 $pid; wait $pid 2> /dev/null
"$PDIFF" resume "$k" --quiet; ok $? "resumed after Ctrl-C in the AE and kill -9 in the DDPM, on the GPU"
same_session "$u" "$k" "... every file equals the uninterrupted GPU run's"
x="$work/cpu_to_cuda"
# shellcheck disable=SC2086
"$PDIFF" run --session "$x" $long --set device=cpu 2> "$x.err" & pid=$!
wait_until "grep -q -E '^ae +[1-9][0-9]*%' '$x.err'"; kill -INT $pid; wait $pid
"$PDIFF" resume "$x" --set device=cuda --quiet; ok $? "a CPU run stopped in the AE resumes on the GPU"
check "... the session then records device=cuda" grep -q '^"device","cuda"' "$x/config.csv"
for m in ae_recon_best pdiff_best; do agree "$m" 0.1 cpu_to_cuda cuda_long; done

echo "1..$n"
[ "$failed" -eq 0 ]
