#!/bin/sh
# pipeline.sh — the whole p-diff pipeline end to end on a generated data set, in seconds: every session file
# and column, report formats, resume after an interrupted stage (same numbers as an uninterrupted run), Ctrl-C and
# kill -9 in train, collect and ddpm resumed to the same files (Ctrl-C in ae and ddpm between two loss points: the
# same losses.csv), a test set other than generate's refused with
# config.csv kept, state files with values out of range (tests/state_edit) refused, divergence and NaN results
# refused or warned about, a corrupted state file refused, the same files at 1, 2 and 3 threads, and a sweep.
# TAP output.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}"
work="$top_builddir/tests/work/pipeline"
rm -rf "$work"; mkdir -p "$work/data"
. "${top_srcdir:-.}/tests/tap_lib.sh" # n, failed, ok, check
"$top_builddir/tests/gen_idx" "$work/data" 1500 400 10 || { echo "Bail out! gen_idx failed"; exit 1; }

tiny="--set dataset=idx:$work/data --set arch=mlp --set epochs=2 --set k=20 --set save_every=1 --set ae_steps=80
 --set ddpm_steps=80 --set n_generate=8 --set n_recon=2 --set timesteps=60 --set ddpm_channels=8,8,8,8
 --set n_noise=2 --set noise_sigmas=0.01,0.1 --set n_finetune=2 --set finetune_steps=3 --set threads=2"
s="$work/full"
# shellcheck disable=SC2086
"$PDIFF" run --session "$s" $tiny --quiet 2> "$work/full.err"; ok $? "full pipeline run exits 0"
check "run.log: a time-stamped line per stage start and end, and how the run ended (issue 15)" sh -c "
  test \$(grep -c -E '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} stage [a-z]+: (start|done)\$' '$s/run.log') -eq 12 &&
  grep -q ' run: pdiff .* stages train collect ae ddpm generate analyze\$' '$s/run.log' && tail -n 1 '$s/run.log' | grep -q ' finished\$'"
for f in config.csv losses.csv params.csv models.csv similarity.csv latents.csv summary.csv state/task.bin \
    state/collect.bin state/ae.bin state/ddpm.bin state/models.bin state/stages.bin; do
    check "session has $f" test -s "$s/$f"
done
check "no temporary files left" sh -c "! ls -aR '$s' | grep -q '\.tmp\.'"
check "progress.csv: the writer's last report, the analyze stage complete (done = total > 0, seconds, pid)" sh -c "
  test \"\$(head -n 1 '$s/progress.csv')\" = '\"stage\",\"unit\",\"done\",\"total\",\"unit_start\",\"unit_seconds\",\"stage_seconds\",\"pid\"' &&
  test \$(wc -l < '$s/progress.csv') -eq 2 &&
  tail -n 1 '$s/progress.csv' | grep -q -E '^\"analyze\",\"analyze\",([1-9][0-9]*),\\1,[0-9]+,[0-9.e+-]+,[0-9.e+-]+,[1-9][0-9]*\$'"
hdr() { head -n 1 "$s/$1" | tr -d '"'; }
check "losses.csv columns" test "$(hdr losses.csv)" = "stage,step,loss,accuracy"
for st in task collect ae ddpm; do check "losses.csv has $st points" grep -q "^\"$st\"," "$s/losses.csv"; done
check "params.csv: id,v0..v1289 and 20 rows" sh -c "head -n 1 '$s/params.csv' | tr -d '\"' | grep -q '^id,v0,v1,.*,v1289\$' && test \$(wc -l < '$s/params.csv') -eq 21"
check "models.csv columns" test "$(hdr models.csv)" = "id,kind,accuracy,loss,max_iou,nearest_id,nearest_l2,disagreement"
check "models.csv: every row has its disagreement with the ensemble, 0 for the ensemble" sh -c "
  awk -F, 'NR > 1 && (\$8 == \"\" || \$8 < 0 || \$8 > 1) {bad=1} \$2 == \"\\\"ensemble\\\"\" && \$8 != 0 {bad=1} END {exit bad}' '$s/models.csv'"
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
check "latents.csv: id,kind,tsne_x,tsne_y for originals, p-diff, noise models and DDPM samples (40 rows)" sh -c "
  test \"\$(head -n 1 '$s/latents.csv' | tr -d '\"')\" = id,kind,tsne_x,tsne_y && test \$(wc -l < '$s/latents.csv') -eq 41"
check "latents.csv: the DDPM's own latent samples, kind pdiff_latent, one per p-diff model (8, same ids)" sh -c "
  test \$(grep -c ',\"pdiff_latent\",' '$s/latents.csv') -eq 8 &&
  test \"\$(grep ',\"pdiff_latent\",' '$s/latents.csv' | cut -d, -f1)\" = \"\$(grep ',\"pdiff\",' '$s/latents.csv' | cut -d, -f1)\""
