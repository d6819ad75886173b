#!/bin/sh
# faults.sh — a session survives faults. kill -9 at several points of a small run, each followed by `pdiff resume`,
# ends with the same files as an uninterrupted run (every CSV, losses.csv included); a second writer on a session is
# refused naming the owner; a write past a file size limit at each of four stages ends with one line naming the file
# and a session that resumes to the same files; under an address space limit no run hangs (OpenBLAS's endless retry
# ends with one line); a full disk (a small tmpfs, when this test may mount one) ends with
# a clear message and a resumable session. Where the kills land depends on the machine's speed; what is checked does not. TAP output.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}"
work="$top_builddir/tests/work/faults"
rm -rf "$work"; mkdir -p "$work/data"
work=$(cd "$work" && pwd)
. "${top_srcdir:-.}/tests/tap_lib.sh" # n, failed, ok, check
"$top_builddir/tests/gen_idx" "$work/data" 1500 400 10 || { echo "Bail out! gen_idx failed"; exit 1; }

tiny="--set dataset=idx:$work/data --set arch=mlp --set epochs=2 --set k=20 --set save_every=1 --set ae_steps=150
 --set ddpm_steps=150 --set n_generate=8 --set n_recon=2 --set timesteps=60 --set ddpm_channels=8,8,8,8
 --set n_noise=2 --set noise_sigmas=0.01,0.1 --set n_finetune=2 --set finetune_steps=3 --set threads=2 --set seed=7"
ref="$work/ref"
# shellcheck disable=SC2086
"$PDIFF" run --session "$ref" $tiny --quiet 2> "$work/ref.err"; ok $? "the uninterrupted run exits 0"

# same_files A B: every CSV of the two sessions is identical (summary.csv without its seconds_ rows)
same_files() {
    cmp -s "$1/config.csv" "$2/config.csv" || { echo "# config.csv differs"; return 1; }
    same_results "$1" "$2"
}

# wait_text FILE TEXT: poll (at most 60 s) until FILE contains TEXT
wait_text() {
    t=0
    while [ $t -lt 600 ] && ! grep -q "$2" "$1" 2> /dev/null; do sleep 0.1; t=$((t + 1)); done
}

