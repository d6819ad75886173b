#!/bin/sh
# import.sh — models made elsewhere: init=FILE.safetensors and checkpoints=DIR. A PyTorch-trained convnet
# (tests/fixtures/import, made by tests/gen_import.py) measured by pdiff at the accuracy PyTorch measured; a saved
# task model (tests/st_make) used as it is, or trained further; a changed init file not continued; bad init files
# refused before training; p-diff on a folder of 20 checkpoints through every stage; too few files, a tensor
# outside the target that differs, a damaged file and another architecture's checkpoint. TAP output.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}" "${top_srcdir:=.}"
work="$top_builddir/tests/work/import"
rm -rf "$work"; mkdir -p "$work/data" "$work/data8"
work=$(cd "$work" && pwd) # absolute: config.csv keeps the paths given, and resume reads them again
. "${top_srcdir:-.}/tests/tap_lib.sh" # n, failed, ok, check
expect_fail() { # STATUS PATTERN DESCRIPTION -- command
    want=$1 pat=$2 desc=$3; shift 4
    "$@" > /dev/null 2> "$work/err.txt"; got=$?
    if [ "$got" -eq "$want" ] && grep -q -- "$pat" "$work/err.txt" && [ "$(wc -l < "$work/err.txt")" -eq 1 ]; then ok 0 "$desc"
    else ok 1 "$desc (status $got: $(head -c 300 "$work/err.txt"))"; fi
}
summary() { grep "^\"$2\"," "$1/summary.csv" | cut -d, -f2; }
mk="$top_builddir/tests/st_make"
"$top_builddir/tests/gen_idx" "$work/data" 1500 400 10 || { echo "Bail out! gen_idx failed"; exit 1; }
"$mk" random mlp 1 8 8 10 "$work/probe.safetensors" 2> "$work/probe.err" ||
    if grep -q 'without a JSON library' "$work/probe.err"; then echo "1..0 # SKIP pdiff was built without a JSON library"; exit 77
    else echo "Bail out! st_make: $(cat "$work/probe.err")"; exit 1; fi

# --- init=: PyTorch's convnet (F16 weights, BatchNorm running statistics from the file) ------------------------
fx="$top_srcdir/tests/fixtures/import"
# shellcheck disable=SC2046
"$top_builddir/tests/gen_idx" "$work/data8" $(awk '$1 == "gen_idx" {print $2, $3, $4}' "$fx/convnet.txt") ||
    { echo "Bail out! gen_idx failed"; exit 1; }
want=$(awk '$1 == "test_accuracy" {print $2}' "$fx/convnet.txt")
t="$work/torch"
"$PDIFF" run --session "$t" --set "dataset=idx:$work/data8" --set arch=convnet --set epochs=0 \
    --set "init=$fx/convnet.safetensors" --set threads=2 --stages train 2> "$work/torch.err"
ok $? "init= a PyTorch-saved convnet with epochs=0 exits 0"
got=$(summary "$t" task_accuracy)
check "... task_accuracy ($got) is the accuracy PyTorch measured ($want) within 0.05 points" \
    awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; exit !(a != "" && d <= 0.0005 && d >= -0.0005) }'
check "... the log says the model starts from the file and is used as it is" \
    grep -q "train: the task model starts from init=.*convnet.safetensors and is used as it is (epochs=0)" "$work/torch.err"
check "... no task loss points (nothing trained)" sh -c "! grep -q '^\"task\",' '$t/losses.csv'"

# --- init=: a saved pdiff model ------------------------------------------------------------------------------
tiny="--set dataset=idx:$work/data --set arch=mlp --set epochs=2 --set k=20 --set save_every=1 --set ae_steps=80
 --set ddpm_steps=80 --set n_generate=8 --set n_recon=2 --set timesteps=60 --set ddpm_channels=8,8,8,8
 --set n_noise=2 --set noise_sigmas=0.01,0.1 --set n_finetune=2 --set finetune_steps=3 --set threads=2"
a="$work/a"
# shellcheck disable=SC2086
"$PDIFF" run --session "$a" $tiny --stages train --quiet; ok $? "a trained task model (session a)"
"$mk" task "$a/state/task.bin" "$work/a.safetensors"; ok $? "st_make saves it as safetensors"
b="$work/b"
# shellcheck disable=SC2086
"$PDIFF" run --session "$b" $tiny --set epochs=0 --set "init=$work/a.safetensors" --stages train --quiet
ok $? "init= that model with epochs=0 exits 0"
check "... task_accuracy equals the accuracy pdiff measured for it ($(summary "$a" task_accuracy))" \
    test "$(summary "$b" task_accuracy)" = "$(summary "$a" task_accuracy)"