for m in task_accuracy original_best original_mean original_median ensemble pdiff_best pdiff_mean pdiff_median \
    ae_recon_best novelty seconds_train seconds_collect seconds_ae seconds_ddpm seconds_generate seconds_analyze \
    pdiff_max_iou_mean gaussian_best averaged_best; do
    check "summary.csv has $m" grep -q "^\"$m\",[0-9.e+-]" "$s/summary.csv"
done
for kind in original ensemble ae_recon pdiff noise_0.01 noise_0.1 finetune averaged gaussian; do
    for m in novelty best_of_n pair_iou_mean disagreement_mean; do
        [ "$kind" = ensemble ] && [ "$m" = pair_iou_mean ] && continue # one model: no pairs
        check "summary.csv has ${kind}_$m" grep -q "^\"${kind}_$m\",[0-9.e+-]" "$s/summary.csv"
    done
done
check "summary.csv has pair_iou_min, pair_l2_mean, novelty_threshold, best_of_n = 10, novelty = pdiff_novelty" sh -c "
  grep -q '^\"pdiff_pair_iou_min\",[0-9]' '$s/summary.csv' && grep -q '^\"gaussian_pair_l2_mean\",[0-9]' '$s/summary.csv' &&
  grep -q '^\"novelty_threshold\",[0-9]' '$s/summary.csv' && grep -q '^\"best_of_n\",10\$' '$s/summary.csv' &&
  test \"\$(grep '^\"novelty\",' '$s/summary.csv' | cut -d, -f2)\" = \"\$(grep '^\"pdiff_novelty\",' '$s/summary.csv' | cut -d, -f2)\""
check "the ensemble's disagreement and the originals' novelty are 0" sh -c "
  grep -q '^\"ensemble_disagreement_mean\",0\$' '$s/summary.csv' && grep -q '^\"original_novelty\",0\$' '$s/summary.csv'"
