#!/bin/sh
# tui_run.sh — the Run screen end to end (issue 15): the analyze stage's bar moves before the stage ends, a run
# that fails to start keeps the loaded session's Run view and leaves no folder, a resumed run shows the stages it
# kept as done with their times, run.log holds the stage lines, and the log view (L) opens, scrolls and searches.
# The real binary in tmux (helpers: tests/tui_lib.sh); every check waits for text on the screen, never a fixed
# time. TAP.
. "${top_srcdir:-.}/tests/tui_lib.sh" # launch, keys, wait_for, check_screen, check_whole, ok, ...
tui_need_tmux
tui_work tui_run
tui_server test

"$top_builddir/tests/gen_idx" "$work/data" 2000 500 12 > /dev/null || {
    echo "Bail out! gen_idx failed"
    exit 1
}
set -- --set "dataset=idx:$work/data" --set arch=mlp --set epochs=1 --set k=20 --set save_every=1 \
    --set ae_steps=60 --set ddpm_steps=60 --set n_generate=8 --set n_recon=2 --set timesteps=50 --set ddim_steps=20 \
    --set ddpm_channels=8,8,8,8 --set ae_batch=20 --set ddpm_batch=20

# ---------------------------------------------------------------------------------------------- analyze's bar
# many noise-added models make analyze last long enough to be seen between its start and its end
s1="$work/sessions/s1"
launch an env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --session "$s1" "$@" --set n_noise=1500
wait_for an "[1 Setup]"
keys an r
check_re an "analyze .* +([1-9]|[1-9][0-9])%  analyze [0-9]+/[0-9]+  ETA" \
    "bug 4: the analyze stage shows a percentage above 0 and an ETA while it runs" 120
check_re an "running analyze .* stage ETA [^,]+, 0 more stages" "the Run screen's header gives the stage's ETA and the stages left"
check_screen an "[3 Results]" "the run finishes and Results opens" 120
test -s "$s1/run.log" && grep -q "stage train: start" "$s1/run.log" && grep -q "stage analyze: done" "$s1/run.log" &&
    grep -q "^[0-9-]* [0-9:]* finished$" "$s1/run.log"
ok $? "run.log holds the stage lines with time stamps and the end of the run"
keys an 2 L
check_screen an "run.log" "L on Run opens the log view"
check_screen an "finished" "the log view starts at the end of the log"
keys an g
check_re an "^.{19} run: pdiff" "g goes to the first line"
keys an / s t a g e Space a e Enter
check_screen an "stage ae: start" "/ finds a line"
keys an q
wait_for an "[2 Run]"
ok $? "q leaves the log view for the Run screen"

# ---------------------------------------------------------------------------------------------- a failed start
keys an q
wait_file "$work/an.exit" 10
s2="$work/sessions/s2"
launch fail env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui "$s1" --session "$s2" "$@" --set device=cuda
wait_for fail "[3 Results]"
keys fail 2
wait_re fail "analyze .*done in"
keys fail r
check_re fail "device=cuda: .*(with-cuda|CUDA)" "bug 6: a start refused for device=cuda says why" 30
test ! -e "$s2"
ok $? "bug 6: a refused start leaves no session folder"
keys fail q
wait_file "$work/fail.exit" 10
# a session another process holds (its lock) passes every check before the start, then fails to start
s4="$work/sessions/s4"
mkdir -p "$s4"
flock "$s4/.lock" sh -c "echo held > '$work/held'; while [ ! -e '$work/release' ]; do sleep 0.1; done" &
wait_file "$work/held" 10
launch busy env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui "$s1" --session "$s4" "$@"
wait_for busy "[3 Results]"
keys busy 2
wait_re busy "analyze .*done in"
keys busy r
check_screen busy "or stop it)" "bug 6: a failed start says why on the status line" 30
check_re busy "analyze .*done in" "bug 6: the Run screen keeps the loaded session's stages"
check_screen busy "[2 Run]" "bug 6: a failed start stays on the Run screen"
test ! -e "$s4/config.csv"
ok $? "bug 6: the failed start wrote nothing into the folder"
keys busy L
check_screen busy "did not start" "the log view shows the failed start's error"
check_screen busy "in use by" "the log view shows the whole message"
keys busy Escape q
wait_file "$work/busy.exit" 10
touch "$work/release"

# ---------------------------------------------------------------------------------------------- a resume
s3="$work/sessions/s3"
launch res env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --session "$s3" "$@" --set ae_steps=10000000
wait_for res "[1 Setup]"
keys res r
check_screen res "running ae" "a long run reaches the AE stage" 60
wait_re res "ae .*ae [0-9]+/" 30
keys res c
check_screen res "its state is saved" "bug 11: stopping in ae says its state is saved" 30
keys res 6
wait_for res "s3" 10
keys res / s 3 Enter
keys res R
check_screen res "running ae" "R resumes the session" 30
check_re res "train .*done in" "bug 5: after a resume train shows done with its time"
check_re res "collect .*done in" "bug 5: after a resume collect shows done with its time"
keys res c
check_screen res "its state is saved" "the resumed run stops" 30
grep -q "resuming after step\|ae: resuming\|resume:" "$s3/run.log"
ok $? "run.log records the resume"
test "$(grep -c 'stage ae: start' "$s3/run.log")" -eq 2
ok $? "run.log is appended to: both runs' lines are there"
keys res q
wait_file "$work/res.exit" 30

# ---------------------------------------------------------------------------------------------- the plots and the run's ETA
s5="$work/sessions/s5"
launch plots env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --session "$s5" "$@" --set ae_steps=10000000
wait_for plots "[1 Setup]"
keys plots r
check_re plots "running (train|collect|ae) .* ETA run ~ [0-9]+:[0-9]{2}" "the Run header gives an ETA for the whole run" 60
check_screen plots "running ae" "the plots' run reaches the AE stage" 60
check_re plots "train accuracy [0-9.]+%" "the accuracy plot labels its series train accuracy, in %"
check_re plots "[0-9]+% *[┤]" "the accuracy plot's axis is in %"
check_screen plots "╎collect" "the task curves mark where collection starts"
check_re plots "running ae .* ETA run ~ [0-9]+:[0-9]{2}" "the run's ETA stays while the AE stage runs"
keys plots c
check_screen plots "its state is saved" "the plots' run stops" 30
keys plots q
wait_file "$work/plots.exit" 30

echo "1..$n"
[ $failed -eq 0 ]
