#!/bin/sh
# Measure pdiff against the PyTorch reference on this machine, in one sitting, and print the comparison table
# (markdown): workload, reference, pdiff, speed-up, pdiff GFLOP/s and its share of the sgemm limit.
#   sh tools/bench_compare.sh [TORCH_SCRIPT] [PDIFF]
# TORCH_SCRIPT defaults to ../shared/bench/torch_pdiff.py (needs Debian's python3-torch: /usr/bin/python3);
# PDIFF defaults to build/pdiff. Both run with 2 threads. Timings drift on shared machines; ratios measured
# together do not.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
torch_script=${1:-$top/../shared/bench/torch_pdiff.py}
pdiff=${2:-$top/build/pdiff}
threads=${THREADS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "running the PyTorch reference ($torch_script) ..." >&2
OMP_NUM_THREADS=$threads THREADS=$threads /usr/bin/python3 "$torch_script" > "$tmp/torch.csv"
echo "running pdiff bench ..." >&2
"$pdiff" bench --threads "$threads" > "$tmp/pdiff.csv" 2> "$tmp/pdiff.err"
sed 's/^/    /' "$tmp/pdiff.err" >&2
awk -F, '
    FNR == NR { ref[$1] = $3; next }
    { val[$1] = $3; unit[$1] = $2 }
    END {
        sg = val["sgemm_gflops"]
        printf "| workload | unit | PyTorch | pdiff | pdiff vs PyTorch | pdiff GFLOP/s | of sgemm (%.0f GFLOP/s) |\n", sg
        print "|---|---|---|---|---|---|---|"
        n = split("task_train_ips task_eval_ips ae_small_step_ms ae_medium_step_ms ddpm_step_ms ddpm_sample_s", w, " ")
        for (i = 1; i <= n; i++) {
            k = w[i]
            if (!(k in val)) continue
            r = (k ~ /_ips$/) ? val[k] / ref[k] : ref[k] / val[k]
            g = val[k "_gflops"]
            printf "| %s | %s | %.4g | %.4g | %.2fx | %.1f | %.0f %% |\n", k, unit[k], ref[k], val[k], r, g, 100 * g / sg
        }
    }' "$tmp/torch.csv" "$tmp/pdiff.csv"
