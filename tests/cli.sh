#!/bin/sh
# cli.sh — the command line end to end on a generated IDX data set: a tiny training run writes a well-formed
# session; bad input gives one clear line and the right exit status. TAP output.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}"
work="$top_builddir/tests/work/cli"
rm -rf "$work"; mkdir -p "$work/data"
. "${top_srcdir:-.}/tests/tap_lib.sh" # n, failed, ok, check

"$top_builddir/tests/gen_idx" "$work/data" 2000 500 12 || { echo "Bail out! gen_idx failed"; exit 1; }

check "--help exits 0" "$PDIFF" --help
"$PDIFF" --version > "$work/version.txt" 2>&1; ok $? "--version exits 0"
check "--version names the BLAS kernels" grep -q '^blas: OpenBLAS' "$work/version.txt"

# a tiny training run
sess="$work/s1"
"$PDIFF" run --stages train --set "dataset=idx:$work/data" --set arch=mlp --set epochs=3 --set batch=64 \
    --set lr=0.05 --session "$sess" --quiet > "$work/run.out" 2> "$work/run.err"
ok $? "run --stages train exits 0"
check "quiet run prints nothing" test ! -s "$work/run.err"
check "config.csv has the header key,value" sh -c "head -n 1 '$sess/config.csv' | grep -qx '\"key\",\"value\"'"
check "config.csv records the dataset" grep -q "^\"dataset\",\"idx:$work/data\"" "$sess/config.csv"
check "config.csv records the seed" grep -q '^"seed",' "$sess/config.csv"
check "config.csv records the BLAS" grep -q '^"blas",' "$sess/config.csv"
check "losses.csv header" sh -c "head -n 1 '$sess/losses.csv' | grep -qx '\"stage\",\"step\",\"loss\",\"accuracy\"'"
check "losses.csv has task rows" grep -q '^"task",[0-9]' "$sess/losses.csv"
acc=$(grep '^"task_accuracy"' "$sess/summary.csv" | cut -d, -f2)
check "summary.csv has task_accuracy ($acc) above 0.6" awk -v a="$acc" 'BEGIN { exit !(a > 0.6 && a <= 1) }'
check "summary.csv has seconds_train" grep -q '^"seconds_train",' "$sess/summary.csv"
check "state/task.bin written" test -s "$sess/state/task.bin"
check "no temporary files left" sh -c "! ls -a '$sess' '$sess/state' | grep -q '\.tmp\.'"

# a session's config.csv is a valid --config file (its recorded rows are skipped); a typo in one is not
"$PDIFF" run --stages train --config "$sess/config.csv" --set epochs=1 --session "$work/s1c" --quiet 2> "$work/cfg.err"
ok $? "run --config with a session's config.csv exits 0 ($(head -c 200 "$work/cfg.err"))"
check "the run took the session's settings" grep -q '^"arch","mlp"' "$work/s1c/config.csv"
{ cat "$sess/config.csv"; echo '"epocs","2"'; } > "$work/typo.csv"

# progress on stderr without --quiet
"$PDIFF" run --stages train --set "dataset=idx:$work/data" --set arch=mlp --set epochs=1 --session "$work/s2" \
    > /dev/null 2> "$work/progress.err"
ok $? "run with progress exits 0"
check "progress lines on stderr" grep -q 'task .*100%' "$work/progress.err"
check "run into an existing session without --stages is refused" sh -c "! '$PDIFF' run --session '$work/s2' --quiet 2>/dev/null"