# Kill points: at the start of each stage, and part-way through it (after a few of its own progress lines).
k=0
for point in train:1 collect:1 ae:1 ddpm:0 ddpm:1 generate:1 analyze:0; do
    stage=${point%:*} late=${point#*:}
    where=$([ "$late" -eq 1 ] && echo "part-way through" || echo "at the start of")
    {
        k=$((k + 1))
        s="$work/kill$k"
        # shellcheck disable=SC2086
        "$PDIFF" run --session "$s" $tiny > /dev/null 2> "$work/kill$k.err" &
        pid=$!
        wait_text "$work/kill$k.err" "stage $stage: start"
        [ "$late" -eq 1 ] && sleep 0.3
        kill -9 $pid 2> /dev/null
        wait $pid 2> /dev/null
        rc=0
        tries=0
        # resume until done (a kill may land before the session exists: then run it again from scratch)
        while :; do
            tries=$((tries + 1))
            if [ -f "$s/config.csv" ]; then
                "$PDIFF" resume "$s" --quiet 2>> "$work/kill$k.err"; rc=$?
            else
                # shellcheck disable=SC2086
                "$PDIFF" run --session "$s" $tiny --quiet 2>> "$work/kill$k.err"; rc=$?
            fi
            [ $rc -eq 0 ] || [ $tries -ge 2 ] && break
        done
        ok $rc "kill -9 $where stage $stage, then resume: exits 0"
        same_files "$ref" "$s"; ok $? "kill -9 $where stage $stage: the resumed session equals the uninterrupted run"
        left=$(find "$s" -name '*.tmp.*' | head -n 3)
        ok $([ -z "$left" ] && echo 0 || echo 1) "kill -9 $where stage $stage: no temporary file left after resume${left:+: $left}"
    }
done

# a write past a file size limit (prlimit --fsize, as a batch system's ulimit -f), once at the file of each of
# four stages: the limit is one byte under that file's size in the uninterrupted run, above every file written
# before it. pdiff is not killed by SIGXFSZ: one line naming the file, exit status 1, no temporary file; then
# resume without the limit ends with the uninterrupted run's files. A run that completed no stage leaves no session.
if command -v prlimit > /dev/null 2>&1; then
    for file in state/task.bin params.csv state/ae.bin state/models.bin; do
        s="$work/fsize-$(basename "$file" | tr . -)"
        lim=$(($(stat -c %s "$ref/$file") - 1))
        # shellcheck disable=SC2086
        prlimit --fsize=$lim "$PDIFF" run --session "$s" $tiny --quiet > /dev/null 2> "$work/fsize.err"; rc=$?
        lines=$(wc -l < "$work/fsize.err")
        ok $([ $rc -eq 1 ] && [ "$lines" -eq 1 ] && grep -q "$file: write failed: File too large" "$work/fsize.err" &&
            echo 0 || echo 1) "$file over the file size limit: exit 1 and one line naming it (exit $rc: $(head -c 200 "$work/fsize.err"))"
        left=$(find "$s" -name '*.tmp.*' 2> /dev/null | head -n 3)
        ok $([ -z "$left" ] && echo 0 || echo 1) "$file over the file size limit: no temporary file left${left:+: $left}"
        if [ "$file" = state/task.bin ]; then
            check "a run that completed no stage leaves no session folder" test ! -e "$s"
            # shellcheck disable=SC2086
            "$PDIFF" run --session "$s" $tiny --quiet 2> "$work/fsize2.err"; ok $? "the same --session then runs (exit 0)"
        else
            "$PDIFF" resume "$s" --quiet 2> "$work/fsize2.err"; ok $? "$file over the file size limit: resume exits 0"
        fi
        same_files "$ref" "$s"; ok $? "$file over the file size limit: the finished session equals the uninterrupted run"
    done
else
    skip "no prlimit (util-linux) here"
fi

# an address space limit (prlimit --as, as ulimit -v or Grid Engine's h_vmem): limits from 128 MiB up in steps of
# 128 MiB at threads=4, until a run completes. Debian's OpenBLAS retries a work buffer it cannot map forever; in
# some of these steps that is where the limit bites first. No run may hang (timeout is only the guard against that):
# each ends with exit 0, or exit 1 and one line (the loader's refusal of a build whose libraries alone exceed the
# limit aside). The OpenBLAS case names the limit, and its session resumes without the limit (at threads=2) to the
# uninterrupted run's files. The first hang ends the steps. A sanitizer build cannot run under such a limit at
# all: skipped there.
if command -v prlimit > /dev/null 2>&1 && command -v timeout > /dev/null 2>&1 &&
    prlimit --as=$((16 << 30)) "$PDIFF" --version > /dev/null 2>&1; then
    mib=128 hung="" bad="" blas="" done_at=""
    while [ -z "$done_at" ] && [ $mib -le 8192 ]; do
        s="$work/as$mib"
        # shellcheck disable=SC2086
        timeout -k 5 120 prlimit --as=$((mib << 20)) "$PDIFF" run --session "$s" $tiny --set threads=4 --quiet \
            > /dev/null 2> "$work/as.err"; rc=$?
        lines=$(wc -l < "$work/as.err")
        echo "# $mib MiB: exit $rc $(head -c 160 "$work/as.err")"
        case $rc in
        0) done_at=$mib ;;
        1) [ "$lines" -eq 1 ] || bad="$bad $mib:$lines-lines"
           if grep -q "out of memory: OpenBLAS cannot map its .* under the address space limit of $mib MiB" \
               "$work/as.err" && [ -z "$blas" ]; then
               blas=$mib; cp "$work/as.err" "$work/as-blas.err"
           fi ;;
        124 | 137) hung="$hung $mib"; break ;;
        127) grep -q "error while loading shared libraries" "$work/as.err" || bad="$bad $mib:exit-127" ;;
        *) bad="$bad $mib:exit-$rc" ;;
        esac
        mib=$((mib + 128))
    done
    ok $([ -z "$hung" ] && echo 0 || echo 1) "under address space limits up to ${done_at:-8192} MiB no run hangs${hung:+ (hung at$hung MiB)}"
    ok $([ -z "$bad" ] && echo 0 || echo 1) "every refused run exits 1 with one line${bad:+ (not at$bad)}"
    check "a run completes under some limit (${done_at:-none} MiB)" test -n "$done_at"
    ok $([ -n "$blas" ] && echo 0 || echo 1) "OpenBLAS's unmappable work buffer ends the run with a line naming the limit (${blas:-never} MiB): $(head -c 200 "$work/as-blas.err" 2> /dev/null)"
    if [ -n "$blas" ]; then
        # the line's advice: pdiff resume once config.csv is written; before that (nothing saved) the same command
        if [ -f "$work/as$blas/config.csv" ]; then
            check "... and says to resume that session" grep -qF "(what the session saved is kept: pdiff resume $work/as$blas)" "$work/as-blas.err"
            "$PDIFF" resume "$work/as$blas" --set threads=2 --quiet 2> "$work/as2.err"
        else
            check "... and says to run the same command again" grep -qF "(nothing was saved yet: run the same command again)" "$work/as-blas.err"
            # shellcheck disable=SC2086
            "$PDIFF" run --session "$work/as$blas" $tiny --quiet 2> "$work/as2.err"
        fi
        ok $? "the session it stopped resumes without the limit (exit 0$(head -c 200 "$work/as2.err"))"
        same_files "$ref" "$work/as$blas"; ok $? "that session then equals the uninterrupted run"
        # a sweep under that limit: its line says the same command continues it
        # shellcheck disable=SC2086
        timeout -k 5 120 prlimit --as=$((blas << 20)) "$PDIFF" sweep latent_noise=0,0.1 --session "$work/asw" $tiny \
            --set threads=4 --quiet > /dev/null 2> "$work/asw.err"
        if grep -q "OpenBLAS cannot map" "$work/asw.err"; then
            check "a sweep stopped that way says the same command continues it" grep -qF \
                "(the sweep keeps every run it saved: the same command with --session $work/asw continues it)" "$work/asw.err"
        else
            skip "the sweep under $blas MiB ran out elsewhere: $(head -c 200 "$work/asw.err")"
        fi
    fi
