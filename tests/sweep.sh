#!/bin/sh
# sweep.sh — `pdiff sweep` end to end on a generated data set with tiny settings: a sweep over seed reports each run
# and the mean ± 95 % CI (text, csv, latex); --seeds N runs every value with N seeds, sharing train and collect
# between the values of a seed (their own AE and DDPM side by side), and every session reports and resumes on its
# own and has the results of the run it stands for; the paired table (each kind -
# original within a seed, p-diff at each value - at the first) equals tools/paired_diff.awk's on the same sweep.csv;
# a sweep over gen_seed shares train and collect; bad --seeds values are refused with one line; a sweep stopped by
# Ctrl-C continues when run again (the same files as without the stop), and another sweep in its folder is refused;
# report on a sweep folder prints its tables.
# TAP output.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}" "${top_srcdir:=.}"
work="$top_builddir/tests/work/sweep"
rm -rf "$work"; mkdir -p "$work/data"
. "${top_srcdir:-.}/tests/tap_lib.sh" # n, failed, ok, check
"$top_builddir/tests/gen_idx" "$work/data" 1000 300 10 || { echo "Bail out! gen_idx failed"; exit 1; }

tiny="--set dataset=idx:$work/data --set arch=mlp --set epochs=1 --set k=10 --set save_every=1 --set ae_steps=40
 --set ddpm_steps=40 --set n_generate=6 --set n_recon=2 --set timesteps=40 --set ddpm_channels=8,8,8,8
 --set n_noise=2 --set noise_sigmas=0.01 --set n_finetune=2 --set finetune_steps=2 --set threads=2"