# bad input: one line naming the problem, exit 1 (user error) or 2 (usage)
expect() { # expect STATUS PATTERN DESCRIPTION -- command...
    want=$1 pat=$2 desc=$3; shift 4
    "$@" > /dev/null 2> "$work/err.txt"; got=$?
    lines=$(wc -l < "$work/err.txt")
    if [ "$got" -eq "$want" ] && grep -q -- "$pat" "$work/err.txt" && [ "$lines" -eq 1 ]; then ok 0 "$desc"
    else ok 1 "$desc (status $got, $(head -c 200 "$work/err.txt"))"; fi
}
mkdir -p "$work/bad"
cp "$work/data"/* "$work/bad/"
head -c 1000 "$work/data/train-images-idx3-ubyte" > "$work/bad/train-images-idx3-ubyte"
expect 1 "train-images-idx3-ubyte.*truncated" "truncated IDX file: exit 1 naming the file" -- \
    "$PDIFF" run --stages train --set "dataset=idx:$work/bad" --session "$work/s3" --quiet
check "a run that failed before any stage completed leaves no session folder behind" test ! -e "$work/s3"
mkdir -p "$work/s3b"; echo keep > "$work/s3b/notes.txt"
"$PDIFF" run --stages train --set "dataset=idx:$work/bad" --session "$work/s3b" --quiet 2> /dev/null
check "(but a folder that existed before keeps its files)" test -s "$work/s3b/notes.txt"
printf 'XXXX' | dd of="$work/bad/train-images-idx3-ubyte" conv=notrunc 2>/dev/null
cp "$work/data/train-images-idx3-ubyte" "$work/bad/train-images-idx3-ubyte"
printf '\001\002\003\004' | dd of="$work/bad/train-images-idx3-ubyte" conv=notrunc 2>/dev/null
expect 1 "train-images-idx3-ubyte.*magic" "wrong-magic IDX file: exit 1 naming the file" -- \
    "$PDIFF" run --stages train --set "dataset=idx:$work/bad" --session "$work/s4" --quiet
expect 1 "colour" "unknown --set key: exit 1 naming the key" -- "$PDIFF" run --set colour=red --quiet
expect 1 "^pdiff: k:" "out-of-range value: exit 1 naming the key" -- "$PDIFF" run --set k=-5 --quiet
expect 1 "epochs" "non-numeric value: exit 1 naming the key" -- "$PDIFF" run --set epochs=two --quiet
expect 2 "bogus" "unknown stage: exit 2" -- "$PDIFF" run --stages bogus --quiet
expect 2 "frobnicate" "unknown command: exit 2" -- "$PDIFF" frobnicate
expect 2 "no_such_bench" "unknown bench workload: exit 2" -- "$PDIFF" bench --only no_such_bench
expect 1 "nothere.csv" "missing --config file: exit 1 naming it" -- "$PDIFF" run --config "$work/nothere.csv" --quiet
expect 1 "typo.csv:[0-9]*: epocs: unknown key" "unknown key in a --config file: exit 1 naming file, line and key" -- \
    "$PDIFF" run --config "$work/typo.csv" --quiet

# an empty session folder name names no folder (it used to write into / or the current folder)
for cmd in "run --session" "resume" "report" "sweep k=5,10 --session" "tui" "tui --session"; do
    # shellcheck disable=SC2086
    expect 1 "empty folder name" "pdiff $cmd '': exit 1, one line" -- timeout 60 "$PDIFF" $cmd '' < /dev/null
done

# one writer per session: a second run or resume is refused naming the owner; a reader (report) is not
tiny="--set dataset=idx:$work/data --set arch=mlp --set epochs=1 --set k=10 --set ae_steps=30 --set ddpm_steps=30
 --set n_generate=4 --set timesteps=30 --set ddpm_channels=8,8,8,8 --set n_finetune=1 --set n_noise=1 --set n_recon=1
 --set threads=2"
lk="$work/locked"
# shellcheck disable=SC2086
"$PDIFF" run --session "$lk" $tiny --set ae_steps=10000000 > /dev/null 2> "$work/lk1.err" &
pid=$!
t=0; while [ $t -lt 600 ] && ! grep -q 'stage ae: start' "$work/lk1.err" 2> /dev/null; do sleep 0.1; t=$((t + 1)); done
expect 1 "in use by pdiff run (pid $pid)" "a second writer on a busy session: exit 1 naming the owner" -- \
    timeout 60 "$PDIFF" run --session "$lk" --stages generate --quiet
expect 1 "in use by pdiff run (pid $pid)" "a new run into a busy session: exit 1 naming the owner" -- \
    timeout 60 "$PDIFF" run --session "$lk" --quiet
expect 1 "in use by pdiff run (pid $pid)" "resume of a busy session: exit 1 naming the owner" -- \
    timeout 60 "$PDIFF" resume "$lk" --set ae_steps=10000000 --quiet
check "report reads a busy session" "$PDIFF" report "$lk"
kill -INT $pid; wait $pid
"$PDIFF" resume "$lk" --set ae_steps=10000000 > /dev/null 2> "$work/lk2.err" &
pid=$!
t=0; while [ $t -lt 600 ] && ! grep -q 'stage ae: start' "$work/lk2.err" 2> /dev/null; do sleep 0.1; t=$((t + 1)); done
kill -9 $pid; wait $pid 2> /dev/null
: > "$lk/.summary.csv.tmp.99999999"; : > "$lk/state/.ae.bin.tmp.99999998"
"$PDIFF" resume "$lk" --set ae_steps=10000000 --quiet > /dev/null 2>&1 &
pid=$!
t=0; while [ $t -lt 300 ] && [ -e "$lk/.summary.csv.tmp.99999999" ]; do sleep 0.1; t=$((t + 1)); done
check "the lock of a killed writer does not block a resume, which removes the killed writers' temporaries" \
    sh -c "! ls -a '$lk' '$lk/state' | grep -q '\.tmp\.9999999'"
kill -INT $pid; wait $pid

# resume keeps the settings the session ran with: only run settings (threads, device) may change
fin="$work/finished"
# shellcheck disable=SC2086
"$PDIFF" run --session "$fin" $tiny --quiet; ok $? "a tiny whole run exits 0"
"$PDIFF" resume "$fin" --set threads=1 --quiet; ok $? "resume --set threads=1 is accepted"
cp "$fin/config.csv" "$work/fin.config.csv"
expect 1 "k: cannot change when resuming" "resume --set k=20: exit 1 naming the key" -- \
    "$PDIFF" resume "$fin" --set k=20 --quiet
expect 1 "preset: cannot change when resuming" "resume --set preset=paper: exit 1 naming the key" -- \
    "$PDIFF" resume "$fin" --set preset=paper --quiet
check "config.csv still says what the session ran with" cmp -s "$fin/config.csv" "$work/fin.config.csv"
grep -v '^"ae_lr",' "$work/fin.config.csv" > "$fin/config.csv"
expect 1 "config.csv: no row for the setting 'ae_lr'" "resume with a config.csv row removed: exit 1 naming file and key" -- \
    "$PDIFF" resume "$fin" --quiet
sed 's/^"k",.*$//' "$work/fin.config.csv" > "$fin/config.csv"
expect 1 "config.csv: no row for the setting 'k'" "resume with a blanked config.csv row: exit 1 naming file and key" -- \
    "$PDIFF" resume "$fin" --quiet
expect 1 "config.csv: no row for the setting 'k'" "run --stages on that session: the same" -- \
    "$PDIFF" run --session "$fin" --stages analyze --quiet

# hostile --config files
printf 'key,value\nk,5\000zz\n' > "$work/nul.csv"
expect 1 "nul.csv:2: a NUL byte" "a NUL byte in a --config value: exit 1 naming file and line" -- \
    "$PDIFF" run --config "$work/nul.csv" --set "dataset=idx:$work/nowhere" --quiet
expect 1 "/dev/zero: not a regular file" "--config /dev/zero: exit 1 at once" -- \
    timeout 20 "$PDIFF" run --config /dev/zero --quiet
awk 'BEGIN { printf "key,value\n"; for (i = 0; i < 100000; i++) printf "a"; printf ",1\n" }' > "$work/longkey.csv"
expect 1 "aaa\.\.\.: unknown key" "a 100000-character unknown key: exit 1, the key cut" -- \
    "$PDIFF" run --config "$work/longkey.csv" --quiet
check "(the line is short, apart from the file's path)" test "$(sed "s|$work||g" "$work/err.txt" | wc -c)" -lt 300

# bench runs and prints its lines
"$PDIFF" bench --only task_eval_ips --threads 1 > "$work/bench.out" 2>/dev/null
ok $? "bench --only task_eval_ips exits 0"
check "bench prints task_eval_ips,images/s,N" grep -Eq '^task_eval_ips,images/s,[0-9.e+]+$' "$work/bench.out"

# run --dry-run: the plan (work, memory, time per stage, measured here) on stdout; nothing is created
mkdir -p "$work/dry"
(cd "$work/dry" && "$PDIFF" run --dry-run --set preset=paper --set threads=1 > plan.out 2> plan.err)
ok $? "run --dry-run --set preset=paper exits 0 ($(head -c 200 "$work/dry/plan.err"))"
missing=
for s in train collect ae ddpm generate analyze; do grep -q "^$s " "$work/dry/plan.out" || missing="$missing $s"; done
ok $([ -z "$missing" ] && echo 0 || echo 1) "the plan lists all six stages${missing:+ (missing:$missing)}"
check "the plan prints an estimated total with its time" grep -Eq '^total .*estimated.*[0-9.]+ (s|min|h|days)$' \
    "$work/dry/plan.out"
check "the plan names the backend and threads it measured on" grep -q 'measured on cpu with 1 thread' \
    "$work/dry/plan.out"
check "the plan gives the address space it needs and the limit (ulimit -v)" \
    grep -Eq '^address space: up to about [0-9.]+ [KMGT]iB, limit \(ulimit -v\) ' "$work/dry/plan.out"
check "the paper plan: ResNet-18's 11,220,132 parameters, 23,460 steps, K = 200 x 782" sh -c \
    "grep -q '23,460 SGD steps, batch 64; 11,220,132 parameters' '$work/dry/plan.out' &&
     grep -q '156,400 iterations for K = 200' '$work/dry/plan.out'"
check "--dry-run creates nothing (no sessions/ folder)" test "$(ls -A "$work/dry")" = "$(printf 'plan.err\nplan.out')"
(cd "$work/dry" && "$PDIFF" run --dry-run --set "dataset=idx:$work/data" --set arch=mlp --set epochs=1 \
    --set threads=1 > small.out 2>&1)
ok $? "run --dry-run on the test data exits 0"
check "the small plan counts the files' images (2000 + 500; the test files are gzip-compressed)" \
    grep -q '^data: 2000 training + 500 test images$' "$work/dry/small.out"
expect 1 "^pdiff: k: must be an integer" "run --dry-run with a bad setting: exit 1 with the key's message" -- \
    "$PDIFF" run --dry-run --set k=1
expect 1 "^pdiff: target: 'nosuch' matches no parameter" "run --dry-run with a target that selects nothing: exit 1" -- \
    "$PDIFF" run --dry-run --set target=nosuch --set "dataset=idx:$work/data"
check "--dry-run is in --help" sh -c "'$PDIFF' --help | grep -q -- '--dry-run'"

echo "1..$n"
[ "$failed" -eq 0 ]