check "config.csv records the resolved target and d" sh -c "grep -q '^\"target_tensors\",\"fc3.weight,fc3.bias\"' '$s/config.csv' && grep -q '^\"target_d\",\"1290\"' '$s/config.csv'"
check "config.csv records normalize" grep -q '^"normalize",' "$s/config.csv"

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
check "report: the fair comparison table, a row per kind, in text, CSV and LaTeX" sh -c "
  grep -q '^Fair comparison' '$work/report.txt' && grep -q 'best-of-10' '$work/report.txt' &&
  grep -q '^  gaussian  *100  ' '$work/report.txt' && grep -q '\"fair\",\"p-diff\",\"best-of-n\",' '$work/report.csv' &&
  grep -q '\"fair\",\"fine-tuned\",\"pair IoU mean\",' '$work/report.csv' && grep -q 'label{tab:fair}' '$work/report.tex' &&
  for r in original ensemble p-diff 'noise (sigma 0.01)' fine-tuned averaged gaussian; do
    test \$(sed -n '/tab:fair/,/end{table}/p' '$work/report.tex' | grep -c \"^\$r &\") -eq 1 || exit 1; done"
o="$work/old_summary"
cp -r "$s" "$o"; grep -v 'best_of_n\|_novelty\|pair_\|disagreement' "$s/summary.csv" > "$o/summary.csv"
"$PDIFF" report "$o" > "$work/report_old.txt"; ok $? "report of a session analysed before the fair metrics exits 0"
check "... without the fair comparison table, the other tables as before" sh -c "
  ! grep -q 'Fair comparison' '$work/report_old.txt' && grep -q '^Wall time' '$work/report_old.txt' &&
  test \"\$(sed -n '1,/^Novelty/p' '$work/report_old.txt')\" = \"\$(sed -n '1,/^Novelty/p' '$work/report.txt' | sed 's|/full\$|/old_summary|')\""
nk="$work/noise25"
cp -r "$s" "$nk"
"$PDIFF" run --session "$nk" --stages analyze --set n_noise=25 --quiet; ok $? "analyze with n_noise=25, more than k=20"
check "... 25 noise models per sigma, each with its own noise (25 distinct losses)" sh -c "
  test \$(grep -c ',\"noise:0.1\",' '$nk/models.csv') -eq 25 && test \$(grep -c ',\"noise:0.01\",' '$nk/models.csv') -eq 25 &&
  test \$(grep ',\"noise:0.01\",' '$nk/models.csv' | cut -d, -f4 | sort -u | wc -l) -eq 25"
check "... and the p-diff rows as before" sh -c "test \"\$(grep ',\"pdiff\",' '$nk/models.csv')\" = \"\$(grep ',\"pdiff\",' '$s/models.csv')\""
expect_fail() { # STATUS PATTERN DESCRIPTION -- command
    want=$1 pat=$2 desc=$3; shift 4
    "$@" > /dev/null 2> "$work/err.txt"; got=$?
    if [ "$got" -eq "$want" ] && grep -q -- "$pat" "$work/err.txt" && [ "$(wc -l < "$work/err.txt")" -eq 1 ]; then ok 0 "$desc"
    else ok 1 "$desc (status $got: $(head -c 200 "$work/err.txt"))"; fi
}
expect_fail 2 "format" "report with an unknown format is a usage error" -- "$PDIFF" report "$s" --format pdf
expect_fail 1 "nowhere" "report of a missing session names it" -- "$PDIFF" report "$work/nowhere"

# the thread count does not change a result: 1, 3 and 12 threads (more than the 8 parts every sum over a batch
# has) give the 2-thread run's files, and so does a convnet (convolutions, BatchNorm) at 1, 3 and 12 threads
same_state() { for f in task collect ae ddpm models samples; do cmp -s "$1/state/$f.bin" "$2/state/$f.bin" || return 1; done
    cmp -s "$1/models.csv" "$2/models.csv" && cmp -s "$1/latents.csv" "$2/latents.csv"; }
for t in 1 3 12; do
    # shellcheck disable=SC2086
    "$PDIFF" run --session "$work/threads$t" $tiny --set threads=$t --quiet
    check "threads=$t: the same state files, models.csv and latents.csv as threads=2" same_state "$s" "$work/threads$t"
    # shellcheck disable=SC2086
    "$PDIFF" run --session "$work/conv$t" $tiny --set arch=convnet --set threads=$t --quiet
done
check "arch=convnet: threads=1 and threads=3 give the same files" same_state "$work/conv1" "$work/conv3"
check "arch=convnet: threads=1 and threads=12 give the same files" same_state "$work/conv1" "$work/conv12"

# resume: stop after the AE stage, resume, same numbers as the uninterrupted run
r="$work/resumed"
# shellcheck disable=SC2086
"$PDIFF" run --session "$r" $tiny --stages train,collect,ae --quiet; ok $? "run --stages train,collect,ae"
check "after the ae stage there is no ddpm state yet" test ! -e "$r/state/ddpm.bin"
check "... and progress.csv ends with the AE's 80 steps of 80" grep -q -E '^"ae","ae",80,80,[0-9]+,' "$r/progress.csv"
"$PDIFF" resume "$r" --quiet; ok $? "resume finishes the session"
strip() { grep -v '^"seconds_' "$1"; }
check "resumed summary equals the uninterrupted run's" sh -c "test \"\$(grep -v '^\"seconds_' '$s/summary.csv')\" = \"\$(grep -v '^\"seconds_' '$r/summary.csv')\""
check "resumed models.csv equals the uninterrupted run's" cmp -s "$s/models.csv" "$r/models.csv"

# interrupt during DDPM training (Ctrl-C), then resume
i="$work/interrupted"
# shellcheck disable=SC2086
"$PDIFF" run --session "$i" $tiny --set ddpm_steps=8000 > /dev/null 2> "$work/int.err" &
pid=$!
# until the progress shows a DDPM loss (a loss point is kept), not a fixed time: a loaded machine may not get there
t=0; while [ $t -lt 600 ] && ! grep -q -E '^ddpm +[0-9]+%.*loss' "$work/int.err" 2>/dev/null; do sleep 0.1; t=$((t + 1)); done
# report on the running session: where the writer is (its lock and progress.csv) in one line on stderr, then the
# tables as far as it got (summary.csv has the task model's numbers). Once progress.csv tells an ETA (its second
# row, a second after the first), the run is stopped (SIGSTOP), so that the report and the Ctrl-C below never race
# the stage's end; the Ctrl-C is delivered when it continues.
t=0; while [ $t -lt 100 ] && ! "$PDIFF" report "$i" 2>&1 | grep -q 'ddpm [0-9]*/8000, .* ETA [0-9]'; do sleep 0.1; t=$((t + 1)); done
kill -STOP $pid
"$PDIFF" report "$i" > "$work/rep_running.out" 2> "$work/rep_running.err"; rc=$?
check "report on a running session: a line naming pid, host, stage, count and ETA, then the tables (got $rc: $(cat "$work/rep_running.err"))" sh -c "
  test $rc -eq 0 && grep -q '^Session ' '$work/rep_running.out' && test \$(wc -l < '$work/rep_running.err') -eq 1 &&
  grep -q -E '^pdiff report: .*: being written by pid $pid on .* \\(pdiff run\\): stage ddpm, ddpm [0-9]+/8000, [0-9:]+ in the stage, ETA [0-9:]+; the tables below are as far as it got\$' '$work/rep_running.err'"
kill -INT $pid; kill -CONT $pid; wait $pid; rc=$?
ok $([ $rc -eq 130 ] && echo 0 || echo 1) "Ctrl-C during ddpm exits 130 (got $rc)"
# ... and during train, before summary.csv exists: that line and exit 1, no tables
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/training" $tiny --set epochs=10000 > /dev/null 2>&1 &
pid=$!
t=0; while [ $t -lt 300 ] && ! "$PDIFF" report "$work/training" 2>&1 | grep -q 'task [0-9]*/'; do sleep 0.1; t=$((t + 1)); done
"$PDIFF" report "$work/training" > "$work/rep_train.out" 2> "$work/rep_train.err"; rc=$?
kill -INT $pid; wait $pid
check "report during train: exit 1, one line with the task count, no tables (got $rc: $(cat "$work/rep_train.err"))" sh -c "
  test $rc -eq 1 && test ! -s '$work/rep_train.out' && test \$(wc -l < '$work/rep_train.err') -eq 1 &&
  grep -q -E ': being written by pid $pid on .*: stage train, task [0-9]+/[0-9]+, .*; no tables before its first stage has ended \\(summary.csv\\)\$' '$work/rep_train.err'"
check "the interrupted run says it saved" grep -q 'saved' "$work/int.err"
step=$(awk -F, '$1 == "\"ddpm\"" {s = $2} END {print s + 0}' "$i/losses.csv")
check "losses.csv kept the ddpm points so far ($step steps)" test "$step" -gt 0
"$PDIFF" resume "$i" --set ddpm_steps=8000 --quiet > /dev/null 2> "$work/resume.err" &
pid=$!
sleep 1; kill -INT $pid; wait $pid
"$PDIFF" resume "$i" --set ddpm_steps=8000 --quiet 2> "$work/resume.err"; ok $? "resume after Ctrl-C finishes the run"
check "resumed run wrote the results" test -s "$i/models.csv"
check "the ddpm loss curve reaches the last step" sh -c "grep -q '^\"ddpm\",8000,' '$i/losses.csv'"

# Ctrl-C and kill -9 during every training stage, then resume: the same files as an uninterrupted run, loss
# curve included (train and collect checkpoint like ae and ddpm; losses.csv is written with every checkpoint)
long="$tiny --set epochs=60 --set save_every=40 --set ddpm_steps=500"
u="$work/long"
# shellcheck disable=SC2086
"$PDIFF" run --session "$u" $long --quiet; ok $? "uninterrupted longer run"
# The Ctrl-C checks below stop a stage when its progress shows 10 % done, not after a fixed sleep: a fast machine
# finishes the tiny training in under 0.3 s.
c="$work/ctrlc"
# shellcheck disable=SC2086
"$PDIFF" run --session "$c" $long > /dev/null 2> "$work/c1.err" &
pid=$!
wait_until "grep -q -E '^task +10%' '$work/c1.err'"; kill -INT $pid; wait $pid; rc=$?
check "Ctrl-C during train exits 130 and saves (rc $rc)" sh -c "[ $rc -eq 130 ] && grep -q 'task training stopped after step [0-9]* of 720 (saved)' '$work/c1.err'"
check "the train checkpoint is there" test -s "$c/state/train_ckpt.bin"
"$PDIFF" resume "$c" > /dev/null 2> "$work/c2.err" &
pid=$!
wait_until "grep -q -E '^collect +10%' '$work/c2.err'"; kill -INT $pid; wait $pid; rc=$?
check "resume continues train from its checkpoint" grep -q 'train: resuming after step' "$work/c2.err"
check "Ctrl-C during collect exits 130 and saves (rc $rc)" sh -c "[ $rc -eq 130 ] && grep -q 'collect stopped after iteration [0-9]* of 800 (saved)' '$work/c2.err'"
"$PDIFF" resume "$c" > /dev/null 2> "$work/c3.err"; ok $? "resume after Ctrl-C in collect finishes"
check "resume continues collect from its checkpoint" grep -q 'collect: resuming after iteration' "$work/c3.err"
same_session "$u" "$c" "Ctrl-C in train and in collect, resumed: every file equals the uninterrupted run's"
k="$work/killed"
# shellcheck disable=SC2086
"$PDIFF" run --session "$k" $long --quiet 2> /dev/null &
pid=$!
wait_until "test -e '$k/state/train_ckpt.bin'"; kill -9 $pid; wait $pid 2> /dev/null
check "kill -9 in train leaves its periodic checkpoint" test -e "$k/state/train_ckpt.bin"
"$PDIFF" resume "$k" --quiet 2> /dev/null &
pid=$!
wait_until "test -e '$k/state/collect_ckpt.bin'"; kill -9 $pid; wait $pid 2> /dev/null
check "kill -9 in collect leaves its periodic checkpoint" test -e "$k/state/collect_ckpt.bin"
"$PDIFF" resume "$k" --quiet 2> /dev/null &
pid=$!
wait_until "test -e '$k/state/ddpm.bin'"; kill -9 $pid; wait $pid 2> /dev/null
check "losses.csv has the ddpm points up to the killed run's checkpoint" sh -c "grep -q '^\"ddpm\",50,' '$k/losses.csv'"
"$PDIFF" resume "$k" --quiet; ok $? "resume after kill -9 in train, collect and ddpm finishes"
same_session "$u" "$k" "killed three times, resumed: every file equals the uninterrupted run's, losses.csv included"

# Ctrl-C in ae and in ddpm between two loss points (one every 10 steps): the checkpoint keeps the loss summed
# since the last point, so the resumed run's losses.csv equals the uninterrupted run's, row for row
lw="$tiny --set ae_steps=400 --set ddpm_steps=4000"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/lw_ref" $lw --quiet; ok $? "uninterrupted run with 400 ae and 4000 ddpm steps"
lw_stop() { # STAGE: start or resume $work/lw, Ctrl-C once STAGE shows progress; up to 3 tries until the stop falls
    # between two loss points. Sets lw_step to the step it stopped after (empty when it never stopped in STAGE)
    lw_step=; tries=0
    while [ $tries -lt 3 ] && { [ -z "$lw_step" ] || [ $((lw_step % 10)) -eq 0 ]; }; do
        tries=$((tries + 1))
        if [ -e "$work/lw/config.csv" ]; then "$PDIFF" resume "$work/lw" > /dev/null 2> "$work/lw.err" &
        # shellcheck disable=SC2086
        else "$PDIFF" run --session "$work/lw" $lw > /dev/null 2> "$work/lw.err" & fi
        pid=$!
        wait_until "grep -q -E '^$1 +[1-9][0-9]*%' '$work/lw.err'"; kill -INT $pid; wait $pid
        lw_step=$(sed -n "s/.*$1 training stopped after step \([0-9]*\) of .*/\1/p" "$work/lw.err")
    done
}
lw_stop ae; ae_at=$lw_step
lw_stop ddpm; ddpm_at=$lw_step
"$PDIFF" resume "$work/lw" --quiet; ok $? "resume after Ctrl-C in ae (step $ae_at) and in ddpm (step $ddpm_at) finishes"
if [ -n "$ae_at" ] && [ -n "$ddpm_at" ] && [ $((ae_at % 10)) -ne 0 ] && [ $((ddpm_at % 10)) -ne 0 ]; then
    check "... and every result file equals the uninterrupted run's, losses.csv included" same_results "$work/lw_ref" "$work/lw"
else
    skip "no Ctrl-C fell between two loss points in 3 tries (ae $ae_at, ddpm $ddpm_at)"
fi

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
crafted; edit "$work/crafted/state/ae.bin" loss_window 1 12.5; edit "$work/crafted/state/stages.bin" ae 0 0
expect_fail 1 "ae.bin: loss_window {0, 12.5} is not a loss sum over 0 to 9 steps" \
    "ae.bin with a loss window of 12.5 steps is refused" -- "$PDIFF" resume "$work/crafted" --quiet
crafted; edit "$work/crafted/state/ddpm.bin" loss_window 0 nan; edit "$work/crafted/state/stages.bin" ddpm 0 0
expect_fail 1 "ddpm.bin: loss_window {nan, 0}" "ddpm.bin with a NaN loss window is refused" -- \
    "$PDIFF" resume "$work/crafted" --quiet
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
crafted; edit "$work/crafted/state/ae.bin" std 0 -1
expect_fail 1 "ae.bin: std\[0\] is -1" "ae.bin with std -1 is refused" -- "$PDIFF" run --session "$work/crafted" --stages generate --quiet
crafted; edit "$work/crafted/state/ae.bin" std 0 0
check "ae.bin with std 0 (a pinned coordinate) is accepted" "$PDIFF" run --session "$work/crafted" --stages generate --quiet
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

# the generator side: gen_seed (same collection, other generated models), normalize, ddpm_ema (resumed after
# kill -9 to the same weights and EMA, another decay refused, other samples than without EMA)
g="$work/genseed"
# shellcheck disable=SC2086
"$PDIFF" run --session "$g" $tiny --set gen_seed=5 --quiet; ok $? "a run with gen_seed=5"
check "gen_seed=5: the same collected vectors (params.csv) and task model as gen_seed=0" sh -c "
  cmp -s '$s/params.csv' '$g/params.csv' && cmp -s '$s/state/task.bin' '$g/state/task.bin'"
check "gen_seed=5: another AE and other generated models" sh -c "
  ! cmp -s '$s/state/ae.bin' '$g/state/ae.bin' && [ \"\$(grep ',\"pdiff\",' '$s/models.csv')\" != \"\$(grep ',\"pdiff\",' '$g/models.csv')\" ]"
for nm in none tensor; do
    # shellcheck disable=SC2086
    "$PDIFF" run --session "$work/norm-$nm" $tiny --set normalize=$nm --quiet; ok $? "a run with normalize=$nm"
    check "normalize=$nm: another AE than normalize=coordinate" sh -c "! cmp -s '$s/state/ae.bin' '$work/norm-$nm/state/ae.bin'"
done
o="$work/no_samples"; cp -r "$s" "$o"; rm "$o/state/samples.bin"
"$PDIFF" run --session "$o" --stages analyze --quiet; ok $? "analyze of a session without state/samples.bin (older generate)"
check "... leaves the DDPM's own latents out of latents.csv (32 rows)" sh -c "
  test \$(wc -l < '$o/latents.csv') -eq 33 && ! grep -q pdiff_latent '$o/latents.csv'"
ema="$tiny --set ddpm_steps=1000 --set ddpm_ema=0.9"
e="$work/ema"
# shellcheck disable=SC2086
"$PDIFF" run --session "$e" $ema --quiet; ok $? "a run with ddpm_ema=0.9"
ek="$work/ema_killed"
# shellcheck disable=SC2086
"$PDIFF" run --session "$ek" $ema --quiet 2> /dev/null &
pid=$!
wait_until "test -e '$ek/state/ddpm.bin'"; kill -9 $pid; wait $pid 2> /dev/null
cp "$ek/state/ddpm.bin" "$work/ema_ddpm.bin"; edit "$ek/state/ddpm.bin" ema_decay 0 0.5
expect_fail 1 "ddpm.bin: made with ddpm_ema=0.5, not 0.9" "a checkpoint whose EMA has another decay is not resumed" -- \
    "$PDIFF" resume "$ek" --quiet
cp "$work/ema_ddpm.bin" "$ek/state/ddpm.bin"
"$PDIFF" resume "$ek" > /dev/null 2> "$work/ema.err"; ok $? "resume after kill -9 in ddpm with ddpm_ema=0.9"
check "... continued the ddpm stage from its checkpoint" grep -q 'ddpm: resuming after step' "$work/ema.err"
check "... to the same ddpm.bin (weights and EMA) and models as the uninterrupted run" sh -c "
  cmp -s '$e/state/ddpm.bin' '$ek/state/ddpm.bin' && cmp -s '$e/models.csv' '$ek/models.csv'"
expect_fail 1 "ddpm.bin: made with ddpm_ema=0.9, not 0.5" "sampling with another EMA decay than trained is refused" -- \
    "$PDIFF" run --session "$e" --stages generate --set ddpm_ema=0.5 --quiet
e0="$work/ema0"; cp -r "$e" "$e0"
"$PDIFF" run --session "$e0" --stages ddpm,generate --set ddpm_ema=0 --quiet; ok $? "the same DDPM trained with ddpm_ema=0"
check "ddpm_ema=0.9 samples other models than ddpm_ema=0" sh -c "
  [ \"\$(grep ',\"pdiff\",' '$e/models.csv')\" != \"\$(grep ',\"pdiff\",' '$e0/models.csv')\" ]"

# sweep: one session per value sharing train+collect, and a combined table
# shellcheck disable=SC2086
"$PDIFF" sweep latent_noise=0,0.1 $tiny --session "$work/sweep" --quiet > "$work/sweep.txt"; ok $? "sweep latent_noise=0,0.1 exits 0"
check "sweep made one session per value" sh -c "test -s '$work/sweep/latent_noise-0/summary.csv' && test -s '$work/sweep/latent_noise-0.1/summary.csv'"
check "the sessions share the task model" cmp -s "$work/sweep/latent_noise-0/state/task.bin" "$work/sweep/latent_noise-0.1/state/task.bin"
check "sweep prints a table with both values" grep -Eq '^  kind +metric +0 +0.1$' "$work/sweep.txt"
check "sweep.csv parses: 10 fields per row" sh -c "awk -F, 'NF != 10 {bad=1} END {exit bad}' '$work/sweep/sweep.csv' && grep -q '\"0.1\",\"\",\"\",\"novelty\"' '$work/sweep/sweep.csv'"
check "sweep.tex is a booktabs table" sh -c "grep -q toprule '$work/sweep/sweep.tex' && grep -q bottomrule '$work/sweep/sweep.tex'"
# shellcheck disable=SC2086
"$PDIFF" sweep k=5,10 $tiny --session "$work/sweepk" --quiet > /dev/null; ok $? "sweep k=5,10 exits 0"
check "k=5 took the first 5 checkpoints of the k=10 collection" sh -c "
  head -n 6 '$work/sweepk/k-10/params.csv' > '$work/k10.head' && cmp -s '$work/k10.head' '$work/sweepk/k-5/params.csv'"

# issue 13, the training side: augment=cropflip (resumed bit for bit), lr_schedule=step, k_span, the
# independent-runs collection (killed and resumed), the CIFAR-100 hint
same_tc() { # A B DESCRIPTION: the same task model, checkpoints and task/collect loss points
    bad=""
    for f in state/task.bin state/collect.bin params.csv; do cmp -s "$1/$f" "$2/$f" || bad="$bad $f"; done
    [ "$(grep -E '^"(task|collect)' "$1/losses.csv")" = "$(grep -E '^"(task|collect)' "$2/losses.csv")" ] || bad="$bad losses.csv"
    ok "$([ -z "$bad" ] && echo 0 || echo 1)" "$3${bad:+ (differ:$bad)}"
}
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/aug" $tiny --set augment=cropflip --stages train,collect --quiet; ok $? "augment=cropflip runs"
check "augment=cropflip changes the task model and the trajectory" sh -c "
  ! cmp -s '$s/state/task.bin' '$work/aug/state/task.bin' && ! cmp -s '$s/params.csv' '$work/aug/params.csv'"
auglong="$tiny --set augment=cropflip --set epochs=60 --set save_every=40 --stages train,collect"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/aug_u" $auglong --quiet; ok $? "uninterrupted longer augmented run"
ac="$work/aug_c"
# shellcheck disable=SC2086
"$PDIFF" run --session "$ac" $auglong > /dev/null 2> "$work/a1.err" &
pid=$!
wait_until "grep -q -E '^task +10%' '$work/a1.err'"; kill -INT $pid; wait $pid
"$PDIFF" resume "$ac" > /dev/null 2> "$work/a2.err" &
pid=$!
wait_until "grep -q -E '^collect +10%' '$work/a2.err'"; kill -INT $pid; wait $pid
"$PDIFF" resume "$ac" > /dev/null 2> "$work/a3.err"; ok $? "resume of the augmented run finishes"
check "... after resuming train and collect from their checkpoints" sh -c "
  grep -q 'train: resuming after step' '$work/a2.err' && grep -q 'collect: resuming after iteration' '$work/a3.err'"
same_tc "$work/aug_u" "$ac" "augmented run stopped in train and collect, resumed: the same model, checkpoints and losses"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/step" $tiny --set lr_schedule=step --set lr_milestones=1 --set lr_gamma=0.1 \
    --stages train --quiet; ok $? "lr_schedule=step runs"
check "... and trains another model than the cosine schedule" sh -c "! cmp -s '$s/state/task.bin' '$work/step/state/task.bin'"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/span10" $tiny --set k=10 --set k_span=40 --stages train,collect --quiet; ok $? "k=10 k_span=40 runs"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/span20" $tiny --set k=20 --set k_span=40 --stages train,collect --quiet; ok $? "k=20 k_span=40 runs"
check "k_span=40: checkpoints 2, 4, .., 20 of k=20 are the 10 checkpoints of k=10" sh -c "
  awk -F, 'NR > 1 && \$1 % 2 == 1 {sub(/^[0-9]+,/, \"\"); print}' '$work/span20/params.csv' > '$work/span20.even' &&
  awk -F, 'NR > 1 {sub(/^[0-9]+,/, \"\"); print}' '$work/span10/params.csv' > '$work/span10.all' &&
  test \$(wc -l < '$work/span10.all') -eq 10 && cmp -s '$work/span20.even' '$work/span10.all'"
check "... and k=20 over 40 iterations is not the save_every=1 collection" sh -c "! cmp -s '$s/params.csv' '$work/span20/params.csv'"
in="$work/indep"
# shellcheck disable=SC2086
"$PDIFF" run --session "$in" $tiny --set k=10 --set collect_mode=independent --set collect_runs=2 --stages train,collect \
    --quiet; ok $? "collect_mode=independent collect_runs=2 k=10 runs"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/traj10" $tiny --set k=10 --stages train,collect --quiet
check "independent: run 1 (the train stage's model) gives the trajectory's first 5 checkpoints, run 2 others" sh -c "
  test \$(wc -l < '$in/params.csv') -eq 11 && sed -n 2,6p '$in/params.csv' > '$work/in.a' &&
  sed -n 2,6p '$work/traj10/params.csv' > '$work/tr.a' && cmp -s '$work/in.a' '$work/tr.a' &&
  sed -n 7,11p '$in/params.csv' > '$work/in.b' && sed -n 7,11p '$work/traj10/params.csv' > '$work/tr.b' &&
  ! cmp -s '$work/in.b' '$work/tr.b' && ! cmp -s '$in/params.csv' '$work/traj10/params.csv'"
check "independent: task.bin stays the train stage's model; loss points per run" sh -c "
  cmp -s '$in/state/task.bin' '$work/traj10/state/task.bin' && grep -q '^\"task-r2\",' '$in/losses.csv' &&
  grep -q '^\"collect-r1\",' '$in/losses.csv' && grep -q '^\"collect-r2\",' '$in/losses.csv'"
il="$tiny --set epochs=60 --set k=12 --set save_every=40 --set collect_mode=independent --set collect_runs=3"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/indep_u" $il --stages train,collect --quiet; ok $? "uninterrupted independent run of 3 longer runs"
ik="$work/indep_k"
# shellcheck disable=SC2086
"$PDIFF" run --session "$ik" $il --stages train,collect --quiet 2> /dev/null &
pid=$!
wait_until "test -e '$ik/state/collect_ckpt.bin'"; kill -9 $pid; wait $pid 2> /dev/null
check "kill -9 in the independent collection leaves the checkpoint of the finished runs" test -e "$ik/state/collect_ckpt.bin"
"$PDIFF" resume "$ik" > /dev/null 2> "$work/ik.err"; ok $? "resume after kill -9 in the independent collection finishes"
check "... continuing after a finished run" grep -q 'collect: resuming after run [12] of 3' "$work/ik.err"
same_tc "$work/indep_u" "$ik" "independent collection killed and resumed: the same checkpoints and losses"
# each run's vectors judged in that run's task model (state/task-rN.bin): the originals of each run exported and
# brought back as a checkpoints= folder into a session whose task model is that run's give the same results
check "independent: state/task-r2.bin keeps run 2's task model, not run 1's" sh -c "
  test -s '$in/state/task-r2.bin' && ! cmp -s '$in/state/task.bin' '$in/state/task-r2.bin'"
# shellcheck disable=SC2086
"$PDIFF" run --session "$in" $tiny --set k=10 --set collect_mode=independent --set collect_runs=2 \
    --stages ae,ddpm,generate,analyze --quiet; ok $? "independent: the later stages run"
orig_scores() { # MODELS.CSV FIRST-ID: accuracy and loss of the 5 originals from FIRST-ID on
    awk -F, -v lo="$2" 'NR > 1 && $2 == "\"original\"" && $1 >= lo && $1 < lo + 5 {print $3, $4}' "$1"
}
same_scores() { # A B: the same 5 lines
    [ "$(echo "$1" | wc -l)" -eq 5 ] && [ "$1" = "$2" ]
}
for r in 1 2; do
    lo=$(( (r - 1) * 5 ))
    # shellcheck disable=SC2046
    "$PDIFF" export "$in" --kind original $(for i in 0 1 2 3 4; do echo --id $((lo + i)); done) \
        --out "$work/indep_ex$r" > /dev/null
    # shellcheck disable=SC2086
    "$PDIFF" run --session "$work/indep_b$r" $tiny --set k=5 --set checkpoints="$work/indep_ex$r" \
        --stages train,collect,ae,ddpm,generate --quiet
    check "independent: run $r's originals score as in a session of run $r's own task model" \
        same_scores "$(orig_scores "$in/models.csv" $lo)" "$(orig_scores "$work/indep_b$r/models.csv" 0)"
done
mkdir -p "$work/indep_ex12"; cp "$work"/indep_ex1/*.safetensors "$work"/indep_ex2/*.safetensors "$work/indep_ex12/"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/indep_b12" $tiny --set k=10 --set checkpoints="$work/indep_ex12" \
    --stages train,collect --quiet
check "independent: the exported originals of run 2 carry run 2's weights outside the target (5 of 10 differ)" \
    grep -q '^"checkpoints_outside_target_differ",5$' "$work/indep_b12/summary.csv"
"$PDIFF" export "$in" --kind pdiff --out "$work/indep_exp" > /dev/null; ok $? "independent: export of the p-diff models"
runs_follow_nearest() { # every exported p-diff model records the run of its L2-nearest original (ids 0-4: 1, else 2)
    for f in "$work"/indep_exp/pdiff-*.safetensors; do
        id=${f##*-}; id=${id%.safetensors}
        nid=$(awk -F, -v id="$id" 'NR > 1 && $1 == id {print $6}' "$in/models.csv")
        want=$(( nid < 5 ? 1 : 2 ))
        head -c 4096 "$f" | grep -aq "\"run\":\"$want\"" || return 1
    done
}
check "independent: each exported p-diff model records the run of its nearest original" runs_follow_nearest
cp -R "$in" "$work/indep_old"; rm -f "$work/indep_old/state/task-r2.bin"
expect_fail 1 "task-r2.bin: missing: collect_mode=independent judges run 2's checkpoints in run 2's task model" \
    "independent: a session without a run's task model is refused, naming the file" -- \
    "$PDIFF" run --session "$work/indep_old" --config "$work/indep_old/config.csv" --stages generate --quiet
expect_fail 1 "CIFAR-100 needs train.bin and test.bin in /nonexistent or /nonexistent/cifar-100-binary/: unpack the 'CIFAR-100 binary version' (cifar-100-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html)" \
    "a missing CIFAR-100 names the files, the folder and where to get them" -- \
    "$PDIFF" run --session "$work/c100" --set dataset=cifar100 --set data_dir=/nonexistent --quiet

echo "1..$n"
[ "$failed" -eq 0 ]
