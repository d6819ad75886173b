#!/bin/sh
# pipeline.sh — the whole p-diff pipeline end to end on a generated data set, in seconds: every session file
# and column, report formats, resume after an interrupted stage (same numbers as an uninterrupted run), Ctrl-C and
# kill -9 in train, collect and ddpm resumed to the same files, a test set other than generate's refused with
# config.csv kept, state files with values out of range (tests/state_edit) refused, divergence and NaN results
# refused or warned about, a corrupted state file refused, and a sweep. TAP output.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}"
work="$top_builddir/tests/work/pipeline"
rm -rf "$work"; mkdir -p "$work/data"
n=0; failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
check() { desc=$1; shift; if "$@" >/dev/null 2>&1; then ok 0 "$desc"; else ok 1 "$desc"; fi; }
"$top_builddir/tests/gen_idx" "$work/data" 1500 400 10 || { echo "Bail out! gen_idx failed"; exit 1; }

tiny="--set dataset=idx:$work/data --set arch=mlp --set epochs=2 --set k=20 --set save_every=1 --set ae_steps=80
 --set ddpm_steps=80 --set n_generate=8 --set n_recon=2 --set timesteps=60 --set ddpm_channels=8,8,8,8
 --set n_noise=2 --set noise_sigmas=0.01,0.1 --set n_finetune=2 --set finetune_steps=3 --set threads=2"
s="$work/full"
# shellcheck disable=SC2086
"$PDIFF" run --session "$s" $tiny --quiet 2> "$work/full.err"; ok $? "full pipeline run exits 0"
for f in config.csv losses.csv params.csv models.csv similarity.csv latents.csv summary.csv state/task.bin \
    state/collect.bin state/ae.bin state/ddpm.bin state/models.bin state/stages.bin; do
    check "session has $f" test -s "$s/$f"
done
check "no temporary files left" sh -c "! ls -aR '$s' | grep -q '\.tmp\.'"
hdr() { head -n 1 "$s/$1" | tr -d '"'; }
check "losses.csv columns" test "$(hdr losses.csv)" = "stage,step,loss,accuracy"
for st in task collect ae ddpm; do check "losses.csv has $st points" grep -q "^\"$st\"," "$s/losses.csv"; done
check "params.csv: id,v0..v1289 and 20 rows" sh -c "head -n 1 '$s/params.csv' | tr -d '\"' | grep -q '^id,v0,v1,.*,v1289\$' && test \$(wc -l < '$s/params.csv') -eq 21"
check "models.csv columns" test "$(hdr models.csv)" = "id,kind,accuracy,loss,max_iou,nearest_id,nearest_l2"
for kind in original ensemble ae_recon pdiff noise:0.01 noise:0.1 finetune averaged gaussian; do
    check "models.csv has kind $kind" grep -q ",\"$kind\"," "$s/models.csv"
done
check "models.csv: 20 originals, 8 p-diff, 100 averaged, 100 gaussian" sh -c "
  test \$(grep -c ',\"original\",' '$s/models.csv') -eq 20 && test \$(grep -c ',\"pdiff\",' '$s/models.csv') -eq 8 &&
  test \$(grep -c ',\"averaged\",' '$s/models.csv') -eq 100 && test \$(grep -c ',\"gaussian\",' '$s/models.csv') -eq 100"
check "every p-diff row has max_iou, nearest_id and nearest_l2" sh -c "
  ! grep ',\"pdiff\",' '$s/models.csv' | awk -F, '\$5 == \"\" || \$6 == \"\" || \$7 == \"\" {bad=1} END {exit !bad}'"
check "accuracies are fractions in [0, 1]" sh -c "awk -F, 'NR > 1 && (\$3 < 0 || \$3 > 1) {bad=1} END {exit bad}' '$s/models.csv'"
check "similarity.csv: a,b,iou with 8x20 + 20x19/2 = 350 pairs" sh -c "
  test \"\$(head -n 1 '$s/similarity.csv' | tr -d '\"')\" = a,b,iou && test \$(wc -l < '$s/similarity.csv') -eq 351"
check "latents.csv: id,kind,tsne_x,tsne_y for originals, p-diff and noise models (32 rows)" sh -c "
  test \"\$(head -n 1 '$s/latents.csv' | tr -d '\"')\" = id,kind,tsne_x,tsne_y && test \$(wc -l < '$s/latents.csv') -eq 33"