# how many times a stage started, from the progress log
starts() { grep -c "stage $2: start" "$1"; }
# The tool's paired row over the seeds (CSV, VALUE, KIND, METRIC) against tools/paired_diff.awk for ITEM - BASE: the
# same n, mean and half-width (awk prints 100 x each to 3 decimals, with t to 3 decimals), or neither has runs.
# Status 0 equal, 1 different, 2 no runs on either side.
paired_same() { # CSV VALUE KIND METRIC ITEM BASE
    line=$(awk -v ITEMS="$5" -v BASE="$6" -v METRIC="$4" -v SCALE=100 -f "$top_srcdir/tools/paired_diff.awk" "$1")
    awk -F, -v v="\"$2\"" -v k="\"$3\"" -v m="\"$4\"" -v line="$line" '
      $1 == "\"paired\"" && $3 == v && $4 == "\"\"" && $5 == k && $6 == m && $7 > 0 { n = $7; mean = $8; ci = $10; found = 1 }
      END {
        if (line ~ /no runs$/) exit found ? 1 : 2
        if (!found || !match(line, /: [-+][0-9.]+ [^ ]+ [-a-z0-9.]+ \(n = [0-9]+;/)) exit 1
        split(substr(line, RSTART + 2, RLENGTH - 3), f, " ")   # mean, the plus-minus sign, ci, "(n", "=", n
        dm = 100 * mean - f[1]; dc = 100 * ci - f[3]
        if (f[3] ~ /nan/) dc = 100 * ci   # awk: sqrt of a tiny negative variance; the tool: none
        exit !(f[6] + 0 == n && dm * dm < 0.0006^2 && dc * dc < (0.0006 + 1e-4 * f[3])^2)
      }' "$1"
}
# every kind - original for the main metrics at VALUE (ITEM@AT, or any value when AT is empty) and, with FIRST, pdiff
# at VALUE - at FIRST: prints how many rows agreed, and each disagreement as a TAP comment
paired_all() { # CSV VALUE AT FIRST
    same=0
    for kind in ensemble pdiff ae_recon noise_0.01 finetune averaged gaussian; do
        for metric in mean best_of_n novelty pair_iou_mean max_iou_mean; do
            paired_same "$1" "$2" "$kind-original" "$metric" "$kind$3" "original$3"; r=$?
            [ $r -eq 0 ] && same=$((same + 1)); [ $r -eq 1 ] && echo "# differs: $2 $kind-original $metric" >&2
            [ -z "$4" ] && continue
            [ "$kind" = pdiff ] || continue
            paired_same "$1" "$2" "pdiff@$2-pdiff@$4" "$metric" "pdiff@$2" "pdiff@$4"; r=$?
            [ $r -eq 0 ] && same=$((same + 1)); [ $r -eq 1 ] && echo "# differs: $2 pdiff@$2-pdiff@$4 $metric" >&2
        done
    done
    echo "$same"
}
# the paired rows over the seeds with runs in a sweep.csv
paired_rows() { awk -F, '$1 == "\"paired\"" && $4 == "\"\"" && $7 > 0' "$1" | wc -l; }

# a sweep over seed: one group of three runs
w="$work/seeds"
# shellcheck disable=SC2086
"$PDIFF" sweep seed=1,2,3 $tiny --session "$w" > "$work/seeds.txt" 2> "$work/seeds.err"; ok $? "sweep seed=1,2,3 exits 0"
check "one session per seed" sh -c "test -s '$w/seed-1/summary.csv' && test -s '$w/seed-2/summary.csv' && test -s '$w/seed-3/summary.csv'"
check "the seeds do not share (three train stages)" test "$(starts "$work/seeds.err" train)" -eq 3
check "sweep_index.csv: key,value,seed,session" sh -c "
  test \"\$(head -n 1 '$w/sweep_index.csv' | tr -d '\"')\" = key,value,seed,session && grep -q '^\"seed\",\"2\",\"2\",\"seed-2\"\$' '$w/sweep_index.csv'"
check "text: each run and the mean ± 95% CI" sh -c "grep -q 'Runs over 3 seeds' '$work/seeds.txt' && grep -q 'mean ± 95% CI' '$work/seeds.txt'"
check "text: p-diff and original best with mean ± CI" sh -c "
  grep -Eq '^  pdiff +best +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ ± [0-9.]+\$' '$work/seeds.txt' &&
  grep -Eq '^  original +best +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ ± [0-9.]+\$' '$work/seeds.txt'"
check "text: the baselines too (averaged, gaussian, noise, fine-tuned)" sh -c "
  for k in averaged gaussian noise_0.01 finetune ensemble ae_recon; do grep -Eq \"^  \$k +[a-z_]+ .* ± \" '$work/seeds.txt' || exit 1; done"
check "sweep.csv: tidy header and 10 fields per row" sh -c "
  test \"\$(head -n 1 '$w/sweep.csv' | tr -d '\"')\" = table,key,value,seed,kind,metric,n,mean,sd,ci95 &&
  awk -F, 'NF != 10 {bad=1} END {exit bad}' '$w/sweep.csv'"
# the group's row of a metric agrees with its three runs: mean and t(2) sd / sqrt(3)
agree() {
    awk -F, -v k="\"$1\"" -v m="\"$2\"" '
      $1 == "\"sweep\"" && $5 == k && $6 == m && $4 != "\"\"" { x[++r] = $8 }
      $1 == "\"sweep\"" && $5 == k && $6 == m && $4 == "\"\"" && $3 == "\"all\"" { n = $7; mean = $8; ci = $10 }
      END { if (r != 3 || n != 3) exit 1; s = (x[1] + x[2] + x[3]) / 3; v = 0; for (i = 1; i <= 3; i++) v += (x[i] - s)^2
            h = 4.302652730 * sqrt(v / 2) / sqrt(3); d1 = s - mean; d2 = h - ci
            exit !(d1 * d1 < 1e-14 && d2 * d2 < 1e-14) }' "$w/sweep.csv"
}
check "csv: p-diff best over the seeds = mean and t interval of its runs" agree pdiff best
check "csv: original mean over the seeds = mean and t interval of its runs" agree original mean
check "csv: seconds in the cost table" grep -q '^"sweep_cost","seed","all","","","seconds_train",3,' "$w/sweep.csv"
check "text: the paired table, each kind - original per seed and the mean ± CI" sh -c "
  grep -q 'Paired differences within each of 3 runs' '$work/seeds.txt' &&
  grep -Eq '^  pdiff-original +mean +-?[0-9.]+ +-?[0-9.]+ +-?[0-9.]+ +-?[0-9.]+ ± [0-9.]+\$' '$work/seeds.txt' &&
  ! grep -q 'task-original' '$work/seeds.txt'"
check "csv: paired rows per seed (n 1) and over the seeds (value all)" sh -c "
  grep -q '^\"paired\",\"seed\",\"2\",\"2\",\"gaussian-original\",\"novelty\",1,' '$w/sweep.csv' &&
  grep -q '^\"paired\",\"seed\",\"all\",\"\",\"pdiff-original\",\"mean\",3,' '$w/sweep.csv'"
same=$(paired_all "$w/sweep.csv" all "" "" 2>"$work/paired-seeds.txt"); rows=$(paired_rows "$w/sweep.csv")
cat "$work/paired-seeds.txt"
check "csv: all $rows paired rows equal tools/paired_diff.awk's ($same agree)" test "$same" -eq "$rows" -a "$rows" -ge 25
check "sweep.tex: booktabs with \$mean \\pm ci\$ cells" sh -c "grep -q toprule '$w/sweep.tex' && grep -q bottomrule '$w/sweep.tex' &&
  grep -Eq '^pdiff & best & .*\\\$[0-9.]+ \\\\pm [0-9.]+\\\$ \\\\\\\\\$' '$w/sweep.tex' &&
  test \$(grep -c '\\\\begin{tabular}' '$w/sweep.tex') -eq \$(grep -c '\\\\end{tabular}' '$w/sweep.tex')"

# --seeds 2 over latent_noise: four sessions, train and collect once per seed
w="$work/ln"
# shellcheck disable=SC2086
"$PDIFF" sweep latent_noise=0,0.1 --seeds 2 $tiny --session "$w" --format latex > "$work/ln.tex" 2> "$work/ln.err"
ok $? "sweep latent_noise=0,0.1 --seeds 2 exits 0"
for s in latent_noise-0-seed-1 latent_noise-0-seed-2 latent_noise-0.1-seed-1 latent_noise-0.1-seed-2; do
    check "session $s is complete" test -s "$w/$s/summary.csv"
    check "session $s reports on its own" "$PDIFF" report "$w/$s"
    check "session $s resumes (nothing left to do)" "$PDIFF" resume "$w/$s" --quiet
done
check "sweep_index.csv: 4 runs, seeds 1 and 2" sh -c "test \$(wc -l < '$w/sweep_index.csv') -eq 5 &&
  grep -q '^\"latent_noise\",\"0.1\",\"2\",\"latent_noise-0.1-seed-2\"\$' '$w/sweep_index.csv'"
check "train ran once per seed (2 of 4 sessions)" test "$(starts "$work/ln.err" train)" -eq 2
check "collect ran once per seed" test "$(starts "$work/ln.err" collect)" -eq 2
check "the AE ran in every session" test "$(starts "$work/ln.err" ae)" -eq 4
check "the second value of a seed took its task model and checkpoints" sh -c "
  cmp -s '$w/latent_noise-0-seed-2/state/task.bin' '$w/latent_noise-0.1-seed-2/state/task.bin' &&
  cmp -s '$w/latent_noise-0-seed-2/state/collect.bin' '$w/latent_noise-0.1-seed-2/state/collect.bin'"
check "the seeds differ" sh -c "! cmp -s '$w/latent_noise-0-seed-1/state/task.bin' '$w/latent_noise-0-seed-2/state/task.bin'"
# the originals and the comparison models are the first session's vectors: their evaluations are taken, not redone
check "the second value of a seed reuses the first's evaluations (state/reuse.bin, the log says so)" sh -c "
  cmp -s '$w/latent_noise-0-seed-1/state/models.bin' '$w/latent_noise-0.1-seed-1/state/reuse.bin' &&
  test \$(grep -c 'reusing the evaluations' '$work/ln.err') -eq 2"
# a value that shares stands for its own run: the second value of seed 2 run alone with its settings (at one
# thread) ends with the same results as its sweep session, whose AE and DDPM trained beside the first value's
# shellcheck disable=SC2086
"$PDIFF" run $tiny --set latent_noise=0.1 --set seed=2 --set threads=1 --session "$work/alone" --quiet 2> "$work/alone.err"
ok $? "latent_noise=0.1 seed 2 run alone exits 0"
same_results "$w/latent_noise-0.1-seed-2" "$work/alone"; ok $? "... with the results of its sweep session"
check "the values of a seed trained their AE and DDPM side by side (the log says so)" \
    test "$(grep -c "own stages (ae ddpm) side by side on 2 threads" "$work/ln.err")" -eq 2
# a third seed added to the finished sweep: only its two runs run, and the tables have 3 runs per value
w3="$work/ln3dir"; cp -R "$w" "$w3" # a copy: the checks below read the 2-seed sweep
for s in latent_noise-0-seed-1 latent_noise-0.1-seed-2; do cp "$w3/$s/run.log" "$work/$s.log"; done
# shellcheck disable=SC2086
"$PDIFF" sweep latent_noise=0,0.1 --seeds 3 $tiny --session "$w3" --format csv > "$work/ln3.csv" 2> "$work/ln3.err"
ok $? "the same sweep with --seeds 3 in its folder exits 0"
check "... runs only seed 3: train once, the AE twice, the seeds 1 and 2 sessions untouched" sh -c "
  test $(starts "$work/ln3.err" train) -eq 1 && test $(starts "$work/ln3.err" ae) -eq 2 &&
  cmp -s '$work/latent_noise-0-seed-1.log' '$w3/latent_noise-0-seed-1/run.log' &&
  cmp -s '$work/latent_noise-0.1-seed-2.log' '$w3/latent_noise-0.1-seed-2/run.log' && test -s '$w3/latent_noise-0.1-seed-3/summary.csv'"
check "... sweep_index.csv lists 6 runs and the tables' means are over 3 seeds" sh -c "
  test \$(wc -l < '$w3/sweep_index.csv') -eq 7 &&
  grep -q '^\"sweep\",\"latent_noise\",\"0.1\",\"\",\"pdiff\",\"best\",3,' '$work/ln3.csv'"
# beyond 8 threads too (a run's results do not depend on the thread count): 12 threads, 6 for each value
# shellcheck disable=SC2086
"$PDIFF" sweep latent_noise=0,0.1 $tiny --set seed=2 --set threads=12 --session "$work/ln12" \
    2> "$work/ln12.err"
ok $? "sweep latent_noise=0,0.1 at threads=12 exits 0"
check "... its values trained side by side on 12 threads" grep -q "side by side on 12 threads" "$work/ln12.err"
same_results "$work/ln12/latent_noise-0.1" "$work/alone"; ok $? "... with the results of the one-thread run alone"
same_models=0
for kind in original averaged gaussian finetune; do # the models.csv rows of each kind, without their ids
    for v in 0 0.1; do
        awk -F, -v k="\"$kind\"" '$2 == k { $1 = ""; print }' "$w/latent_noise-$v-seed-1/models.csv" > "$work/models-$v"
    done
    { test -s "$work/models-0" && cmp -s "$work/models-0" "$work/models-0.1"; } || same_models=1
done
ok $same_models "reused: originals, averaged, gaussian and fine-tuned models identical to the first value's"
check "latex on stdout: mean ± CI over 2 seeds per value" sh -c "grep -q 'over 2 seeds per value' '$work/ln.tex' &&
  grep -Eq '^pdiff & best & \\\$[0-9.]+ \\\\pm [0-9.]+\\\$ & \\\$[0-9.]+ \\\\pm [0-9.]+\\\$ ' '$work/ln.tex'"
check "sweep.csv: per value and metric a row over 2 seeds" \
    grep -q '^"sweep","latent_noise","0.1","","pdiff","best",2,' "$w/sweep.csv"
check "latex: the paired table, kind - original and pdiff - pdiff at the first value" sh -c "
  grep -q 'label{tab:sweep_paired}' '$work/ln.tex' &&
  grep -Eq '^pdiff-original & mean & \\\$-?[0-9.]+ \\\\pm [0-9.]+\\\$ & \\\$-?[0-9.]+ \\\\pm [0-9.]+\\\$ ' '$work/ln.tex' &&
  grep -Eq '^pdiff-pdiff@0 & mean & -- & \\\$-?[0-9.]+ \\\\pm [0-9.]+\\\$ ' '$work/ln.tex'"
same=0; for v in 0 0.1; do
    first=0; [ "$v" = 0 ] && first=""
    same=$((same + $(paired_all "$w/sweep.csv" "$v" "@$v" "$first" 2>>"$work/paired-ln.txt")))
done
rows=$(paired_rows "$w/sweep.csv"); cat "$work/paired-ln.txt"
check "sweep.csv: all $rows paired rows equal tools/paired_diff.awk's, pdiff@0.1 - pdiff@0 too ($same agree)" \
    test "$same" -eq "$rows" -a "$rows" -ge 55 -a "$(grep -c '"pdiff@0.1-pdiff@0"' "$w/sweep.csv")" -ge 9

# a sweep over gen_seed shares train and collect
w="$work/gen"
# shellcheck disable=SC2086
"$PDIFF" sweep gen_seed=5,6 $tiny --session "$w" --format csv > "$work/gen.csv" 2> "$work/gen.err"
ok $? "sweep gen_seed=5,6 exits 0"
check "gen_seed: train and collect ran once, the AE twice" sh -c "
  test $(starts "$work/gen.err" train) -eq 1 && test $(starts "$work/gen.err" collect) -eq 1 && test $(starts "$work/gen.err" ae) -eq 2"
check "gen_seed: the checkpoints are shared" cmp -s "$w/gen_seed-5/state/collect.bin" "$w/gen_seed-6/state/collect.bin"
check "gen_seed: the AEs differ" sh -c "! cmp -s '$w/gen_seed-5/state/ae.bin' '$w/gen_seed-6/state/ae.bin'"
check "csv on stdout: one run per value" sh -c "grep -q '^\"sweep\",\"gen_seed\",\"6\",\"1\",\"pdiff\",\"best\",1,' '$work/gen.csv' &&
  grep -q '^\"sweep\",\"gen_seed\",\"6\",\"\",\"pdiff\",\"best\",1,' '$work/gen.csv'"

# k with k_span > 0: k changes the collection, only train is shared
w="$work/kspan"
# shellcheck disable=SC2086
"$PDIFF" sweep k=4,8 $tiny --set k_span=16 --session "$w" > /dev/null 2> "$work/kspan.err"; ok $? "sweep k=4,8 with k_span=16 exits 0"
check "k with k_span: train once, collect for every k" sh -c "
  test $(starts "$work/kspan.err" train) -eq 1 && test $(starts "$work/kspan.err" collect) -eq 2"
check "k with k_span: the k = 4 checkpoints are not the first 4 of k = 8" sh -c "
  head -n 5 '$w/k-8/params.csv' > '$work/k8.head' && ! cmp -s '$work/k8.head' '$w/k-4/params.csv'"

# bad --seeds: exit 2, one line, nothing made
expect_usage() { # DESCRIPTION PATTERN -- ARGS...
    desc=$1 pat=$2; shift 3
    rm -rf "$work/bad"
    "$PDIFF" sweep "$@" --session "$work/bad" > /dev/null 2> "$work/err.txt"; got=$?
    if [ "$got" -eq 2 ] && grep -q -- "$pat" "$work/err.txt" && [ "$(wc -l < "$work/err.txt")" -eq 1 ] && [ ! -e "$work/bad" ]; then
        ok 0 "$desc"
    else ok 1 "$desc (status $got: $(head -c 200 "$work/err.txt"))"; fi
}
for bad in 0 -1 33 abc 2x ""; do
    expect_usage "--seeds '$bad' is refused" "--seeds" -- latent_noise=0,0.1 --seeds "$bad"
done
expect_usage "--seeds on a sweep over seed is refused" "seed" -- seed=1,2 --seeds 2
expect_usage "--seeds without a value is refused" "seeds" -- latent_noise=0,0.1 --seeds

# --dry-run: the plan without running it: per run where it starts, what it reuses and its estimated time
dry="$work/dry"
rm -rf "$dry"
# shellcheck disable=SC2086
"$PDIFF" sweep latent_noise=0,0.1 --seeds 2 $tiny --session "$dry" --dry-run > "$work/dry.txt" 2> "$work/dry.err"
ok $? "sweep --dry-run exits 0"
check "... and runs nothing (no sweep folder, nothing on stderr)" sh -c "test ! -e '$dry' && test ! -s '$work/dry.err'"
check "... 4 runs, in the order they run" sh -c "grep -q '4 runs (2 values x 2 seeds)' '$work/dry.txt' &&
  test \"\$(grep -o '^latent_noise-[0-9.]*-seed-[12]' '$work/dry.txt' | tr '\n' ' ')\" = \
  'latent_noise-0-seed-1 latent_noise-0.1-seed-1 latent_noise-0-seed-2 latent_noise-0.1-seed-2 '"
check "... the first value of a seed starts at train, the other at ae" sh -c "
  grep -Eq '^latent_noise-0-seed-2 +train ' '$work/dry.txt' && grep -Eq '^latent_noise-0.1-seed-2 +ae ' '$work/dry.txt'"
# tiny: K = 10, the ensemble, 2 reconstructions, 6 samples; analyze: 2 noise, 2 fine-tuned, averaged, gaussian
check "... the other takes the originals', the ensemble's and the comparison models' evaluations" \
    grep -Eq '^latent_noise-0.1-seed-1 +ae +8 \([0-9]+ reused\)' "$work/dry.txt"
check "... and a total" grep -q '^total, one run after the other' "$work/dry.txt"
# the 4 runs as separate runs: 2 plans of each value; the sweep's share of it (< 100 %: 2 runs share train and collect)
check "... against the same runs as separate runs, with the sweep's share" sh -c "
  line=\$(grep '^as 4 separate runs (nothing shared): the sweep is [0-9]* % of it ' '$work/dry.txt') &&
  pct=\$(echo \"\$line\" | sed 's/.* the sweep is \\([0-9]*\\) % .*/\\1/') && test \"\$pct\" -gt 0 && test \"\$pct\" -lt 100"
# shellcheck disable=SC2086
"$PDIFF" sweep seed=1,2 $tiny --dry-run > "$work/dry-seed.txt"
ok $? "sweep seed=1,2 --dry-run exits 0"
check "... measured once for both values" grep -q 'once for all values (seed changes no size or unit of work)' \
    "$work/dry-seed.txt"
check "... a latent_noise sweep too" grep -q 'once for all values (latent_noise changes no size' "$work/dry.txt"
check "... both runs start at train, with the same estimate" sh -c "
  a=\$(sed -n 's/^seed-1 .* //p' '$work/dry-seed.txt'); b=\$(sed -n 's/^seed-2 .* //p' '$work/dry-seed.txt')
  test -n \"\$a\" && test \"\$a\" = \"\$b\" && test \$(grep -Ec '^seed-[12] +train ' '$work/dry-seed.txt') -eq 2"
# shellcheck disable=SC2086
"$PDIFF" sweep ae_steps=50,100 $tiny --dry-run > "$work/dry-steps.txt"
check "sweep ae_steps=50,100 --dry-run measures once per value" sh -c "
  grep -q ', once per value\.' '$work/dry-steps.txt' && grep -Eq '^ae_steps-50 +train ' '$work/dry-steps.txt' &&
  grep -Eq '^ae_steps-100 +ae ' '$work/dry-steps.txt'"
# shellcheck disable=SC2086
"$PDIFF" sweep target=fc3,nothing $tiny --dry-run > /dev/null 2> "$work/dry-bad.err"
rc=$?
check "--dry-run with a value that cannot run: exit 1 (got $rc), one line naming the value" sh -c "test $rc -eq 1 &&
  test \$(wc -l < '$work/dry-bad.err') -eq 1 && grep -q 'sweep target=nothing: ' '$work/dry-bad.err'"
check "--dry-run of sweep is in --help" sh -c "'$PDIFF' --help | grep -A4 '^  sweep' | grep -q -- '--dry-run'"

# a stopped sweep continues: the same command again skips what finished, resumes the rest from its checkpoints,
# does not redo the shared stages, and ends with the files of an uninterrupted sweep
ct="$tiny --set ae_steps=400 --set ddpm_steps=400"
# shellcheck disable=SC2086
"$PDIFF" sweep latent_noise=0,0.1 $ct --session "$work/cref" --quiet > /dev/null; ok $? "uninterrupted sweep (400 steps)"
same_tables() { grep -v '"seconds_' "$1/sweep.csv" > "$work/t1.csv"; grep -v '"seconds_' "$2/sweep.csv" > "$work/t2.csv"
    cmp -s "$work/t1.csv" "$work/t2.csv"; }
for threads in 2 1; do
    c="$work/cstop$threads"
    # shellcheck disable=SC2086
    "$PDIFF" sweep latent_noise=0,0.1 $ct --set threads=$threads --session "$c" > /dev/null 2> "$work/c1.err" &
    pid=$!
    if [ $threads -eq 2 ]; then wait_until "grep -q -E '^ae +[1-9][0-9]*%' '$work/c1.err'" # side by side: both in ae
    else wait_until "test -e '$c/latent_noise-0.1/state/ae.bin'"; fi                     # the first value done
    kill -INT $pid; wait $pid; rc=$?
    check "threads=$threads: Ctrl-C in the sweep exits 130 (got $rc) saying the same command continues it" sh -c "
      test $rc -eq 130 && grep -q 'the sweep keeps every run up to that point: the same command with --session .* continues it' '$work/c1.err'"
    # shellcheck disable=SC2086
    "$PDIFF" sweep latent_noise=0,0.1 $ct --set threads=$threads --session "$c" > "$work/c$threads.out" 2> "$work/c2.err"
    ok $? "threads=$threads: the same command again finishes the sweep"
    check "... continuing: train and collect not redone, the stage it stopped in resumed" sh -c "
      grep -q 'continuing it (its finished runs are kept)' '$work/c2.err' && ! grep -q 'stage train: start' '$work/c2.err' &&
      grep -Eq '(ae|ddpm): resuming after step' '$work/c2.err'"
    for v in 0 0.1; do
        same_results "$work/cref/latent_noise-$v" "$c/latent_noise-$v"
        ok $? "... latent_noise-$v has every result file of the uninterrupted sweep, losses.csv included"
    done
    check "... and the sweep the same tables (timings apart)" same_tables "$work/cref" "$c"
done
c="$work/cstop2"
cp "$c/latent_noise-0/run.log" "$work/run0.log"; cp "$c/latent_noise-0.1/run.log" "$work/run1.log"
# shellcheck disable=SC2086
"$PDIFF" sweep latent_noise=0,0.1 $ct --session "$c" --quiet > "$work/c3.out"; ok $? "a finished sweep run again exits 0"
check "... runs nothing (both run.log unchanged) and prints the same tables" sh -c "
  cmp -s '$work/run0.log' '$c/latent_noise-0/run.log' && cmp -s '$work/run1.log' '$c/latent_noise-0.1/run.log' &&
  cmp -s '$work/c2.out' '$work/c3.out'"
"$PDIFF" report "$c" > "$work/rep.txt"; ok $? "report on the sweep's folder exits 0"
check "... with the tables the sweep printed" cmp -s "$work/c2.out" "$work/rep.txt"
check "... --format csv is its sweep.csv, --format latex its sweep.tex" sh -c "
  '$PDIFF' report '$c' --format csv | cmp -s - '$c/sweep.csv' && '$PDIFF' report '$c' --format latex | cmp -s - '$c/sweep.tex'"
mkdir -p "$work/partial"; cp "$c/sweep_index.csv" "$work/partial/"; cp -r "$c/latent_noise-0" "$work/partial/"
"$PDIFF" report "$work/partial" > "$work/part.txt" 2> "$work/part.err"; rc=$?
check "report on a sweep with a run not yet made: exit 0 (got $rc), one line naming it, the other's column" sh -c "
  test $rc -eq 0 && test \$(grep -c '^pdiff' '$work/part.err') -eq 1 &&
  grep -q 'partial: 1 of the sweep.s 2 runs have no results yet (latent_noise-0.1): the tables show the others' '$work/part.err' &&
  test \"\$(grep -E '^  pdiff +best ' '$work/part.txt' | awk '{print \$3, \$4}')\" = \"\$(grep -E '^  pdiff +best ' '$work/rep.txt' | awk '{print \$3}') -\""
mkdir -p "$work/none"; cp "$c/sweep_index.csv" "$work/none/"
refused 1 "none: none of the sweep's 2 runs has results yet" "report on a sweep without results: one line, exit 1" \
    "$PDIFF" report "$work/none"
refused 1 "not a session folder (no config.csv) nor a sweep's (no sweep_index.csv)" \
    "report on a folder that is neither: one line, exit 1" "$PDIFF" report "$work/data"
cp "$c/sweep_index.csv" "$work/index.before"
# shellcheck disable=SC2086
refused 1 "sweep_index.csv: the folder holds another sweep" "another sweep in the folder: one line, exit 1" \
    "$PDIFF" sweep latent_noise=0,0.2 $ct --session "$c"
# shellcheck disable=SC2086
refused 1 "latent_noise-0: ran with ae_steps '400', this sweep has '500'" \
    "the same sweep with another setting: one line naming the session and the setting, exit 1" \
    "$PDIFF" sweep latent_noise=0,0.1 $ct --set ae_steps=500 --session "$c"
check "... and neither touched the folder" sh -c "cmp -s '$work/index.before' '$c/sweep_index.csv' &&
  test ! -e '$c/latent_noise-0.2' && cmp -s '$work/run0.log' '$c/latent_noise-0/run.log'"

echo "1..$n"
[ "$failed" -eq 0 ]