check "... task_test_loss too" test "$(summary "$b" task_test_loss)" = "$(summary "$a" task_test_loss)"
check "... and state/task.bin is the same file" cmp -s "$a/state/task.bin" "$b/state/task.bin"
c="$work/c"
# shellcheck disable=SC2086
"$PDIFF" run --session "$c" $tiny --set "init=$work/a.safetensors" --stages train 2> "$work/c.err"
ok $? "init= with epochs=2 trains from it"
check "... from the file (log), with task loss points" sh -c "
  grep -q 'train: the task model starts from init=$work/a.safetensors\$' '$work/c.err' && grep -q '^\"task\",' '$c/losses.csv'"
check "... to another model than a random start's" sh -c "! cmp -s '$a/state/task.bin' '$c/state/task.bin'"

# bad init files, refused before training
x="$work/x"
# shellcheck disable=SC2086
expect_fail 1 "init=$work/nowhere.safetensors: cannot open the file" "a missing init file is refused, naming it" -- \
    "$PDIFF" run --session "$x" $tiny --set "init=$work/nowhere.safetensors" --quiet
check "... before the train stage ran (no task.bin, no loss points)" sh -c "
  test ! -e '$x/state/task.bin' && ! grep -q '^\"task\",' '$x/losses.csv' 2>/dev/null"
"$mk" random mlp 1 8 8 10 "$work/mlp8.safetensors"; ok $? "st_make: an mlp for 8x8 images"
# shellcheck disable=SC2086
expect_fail 1 "mlp8.safetensors: tensor fc1.weight has shape \[256, 64\], but the mlp model expects \[256, 100\]" \
    "init= of another shape is refused naming the file, the tensor and what was expected" -- \
    "$PDIFF" run --session "$x" $tiny --set "init=$work/mlp8.safetensors" --quiet
check "... before training (no task.bin, no loss points)" sh -c "
  test ! -e '$x/state/task.bin' && ! grep -q '^\"task\",' '$x/losses.csv' 2>/dev/null"
head -c 300 "$work/a.safetensors" > "$work/cut.safetensors"
# shellcheck disable=SC2086
expect_fail 1 "cut.safetensors" "a truncated init file is refused naming it" -- \
    "$PDIFF" run --session "$x" $tiny --set "init=$work/cut.safetensors" --quiet

# the train checkpoint records the init file: a changed file is not continued
ck="$work/ck"
mkdir -p "$ck"
"$mk" series "$a/state/task.bin" "$ck" 20 fc3.weight,fc3.bias; ok $? "st_make: 20 checkpoints whose fc3 differ"
cp "$ck/ckpt_000.safetensors" "$work/init.safetensors"
r="$work/resumed"
# shellcheck disable=SC2086
"$PDIFF" run --session "$r" $tiny --set epochs=300 --set "init=$work/init.safetensors" --stages train \
    > /dev/null 2> "$work/r1.err" &
pid=$!
wait_until "test -e '$r/state/train_ckpt.bin'"; kill -INT $pid; wait $pid; rc=$?
check "Ctrl-C in train from init= saves its checkpoint (rc $rc)" sh -c "[ $rc -eq 130 ] && test -e '$r/state/train_ckpt.bin'"
"$PDIFF" resume "$r" > /dev/null 2> "$work/r2.err" &
pid=$!
wait_until "grep -q 'train: resuming after step' '$work/r2.err'"; kill -INT $pid; wait $pid
check "... resumed with the same file, it continues" grep -q 'train: resuming after step' "$work/r2.err"
cp "$ck/ckpt_005.safetensors" "$work/init.safetensors" # same size, other bytes
"$PDIFF" resume "$r" > /dev/null 2> "$work/r3.err"; ok $? "resume after the init file changed finishes"
check "... but starts training over (the checkpoint was made with another file)" sh -c "
  grep -q 'train_ckpt.bin was made with other settings; training from the start' '$work/r3.err' &&
  ! grep -q 'train: resuming after step' '$work/r3.err'"

# --- checkpoints=DIR --------------------------------------------------------------------------------------------
s="$work/ckpts"
# shellcheck disable=SC2086
"$PDIFF" run --session "$s" $tiny --set "checkpoints=$ck" 2> "$work/s.err"; ok $? "checkpoints= 20 files, k=20: every stage completes"
for f in params.csv models.csv similarity.csv latents.csv state/collect.bin state/ae.bin state/ddpm.bin state/models.bin; do
    check "... session has $f" test -s "$s/$f"