for m in task_accuracy original_best original_mean original_median ensemble pdiff_best pdiff_mean pdiff_median \
    ae_recon_best novelty seconds_train seconds_collect seconds_ae seconds_ddpm seconds_generate seconds_analyze \
    pdiff_max_iou_mean gaussian_best averaged_best; do
    check "summary.csv has $m" grep -q "^\"$m\",[0-9.e+-]" "$s/summary.csv"
done
check "config.csv records the resolved target and d" sh -c "grep -q '^\"target_tensors\",\"fc3.weight,fc3.bias\"' '$s/config.csv' && grep -q '^\"target_d\",\"1290\"' '$s/config.csv'"
check "config.csv records standardize" grep -q '^"standardize",' "$s/config.csv"

# report formats
"$PDIFF" report "$s" > "$work/report.txt"; ok $? "report (text) exits 0"
check "text report has the accuracy and memorization tables" sh -c "grep -q 'p-diff' '$work/report.txt' && grep -q 'Memorization' '$work/report.txt' && grep -q 'Novelty' '$work/report.txt'"
"$PDIFF" report "$s" --format csv > "$work/report.csv"; ok $? "report --format csv exits 0"
check "CSV report: tidy table,kind,metric,value rows of 4 fields" sh -c "
  test \"\$(head -n 1 '$work/report.csv' | tr -d '\"')\" = table,kind,metric,value &&
  awk -F, 'NF != 4 {bad=1} END {exit bad}' '$work/report.csv' && grep -q '\"memorization\",\"p-diff\",\"acc best\",' '$work/report.csv'"
"$PDIFF" report "$s" --format latex > "$work/report.tex"; ok $? "report --format latex exits 0"
check "LaTeX report: balanced environments" sh -c "
  test \$(grep -c '\\\\begin{' '$work/report.tex') -eq \$(grep -c '\\\\end{' '$work/report.tex') &&
  test \$(grep -c '\\\\begin{tabular}' '$work/report.tex') -ge 3"