else
    skip "no prlimit or timeout here, or this build cannot run under an address space limit"
fi

# two writers on one session: the second is refused with exit 1 and a line naming the owner
s="$work/two"
# shellcheck disable=SC2086
"$PDIFF" run --session "$s" $tiny --set ddpm_steps=100000 > /dev/null 2> "$work/two1.err" &
pid=$!
wait_text "$work/two1.err" "stage train: start"
# shellcheck disable=SC2086
"$PDIFF" run --session "$s" $tiny --quiet > /dev/null 2> "$work/two2.err"; rc=$?
ok $([ $rc -eq 1 ] && echo 0 || echo 1) "a second run on a busy session exits 1 (got $rc)"
grep -q "pid $pid" "$work/two2.err"; ok $? "its message names the owner (pid $pid): $(head -c 200 "$work/two2.err")"
"$PDIFF" resume "$s" --quiet > /dev/null 2> "$work/two3.err"; rc=$?
ok $([ $rc -eq 1 ] && echo 0 || echo 1) "resume of a busy session exits 1 too (got $rc)"
kill -INT $pid; wait $pid
grep -q '"ddpm_steps","100000"' "$s/config.csv"; ok $? "the owner's config.csv is intact"

# a full disk: a 2 MB tmpfs (skipped where this test may not mount one)
mnt="$work/small"
mkdir -p "$mnt"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=2m tmpfs "$mnt" 2> /dev/null; then
    # shellcheck disable=SC2086
    "$PDIFF" run --session "$mnt/s" $tiny --quiet > /dev/null 2> "$work/full.err"; rc=$?
    ok $([ $rc -eq 1 ] && echo 0 || echo 1) "a run on a full disk exits 1 (got $rc)"
    grep -q -i "no space" "$work/full.err"; ok $? "it says the disk is full: $(head -c 200 "$work/full.err")"
    left=$(find "$mnt/s" -name '*.tmp.*' 2> /dev/null | head -n 3)
    ok $([ -z "$left" ] && echo 0 || echo 1) "no temporary file left on the full disk${left:+: $left}"
    umount "$mnt"
else
    n=$((n + 1)); echo "ok $n # SKIP cannot mount a tmpfs here"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
