#!/bin/sh
# Measure pdiff against the PyTorch reference on this machine, in one sitting, and print the comparison tables
# (markdown): workload, reference, pdiff, speed-up, pdiff GFLOP/s and its share of the host's fp32 peak (the best
# 1024^3 sgemm rate of OpenBLAS's current kernels and pdiff's own kernel, as `pdiff bench` measures it).
#   sh tools/bench_compare.sh [TORCH_SCRIPT] [PDIFF]
#   DEVICE=cuda sh tools/bench_compare.sh [TORCH_SCRIPT] [PDIFF]     # both on the GPU (pdiff built --with-cuda)
# TORCH_SCRIPT defaults to ../shared/bench/torch_pdiff.py (needs PyTorch: Debian's python3-torch, or PYTHON=the
# interpreter that has it; on the GPU, tools/torch_on_cuda.py runs it there with TF32 off and synchronised timings);
# PDIFF defaults to build/pdiff. Both run with THREADS threads (default 2). On the CPU, pdiff bench runs twice: with the
# environment as it is, then with OPENBLAS_CORETYPE removed for that command only (the kernels OpenBLAS or pdiff
# pick by themselves); a header before each table says which OpenBLAS kernels ran. Timings drift on shared
# machines; ratios measured together do not (the vmstat lines at the end show how busy the machine was).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
torch_script=${1:-$top/../shared/bench/torch_pdiff.py}
pdiff=${2:-$top/build/pdiff}
threads=${THREADS:-2}
device=${DEVICE:-cpu}
python=${PYTHON:-/usr/bin/python3}
case "$device" in cpu|cuda) ;; *) echo "bench_compare.sh: DEVICE=$device: must be cpu or cuda" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one table: $1 the pdiff CSV, $2 its stderr (the first line names OpenBLAS's kernels), $3 a title
table() {
    echo
    echo "### $3: $(sed -n 's/^# pdiff [^ ]* bench: //p' "$2" | head -n 1)"
    echo
    awk -F, '
        FNR == NR { ref[$1] = $3; next }
        { val[$1] = $3; unit[$1] = $2 }
        END {
            pk = val["peak_gflops"]
            # the peak is the better of two 1024^3 sgemm measurements made together; the sgemm workload is
            # timed later in the run, so on a noisy host it can differ from both. On the GPU both are cuBLAS.
            gpu = val["peak_kernel"] ~ /^cuda/
            printf "fp32 peak %.0f GFLOP/s (%s)", pk, val["peak_kernel"]
            if (!gpu) printf ": OpenBLAS %.0f", val["peak_blas_gflops"]
            if ("peak_own_gflops" in val) printf ", pdiff'"'"'s kernel %.0f", val["peak_own_gflops"]
            printf "; the sgemm workload (%s, 1024^3) %.0f GFLOP/s\n\n", gpu ? "cuBLAS" : "OpenBLAS", val["sgemm_gflops"]
            print "| workload | unit | PyTorch | pdiff | pdiff vs PyTorch | pdiff GFLOP/s | of peak |"
            print "|---|---|---|---|---|---|---|"
            n = split("task_train_ips task_eval_ips ae_small_step_ms ae_medium_step_ms ddpm_step_ms ddpm_sample_s",
                      w, " ")
            for (i = 1; i <= n; i++) {
                k = w[i]
                if (!(k in val)) continue
                r = (k ~ /_ips$/) ? val[k] / ref[k] : ref[k] / val[k]
                printf "| %s | %s | %.4g | %.4g | %.2fx | %.1f | %.0f %% |\n", k, unit[k], ref[k], val[k], r,
                       val[k "_gflops"], val[k "_peak_share"]
            }
        }' "$tmp/torch.csv" "$1"
}

# run_bench NAME COMMAND...: a pdiff bench command into $tmp/NAME.csv and $tmp/NAME.err; on failure its last line
run_bench() {
    name=$1; shift
    "$@" > "$tmp/$name.csv" 2> "$tmp/$name.err" || {
        echo "bench_compare.sh: $pdiff bench failed: $(tail -n 1 "$tmp/$name.err")" >&2
        exit 1
    }
}

# the host: CPU model and the flags that matter for fp32 GEMMs
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
flags=$(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1 | tr ' ' '\n' |
    grep -E '^(fma|avx2|avx512(f|dq|bw|vl)|avx512_(bf16|fp16|vp2intersect)|amx_(tile|bf16))$' |
    tr '\n' ' ')
vendor=$(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
echo "host: ${model:-unknown CPU} ($vendor), $(nproc) cores online; flags: ${flags:-none of those}"
echo "environment: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)} PDIFF_GEMM=${PDIFF_GEMM:-(unset)}"
vmstat 1 2 | tail -n 1 | awk '{print "vmstat before: us " $13 " sy " $14 " id " $15 " st " $17}'

if [ "$device" = cuda ]; then
    nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /'
    echo "running the PyTorch reference on the GPU ($torch_script) ..." >&2
    OMP_NUM_THREADS=$threads THREADS=$threads "$python" "$top/tools/torch_on_cuda.py" "$torch_script" > "$tmp/torch.csv"
else
    echo "running the PyTorch reference ($torch_script) ..." >&2
    OMP_NUM_THREADS=$threads THREADS=$threads "$python" "$torch_script" > "$tmp/torch.csv"
fi
[ -s "$tmp/torch.csv" ] || { echo "bench_compare.sh: the PyTorch reference printed nothing" >&2; exit 1; }
if [ "$device" = cuda ]; then
    echo "running pdiff bench --set device=cuda ..." >&2
    run_bench pdiff "$pdiff" bench --threads "$threads" --set device=cuda
    table "$tmp/pdiff.csv" "$tmp/pdiff.err" "pdiff on the GPU"
    exit 0
fi
echo "running pdiff bench (environment as it is) ..." >&2
run_bench pdiff "$pdiff" bench --threads "$threads"
echo "running pdiff bench (OPENBLAS_CORETYPE removed) ..." >&2
run_bench unset env -u OPENBLAS_CORETYPE "$pdiff" bench --threads "$threads"

table "$tmp/pdiff.csv" "$tmp/pdiff.err" "pdiff, environment as it is"
table "$tmp/unset.csv" "$tmp/unset.err" "pdiff, OPENBLAS_CORETYPE removed"
echo
vmstat 1 2 | tail -n 1 | awk '{print "vmstat after: us " $13 " sy " $14 " id " $15 " st " $17}'