check "LaTeX report: every row has the tabular's column count" sh -c "awk '
  /\\\\begin{tabular}/ { spec = \$0; sub(/.*\\\\begin{tabular}{/, \"\", spec); sub(/}.*/, \"\", spec); cols = length(spec); next }
  /\\\\\\\\\$/ { c = gsub(/ & /, \"&\") + 1; if (c != cols) bad = 1 }
  END { exit bad }' '$work/report.tex'"
check "LaTeX memorization table rows" sh -c "for r in original ensemble p-diff 'noise (sigma 0.01)' 'noise (sigma 0.1)' fine-tuned averaged gaussian; do grep -q \"^\$r &\" '$work/report.tex' || exit 1; done"
expect_fail() { # STATUS PATTERN DESCRIPTION -- command
    want=$1 pat=$2 desc=$3; shift 4
    "$@" > /dev/null 2> "$work/err.txt"; got=$?
    if [ "$got" -eq "$want" ] && grep -q -- "$pat" "$work/err.txt" && [ "$(wc -l < "$work/err.txt")" -eq 1 ]; then ok 0 "$desc"
    else ok 1 "$desc (status $got: $(head -c 200 "$work/err.txt"))"; fi
}
expect_fail 2 "format" "report with an unknown format is a usage error" -- "$PDIFF" report "$s" --format pdf
expect_fail 1 "nowhere" "report of a missing session names it" -- "$PDIFF" report "$work/nowhere"

# resume: stop after the AE stage, resume, same numbers as the uninterrupted run
r="$work/resumed"
# shellcheck disable=SC2086
"$PDIFF" run --session "$r" $tiny --stages train,collect,ae --quiet; ok $? "run --stages train,collect,ae"
check "after the ae stage there is no ddpm state yet" test ! -e "$r/state/ddpm.bin"
"$PDIFF" resume "$r" --quiet; ok $? "resume finishes the session"
strip() { grep -v '^"seconds_' "$1"; }
check "resumed summary equals the uninterrupted run's" sh -c "test \"\$(grep -v '^\"seconds_' '$s/summary.csv')\" = \"\$(grep -v '^\"seconds_' '$r/summary.csv')\""
check "resumed models.csv equals the uninterrupted run's" cmp -s "$s/models.csv" "$r/models.csv"

# interrupt during DDPM training (Ctrl-C), then resume
i="$work/interrupted"
# shellcheck disable=SC2086
"$PDIFF" run --session "$i" $tiny --set ddpm_steps=20000 > /dev/null 2> "$work/int.err" &
pid=$!
t=0; while [ $t -lt 600 ] && ! grep -q 'stage ddpm: start' "$work/int.err" 2>/dev/null; do sleep 0.1; t=$((t + 1)); done
sleep 0.5; kill -INT $pid; wait $pid; rc=$?
ok $([ $rc -eq 130 ] && echo 0 || echo 1) "Ctrl-C during ddpm exits 130 (got $rc)"
check "the interrupted run says it saved" grep -q 'saved' "$work/int.err"
step=$(awk -F, '$1 == "\"ddpm\"" {s = $2} END {print s + 0}' "$i/losses.csv")
check "losses.csv kept the ddpm points so far ($step steps)" test "$step" -gt 0
"$PDIFF" resume "$i" --set ddpm_steps=20000 --quiet > /dev/null 2> "$work/resume.err" &
pid=$!
sleep 1; kill -INT $pid; wait $pid
"$PDIFF" resume "$i" --set ddpm_steps=20000 --quiet 2> "$work/resume.err"; ok $? "resume after Ctrl-C finishes the run"
check "resumed run wrote the results" test -s "$i/models.csv"
check "the ddpm loss curve reaches the last step" sh -c "grep -q '^\"ddpm\",20000,' '$i/losses.csv'"

# Ctrl-C and kill -9 during every training stage, then resume: the same files as an uninterrupted run, loss
# curve included (train and collect checkpoint like ae and ddpm; losses.csv is written with every checkpoint)
long="$tiny --set epochs=60 --set save_every=40 --set ddpm_steps=500"
u="$work/long"
# shellcheck disable=SC2086
"$PDIFF" run --session "$u" $long --quiet; ok $? "uninterrupted longer run"
same_as_long() { # SESSION DESCRIPTION
    bad=""
    for f in config.csv losses.csv params.csv models.csv similarity.csv latents.csv state/task.bin \
        state/collect.bin state/ae.bin state/ddpm.bin state/models.bin state/stages.bin; do
        cmp -s "$u/$f" "$1/$f" || bad="$bad $f"
    done
    [ "$(grep -v '^"seconds_' "$u/summary.csv")" = "$(grep -v '^"seconds_' "$1/summary.csv")" ] || bad="$bad summary.csv"
    ls "$1/state" | grep -q ckpt && bad="$bad $(ls "$1/state" | grep ckpt)"
    ok "$([ -z "$bad" ] && echo 0 || echo 1)" "$2${bad:+ (differ:$bad)}"
}
wait_for() { # SHELL-CONDITION: up to 60 s
    t=0; while [ $t -lt 1200 ] && ! eval "$1"; do sleep 0.05; t=$((t + 1)); done
}
c="$work/ctrlc"
# shellcheck disable=SC2086
"$PDIFF" run --session "$c" $long > /dev/null 2> "$work/c1.err" &
pid=$!
wait_for "grep -q 'stage train: start' '$work/c1.err'"; sleep 0.3; kill -INT $pid; wait $pid; rc=$?
check "Ctrl-C during train exits 130 and saves (rc $rc)" sh -c "[ $rc -eq 130 ] && grep -q 'task training stopped after step [0-9]* of 720 (saved)' '$work/c1.err'"
check "the train checkpoint is there" test -s "$c/state/train_ckpt.bin"
"$PDIFF" resume "$c" > /dev/null 2> "$work/c2.err" &
pid=$!
wait_for "grep -q 'stage collect: start' '$work/c2.err'"; sleep 0.1; kill -INT $pid; wait $pid; rc=$?
check "resume continues train from its checkpoint" grep -q 'train: resuming after step' "$work/c2.err"
check "Ctrl-C during collect exits 130 and saves (rc $rc)" sh -c "[ $rc -eq 130 ] && grep -q 'collect stopped after iteration [0-9]* of 800 (saved)' '$work/c2.err'"
"$PDIFF" resume "$c" > /dev/null 2> "$work/c3.err"; ok $? "resume after Ctrl-C in collect finishes"
check "resume continues collect from its checkpoint" grep -q 'collect: resuming after iteration' "$work/c3.err"
same_as_long "$c" "Ctrl-C in train and in collect, resumed: every file equals the uninterrupted run's"
k="$work/killed"
# shellcheck disable=SC2086
"$PDIFF" run --session "$k" $long --quiet 2> /dev/null &
pid=$!
wait_for "test -e '$k/state/train_ckpt.bin'"; kill -9 $pid; wait $pid 2> /dev/null
check "kill -9 in train leaves its periodic checkpoint" test -e "$k/state/train_ckpt.bin"
"$PDIFF" resume "$k" --quiet 2> /dev/null &
pid=$!
wait_for "test -e '$k/state/collect_ckpt.bin'"; kill -9 $pid; wait $pid 2> /dev/null
check "kill -9 in collect leaves its periodic checkpoint" test -e "$k/state/collect_ckpt.bin"
"$PDIFF" resume "$k" --quiet 2> /dev/null &
pid=$!
wait_for "test -e '$k/state/ddpm.bin'"; kill -9 $pid; wait $pid 2> /dev/null
check "losses.csv has the ddpm points up to the killed run's checkpoint" sh -c "grep -q '^\"ddpm\",50,' '$k/losses.csv'"
"$PDIFF" resume "$k" --quiet; ok $? "resume after kill -9 in train, collect and ddpm finishes"
same_as_long "$k" "killed three times, resumed: every file equals the uninterrupted run's, losses.csv included"

# analyze against another test set is refused, config.csv stays, and resume still works
mkdir -p "$work/data800" "$work/data12"
"$top_builddir/tests/gen_idx" "$work/data800" 1500 800 10 > /dev/null
"$top_builddir/tests/gen_idx" "$work/data12" 1500 400 12 > /dev/null
a="$work/other_data"
cp -r "$s" "$a"; cp "$a/config.csv" "$work/config.before"
expect_fail 1 "800" "analyze with 800 test images instead of 400 is refused" -- \
    "$PDIFF" run --session "$a" --stages analyze --set "dataset=idx:$work/data800" --quiet
check "the refused run left config.csv as it was" cmp -s "$a/config.csv" "$work/config.before"
expect_fail 1 "12x12 images" "analyze with images of another size is refused" -- \
    "$PDIFF" run --session "$a" --stages analyze --set "dataset=idx:$work/data12" --quiet
check "config.csv still as it was" cmp -s "$a/config.csv" "$work/config.before"
"$PDIFF" resume "$a" --quiet; ok $? "resume after the refused runs works"
check "... with the session's own data set" cmp -s "$a/config.csv" "$work/config.before"

# state files with a valid checksum but values out of range are refused naming file and value
edit() { "$top_builddir/tests/state_edit" "$@"; }
crafted() { rm -rf "$work/crafted"; cp -r "$s" "$work/crafted"; }
crafted; edit "$work/crafted/state/ae.bin" step 0 -5; edit "$work/crafted/state/stages.bin" ae 0 0
expect_fail 1 "ae.bin: step -5" "ae.bin with step -5 is refused (no assertion)" -- "$PDIFF" resume "$work/crafted" --quiet
check "... and losses.csv keeps the ae curve" grep -q '^"ae",80,' "$work/crafted/losses.csv"
crafted; edit "$work/crafted/state/ddpm.bin" step 0 -5; edit "$work/crafted/state/stages.bin" ddpm 0 0
expect_fail 1 "ddpm.bin: step -5" "ddpm.bin with step -5 is refused (no assertion)" -- "$PDIFF" resume "$work/crafted" --quiet
crafted; edit "$work/crafted/state/ae.bin" complete 0 7
expect_fail 1 "ae.bin: complete 7" "ae.bin with complete 7 is refused" -- "$PDIFF" run --session "$work/crafted" --stages generate --quiet
crafted; edit "$work/crafted/state/collect.bin" k 0 -1
expect_fail 1 "collect.bin: k -1" "collect.bin with k -1 is refused" -- "$PDIFF" run --session "$work/crafted" --stages ae --quiet
crafted; edit "$work/crafted/state/collect.bin" k 0 2; edit "$work/crafted/state/collect.bin" d 0 4611686018427387904
expect_fail 1 "collect.bin: d 4611686018427387904" "collect.bin with k x d overflowing is refused" -- \
    "$PDIFF" run --session "$work/crafted" --stages ae --quiet
crafted; edit "$work/crafted/state/collect.bin" vectors 5 nan
expect_fail 1 "collect.bin: vector 0 holds nan" "collect.bin with a NaN vector is refused" -- \
    "$PDIFF" run --session "$work/crafted" --stages ae --quiet
crafted; edit "$work/crafted/state/ae.bin" latents 3 inf
expect_fail 1 "ae.bin: latent 3 holds inf" "ae.bin with an infinite latent is refused" -- \
    "$PDIFF" run --session "$work/crafted" --stages ddpm --quiet
crafted; edit "$work/crafted/state/stages.bin" ae 0 5
expect_fail 1 "stages.bin: stage ae is marked 5" "stages.bin with a mark of 5 is refused" -- "$PDIFF" resume "$work/crafted" --quiet

# no silent bad results: diverging collect, a broken noise schedule, unusable ae.bin or ddpm.bin, a task model at chance
d="$work/diverged"
# shellcheck disable=SC2086
expect_fail 1 "collect_lr" "a diverging collection stops naming collect_lr" -- \
    "$PDIFF" run --session "$d" $tiny --set collect_lr=10 --set momentum=0.99 --set weight_decay=1 --set k=50 --quiet
check "... and the collect stage is not done" test ! -e "$d/state/collect.bin"
crafted
expect_fail 1 "timesteps" "a schedule whose alpha_bar underflows is refused naming timesteps" -- "$PDIFF" run \
    --session "$work/crafted" --stages ddpm,generate --set timesteps=100000 --set beta_start=0.99 --set beta_end=0.999999 --quiet
crafted; edit "$work/crafted/state/ae.bin" std 0 0
expect_fail 1 "ae.bin: std\[0\] is 0" "ae.bin with std 0 is refused" -- "$PDIFF" run --session "$work/crafted" --stages generate --quiet
crafted; edit "$work/crafted/state/ddpm.bin" params 0 nan
expect_fail 1 "sampled vectors are not finite" "NaN samples are refused, not evaluated" -- \
    "$PDIFF" run --session "$work/crafted" --stages generate --quiet
check "... and summary.csv keeps the finite pdiff_best" grep -q '^"pdiff_best",[0-9]' "$work/crafted/summary.csv"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/lr10" $tiny --set lr=10 --stages train > /dev/null 2> "$work/lr10.err"; ok $? "lr=10 still runs"
check "... with a warning that the task model is near chance, naming lr" grep -q 'warning: .*near chance.*lower lr' "$work/lr10.err"
check "a normal run has no such warning" sh -c "grep -q 'train: test accuracy' '$work/c2.err' && ! grep -q 'near chance' '$work/c2.err'"

# a corrupted state file is refused with its name
cp "$s/state/ae.bin" "$work/ae.bin.orig"
printf 'X' | dd of="$s/state/ae.bin" bs=1 seek=200 conv=notrunc 2>/dev/null
expect_fail 1 "ae.bin" "a corrupted state/ae.bin is refused naming the file" -- \
    "$PDIFF" run --session "$s" --stages ddpm --quiet
cp "$work/ae.bin.orig" "$s/state/ae.bin"
printf 'NOTASTAT' | dd of="$s/state/collect.bin" bs=1 seek=0 conv=notrunc 2>/dev/null
expect_fail 1 "collect.bin" "a state file with a wrong magic is refused naming the file" -- \
    "$PDIFF" run --session "$s" --stages ae --quiet

# sweep: one session per value sharing train+collect, and a combined table
# shellcheck disable=SC2086
"$PDIFF" sweep latent_noise=0,0.1 $tiny --session "$work/sweep" --quiet > "$work/sweep.txt"; ok $? "sweep latent_noise=0,0.1 exits 0"
check "sweep made one session per value" sh -c "test -s '$work/sweep/latent_noise-0/summary.csv' && test -s '$work/sweep/latent_noise-0.1/summary.csv'"
check "the sessions share the task model" cmp -s "$work/sweep/latent_noise-0/state/task.bin" "$work/sweep/latent_noise-0.1/state/task.bin"
check "sweep prints a table with both values" sh -c "grep -q '^  0 ' '$work/sweep.txt' && grep -q '^  0.1 ' '$work/sweep.txt'"
check "sweep.csv parses: 4 fields per row" sh -c "awk -F, 'NF != 4 {bad=1} END {exit bad}' '$work/sweep/sweep.csv' && grep -q '\"0.1\",\"novelty\"' '$work/sweep/sweep.csv'"
check "sweep.tex is a booktabs table" sh -c "grep -q toprule '$work/sweep/sweep.tex' && grep -q bottomrule '$work/sweep/sweep.tex'"
# shellcheck disable=SC2086
"$PDIFF" sweep k=5,10 $tiny --session "$work/sweepk" --quiet > /dev/null; ok $? "sweep k=5,10 exits 0"
check "k=5 took the first 5 checkpoints of the k=10 collection" sh -c "
  head -n 6 '$work/sweepk/k-10/params.csv' > '$work/k10.head' && cmp -s '$work/k10.head' '$work/sweepk/k-5/params.csv'"

echo "1..$n"
[ "$failed" -eq 0 ]
