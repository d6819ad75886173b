#!/bin/sh
# export.sh — `pdiff export` on a tiny convnet session (the settings of tests/pipeline.sh): every p-diff model as a
# safetensors state_dict with its metadata (accuracy as models.csv says), read back through pdiff itself (a run
# with init= the exported model and epochs=0 measures the accuracy and loss models.csv reports for it), --kind and
# --id (a kind with ':' in the file name as '_'), --out, --format npy (collected.npy K x D, generated.npy N x D,
# target.csv), and bad sessions, ids, kinds, formats and options refused with one line and exit 1 or 2, nothing
# left half-written. TAP output. Skips when pdiff was built without a JSON library.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}"
work="$top_builddir/tests/work/export"
rm -rf "$work"; mkdir -p "$work/data"
. "${top_srcdir:-.}/tests/tap_lib.sh" # n, failed, ok, check
if [ "$PDIFF_HAVE_JSON" = no ]; then
    echo "1..0 # SKIP pdiff was built without a JSON library"
    exit 0
fi
"$top_builddir/tests/gen_idx" "$work/data" 1500 400 12 || { echo "Bail out! gen_idx failed"; exit 1; }

s="$work/s"
tiny="--set dataset=idx:$work/data --set arch=convnet --set epochs=4 --set k=20 --set save_every=1 --set ae_steps=80
 --set ddpm_steps=80 --set n_generate=8 --set n_recon=2 --set timesteps=60 --set ddpm_channels=8,8,8,8
 --set n_noise=2 --set noise_sigmas=0.01,0.1 --set n_finetune=2 --set finetune_steps=3 --set threads=2"
# shellcheck disable=SC2086
"$PDIFF" run --session "$s" $tiny --quiet 2> "$work/run.err"; ok $? "tiny convnet run exits 0"

"$PDIFF" export "$s" > "$work/list" 2> "$work/err"; rc=$?
ok $rc "pdiff export SESSION exits 0"
ids=$(grep ',"pdiff",' "$s/models.csv" | cut -d, -f1)
check "one file per p-diff model (8), each listed on stdout" sh -c "test \$(wc -l < '$work/list') -eq 8 && test \$(ls '$s/export' | wc -l) -eq 8"
for id in $ids; do
    f="$s/export/pdiff-$id.safetensors"
    acc=$(grep "^$id," "$s/models.csv" | cut -d, -f3)
    check "pdiff-$id.safetensors listed, its metadata has kind, id, accuracy $acc, target, version, format" sh -c "
      grep -qx '$f' '$work/list' && head -c 2000 '$f' | grep -a '\"kind\":\"pdiff\"' | grep -a '\"id\":\"$id\"' |
      grep -a '\"accuracy\":\"$acc\"' | grep -a '\"target\":\"bn2.weight,bn2.bias,bn3.weight,bn3.bias\"' |
      grep -a '\"pdiff_version\":' | grep -q '\"format\":\"pt\"'"
done
check "every BatchNorm's running statistics and num_batches_tracked (int64 scalar) are in the file" sh -c "
  f='$s/export/pdiff-$(echo "$ids" | head -n 1).safetensors'
  for bn in bn1 bn2 bn3; do
    head -c 3000 \"\$f\" | grep -aq \"\\\"\$bn.running_mean\\\":{\\\"dtype\\\":\\\"F32\\\",\\\"shape\\\":\\[\" || exit 1
    head -c 3000 \"\$f\" | grep -aq \"\\\"\$bn.num_batches_tracked\\\":{\\\"dtype\\\":\\\"I64\\\",\\\"shape\\\":\\[\\]\" || exit 1
  done"
check "no temporary files left in export/" sh -c "! ls -a '$s/export' | grep -q '\\.tmp\\.'"

# read back through pdiff: init= the exported model, epochs=0: the same accuracy and loss as models.csv
id=$(echo "$ids" | tail -n 1)
row=$(grep "^$id," "$s/models.csv")
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/init" $tiny --set epochs=0 --set "init=$s/export/pdiff-$id.safetensors" --stages train \
    --quiet 2> "$work/init.err"; ok $? "a run with init= the exported model $id and epochs=0 exits 0"
check "it measures model $id's accuracy and loss of models.csv ($row)" sh -c "
  acc=\$(grep '^\"task_accuracy\",' '$work/init/summary.csv' | cut -d, -f2)
  loss=\$(grep '^\"task_test_loss\",' '$work/init/summary.csv' | cut -d, -f2)
  awk -v a=\"\$acc\" -v l=\"\$loss\" -v r='$row' 'BEGIN {split(r, c, \",\"); d = l - c[4]; if (d < 0) d = -d;
    exit !(a == c[3] && d <= 1e-6 * c[4])}'"