done
check "... the train stage takes the first checkpoint and says epochs is ignored" \
    grep -q "train: checkpoints=$ck: the task model is its first checkpoint, $ck/ckpt_000.safetensors; nothing is trained (epochs=2 is ignored)" "$work/s.err"
check "... the task model is the first checkpoint's (task.bin equals session a's)" cmp -s "$a/state/task.bin" "$s/state/task.bin"
check "... no loss points of task or collect" sh -c "! grep -q '^\"task\",\|^\"collect\",' '$s/losses.csv'"
check "... 20 originals in models.csv" test "$(grep -c ',"original",' "$s/models.csv")" -eq 20
check "... params.csv: checkpoint i is fc3 + i * 0.01 (v0 of rows 1 and 20)" awk -F, '
  NR == 2 {a = $2} NR == 21 {b = $2} END {d = b - a - 0.19; exit !(NR == 21 && d < 1e-4 && d > -1e-4)}' "$s/params.csv"
check "... nothing outside the target differs: logged, and summary.csv's count is 0" sh -c "
  grep -q 'collect: every tensor outside the target equals the first checkpoint' '$work/s.err' &&
  grep -q '^\"checkpoints_outside_target_differ\",0\$' '$s/summary.csv'"
check "... the original models' accuracies, the first the task model's" sh -c "
  test \"\$(grep '^0,\"original\",' '$s/models.csv' | cut -d, -f3)\" = '$(summary "$a" task_accuracy)'"
y="$work/y"
# shellcheck disable=SC2086
expect_fail 1 "checkpoints=$ck holds 20 .safetensors files, fewer than k=30 (set k=20)" \
    "k=30 with 20 files is refused naming the folder and how many it holds" -- \
    "$PDIFF" run --session "$y" $tiny --set "checkpoints=$ck" --set k=30 --quiet
check "... before the train stage ran" test ! -e "$y/state/task.bin"
mkdir -p "$work/empty"
# shellcheck disable=SC2086
expect_fail 1 "checkpoints=$work/empty: no .safetensors files" "an empty folder is refused" -- \
    "$PDIFF" run --session "$y" $tiny --set "checkpoints=$work/empty" --quiet
# shellcheck disable=SC2086
expect_fail 1 "are both set" "init= and checkpoints= together are refused" -- \
    "$PDIFF" run --session "$y" $tiny --set "checkpoints=$ck" --set "init=$work/a.safetensors" --quiet

od="$work/ck_other"
mkdir -p "$od"
"$mk" series "$a/state/task.bin" "$od" 20 fc3.weight,fc3.bias fc1.bias 3; ok $? "st_make: checkpoint 3 also differs in fc1.bias"
o="$work/other"
# shellcheck disable=SC2086
"$PDIFF" run --session "$o" $tiny --set "checkpoints=$od" --stages train,collect 2> "$work/o.err"
ok $? "checkpoints= with a tensor outside the target that differs: collect completes"
check "... the log names the tensor and in how many checkpoints it differs" \
    grep -q 'collect: warning: fc1.bias, outside the target, differs from the task model.* in 1 of 20 checkpoints' "$work/o.err"
check "... summary.csv: checkpoints_outside_target_differ 1" grep -q '^"checkpoints_outside_target_differ",1$' "$o/summary.csv"
cp "$o/params.csv" "$work/o_params.csv"
"$PDIFF" run --session "$o" --stages collect --quiet; ok $? "collect from checkpoints run again"
check "... reads the same vectors" cmp -s "$o/params.csv" "$work/o_params.csv"

dd_="$work/ck_damaged"
cp -r "$ck" "$dd_"
head -c 2000 "$ck/ckpt_007.safetensors" > "$dd_/ckpt_007.safetensors"
# shellcheck disable=SC2086
expect_fail 1 "ckpt_007.safetensors" "a damaged checkpoint is refused naming it" -- \
    "$PDIFF" run --session "$work/damaged" $tiny --set "checkpoints=$dd_" --stages train,collect --quiet
ad="$work/ck_arch"
cp -r "$ck" "$ad"
"$mk" random convnet 1 10 10 10 "$ad/ckpt_011.safetensors"; ok $? "st_make: a convnet checkpoint among the mlp ones"
# shellcheck disable=SC2086
expect_fail 1 "ckpt_011.safetensors: tensor .* is" "a checkpoint of another architecture is refused naming the file and the tensor" -- \
    "$PDIFF" run --session "$work/arch" $tiny --set "checkpoints=$ad" --stages train,collect --quiet

echo "1..$n"
[ "$failed" -eq 0 ]