# --kind, --id, --out
"$PDIFF" export "$s" --kind original --id 3 --id 5 --out "$work/o1" > "$work/list" 2> "$work/err"
ok $? "--kind original --id 3 --id 5 --out DIR exits 0"
check "DIR has original-3 and original-5 only" test "$(ls "$work/o1" | tr '\n' ' ')" = "original-3.safetensors original-5.safetensors "
nid=$(grep ',"noise:0.01",' "$s/models.csv" | head -n 1 | cut -d, -f1)
"$PDIFF" export "$s" --kind noise:0.01 --out "$work/o2" > /dev/null 2>&1; ok $? "--kind noise:0.01 exits 0"
check "a kind's ':' becomes '_' in the file name (noise_0.01-$nid.safetensors)" test -s "$work/o2/noise_0.01-$nid.safetensors"
"$PDIFF" export "$s" --id "$nid" --out "$work/o3" > /dev/null 2>&1; ok $? "--id alone exports that model whatever its kind"
check "--id $nid: noise_0.01-$nid.safetensors and nothing else" test "$(ls "$work/o3")" = "noise_0.01-$nid.safetensors"

# --format npy
"$PDIFF" export "$s" --format npy --out "$work/npy" > "$work/list" 2> "$work/err"; ok $? "--format npy exits 0"
# the shape in the header (after the 10 bytes of magic, version and header length)
npy_shape() { head -c 128 "$1" | tail -c +11 | tr -d '\n' | sed -n "s/.*'shape': (\([0-9, ]*\)).*/\1/p"; }
check "collected.npy: NumPy 1.0, '<f4', shape (20, 256), 20 x 256 floats" sh -c "
  head -c 8 '$work/npy/collected.npy' | od -An -c | tr -d ' \n' | grep -q '223NUMPY001\\\\0' &&
  head -c 128 '$work/npy/collected.npy' | grep -aq \"'descr': '<f4'\" &&
  test '$(npy_shape "$work/npy/collected.npy")' = '20, 256' && test \$(wc -c < '$work/npy/collected.npy') -eq \$((128 + 20 * 256 * 4))"
check "generated.npy: shape (8, 256)" sh -c "
  test '$(npy_shape "$work/npy/generated.npy")' = '8, 256' && test \$(wc -c < '$work/npy/generated.npy') -eq \$((128 + 8 * 256 * 4))"
check "target.csv: name,shape,offset,count of bn2.weight .. bn3.bias" test "$(tr -d '"' < "$work/npy/target.csv" | tr '\n' ' ')" = \
    "name,shape,offset,count bn2.weight,64,0,64 bn2.bias,64,64,64 bn3.weight,64,128,64 bn3.bias,64,192,64 "
check "the three files listed on stdout" test "$(wc -l < "$work/list")" -eq 3

# refused
refused 1 "--id 9999" "an id that is not a model: exit 1 naming --id" "$PDIFF" export "$s" --id 9999 --out "$work/bad"
refused 1 "not pdiff" "--kind pdiff --id of an original: exit 1" "$PDIFF" export "$s" --kind pdiff --id 0 --out "$work/bad"
refused 1 "--kind nosuch" "a kind with no models: exit 1 naming it and the kinds there are" \
    "$PDIFF" export "$s" --kind nosuch --out "$work/bad"
check "... which lists the kinds" grep -q "original, ensemble" "$work/err"
refused 2 "--id" "--id abc: usage error" "$PDIFF" export "$s" --id abc --out "$work/bad"
refused 2 "--id" "--id -1: usage error" "$PDIFF" export "$s" --id -1 --out "$work/bad"
refused 2 "--format" "--format xml: usage error" "$PDIFF" export "$s" --format xml --out "$work/bad"
refused 2 "--id" "--format npy --id 3: usage error" "$PDIFF" export "$s" --format npy --id 3 --out "$work/bad"
refused 2 "usage" "no SESSION: usage error" "$PDIFF" export --kind pdiff
refused 2 "--bogus" "an unknown option: usage error" "$PDIFF" export "$s" --bogus
refused 1 "not a session" "a folder that is not a session: exit 1" "$PDIFF" export "$work/data" --out "$work/bad"
check "nothing written for the refused exports" test ! -e "$work/bad"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/part" $tiny --stages train --quiet 2> /dev/null
refused 1 "models.bin" "a session without state/models.bin: exit 1 naming it and the stage" \
    "$PDIFF" export "$work/part" --out "$work/bad"
check "... the generate stage" grep -q "generate" "$work/err"
check "pdiff --help lists export" sh -c "'$PDIFF' --help | grep -q '^  export SESSION'"

echo "1..$n"
[ "$failed" -eq 0 ]
