#!/bin/sh
# tui_sessions.sh — the Sessions screen, the compare view and watching a run of another process, end to end: the
# real binary in tmux (private server), driven with send-keys and read back with capture-pane; every check polls
# the screen with a timeout (tests/tui.sh's helpers), nothing sleeps as an assertion. TAP.
# Covers: the list's columns (date, data set, arch, D, K, seed, p-diff best, novelty, wall time) from fixed fake
# sessions, o / O sort, / filter, Space marks, c opens the compare view (whole screens at 80x24 and 200x60 against
# tests/screens/compare-*.txt), d asks and deletes only a real session folder (never what a link names), and
# `pdiff tui SESSION` on a session a headless `pdiff run` is writing: progress on Run, "watching: running on HOST
# pid N" on the status line, the final numbers on Results when the run ends; a long train stage's count and ETA
# from the writer's progress.csv, and a watched run that is stopped; a sweep's sessions listed as SWEEP/SESSION and
# not deleted one by one.
# shellcheck disable=SC2016 # wait_screen's conditions are single-quoted on purpose: it evaluates them
. "${top_srcdir:-.}/tests/tui_lib.sh" # launch, keys, wait_for, check_screen, check_whole, ok, ...
tui_need_tmux
tui_work tui_sessions
tui_server tsess
bg=
cleanup() {
    [ -n "$bg" ] && kill "$bg" 2> /dev/null && kill -CONT "$bg" 2> /dev/null
    tui_kill_server
}
wait_gone() { poll "$2" test ! -e "$1"; } # FILE SECONDS
launch() { launch_size "$@"; } # NAME COLSxROWS COMMAND...
quit() { # NAME DESCRIPTION: q, then the exit status 0
    tui_quit "$1"
    ok $? "$2"
}

# ---------------------------------------------------------------------------------------------- fixed sessions
# fake NAME DATE ARCH D K SEED PBEST NOVELTY SECONDS_AE TASK_LOSSES AE_LOSSES DDPM_LOSSES (losses: step:loss,...)
fake() {
    d="$work/sessions/$1"
    mkdir -p "$d/state"
    {
        echo '"key","value"'
        echo '"dataset","idx:data"'
        echo "\"arch\",\"$3\""
        echo "\"k\",\"$5\""
        echo "\"seed\",\"$6\""
        echo "\"ae_steps\",\"300\""
        echo "\"target_d\",\"$4\""
    } > "$d/config.csv"
    {
        echo '"metric","value"'
        echo '"task_accuracy",0.9412'
        echo "\"seconds_train\",12.5"
        echo "\"seconds_ae\",$9"
        echo '"original_best",0.9447'
        echo "\"pdiff_best\",$7"
        echo '"pdiff_mean",0.9401'
        echo "\"novelty\",$8"
        [ "$1" = gamma ] && echo '"noise_0.01_best",0.9366'
    } > "$d/summary.csv"
    {
        echo '"stage","step","loss","accuracy"'
        for p in $(echo "${10}" | tr , ' '); do echo "\"task\",${p%:*},${p#*:},0.5"; done
        for p in $(echo "${11}" | tr , ' '); do echo "\"ae\",${p%:*},${p#*:},"; done
        for p in $(echo "${12}" | tr , ' '); do echo "\"ddpm\",${p%:*},${p#*:},"; done
    } > "$d/losses.csv"
    touch -d "$2" "$d/config.csv" "$d/summary.csv"
}
fake alpha "2024-01-01 10:00" mlp 1290 20 1 0.9453 0.125 40 \
    10:2.3,20:1.9,30:1.2,40:0.8,50:0.6,60:0.5 100:1.0,200:0.6,300:0.3 100:0.9,200:0.7,300:0.6
fake beta "2024-01-02 11:00" mlp 1290 20 2 0.9461 0.250 42.5 \
    10:2.2,20:1.7,30:1.1,40:0.9,50:0.7,60:0.45 100:1.1,200:0.5,300:0.2 100:1.0,200:0.6,300:0.4
fake gamma "2024-01-03 12:00" convnet 11000 50 3 0.9102 0.500 90 \
    10:2.4,20:2.0,30:1.5,40:1.0,50:0.8,60:0.7 100:0.8,200:0.7,300:0.5 100:1.2,200:0.8,300:0.5
# a session outside sessions/ that a link inside names, and a session with a link to a file outside it
mkdir -p "$work/outside/elsewhere"
cp "$work/sessions/alpha/config.csv" "$work/outside/elsewhere/config.csv"
echo keep > "$work/outside/precious.txt"
ln -s "$work/outside/elsewhere" "$work/sessions/linked"
fake doomed "2023-12-31 09:00" mlp 1290 20 9 0.9 0.1 1 10:2 100:1 100:1
ln -s "$work/outside/precious.txt" "$work/sessions/doomed/link-to-precious"
ln -s "$work/outside" "$work/sessions/doomed/link-to-outside"
touch -d "2024-01-04 00:00" "$work/outside/elsewhere/config.csv"
export TZ=UTC

# ---------------------------------------------------------------------------------------------- the list
launch list 120x30 env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --set dataset=idx:data --set arch=mlp
wait_for list "[1 Setup]"
keys list 6
check_re list "sessions in sessions: 5, sorted by date" "Sessions lists the five sessions, newest first"
check_re list "session +date +data set +arch +D +K +seed +p-diff best +novelty +wall" \
    "the columns: session, date, data set, arch, D, K, seed, p-diff best, novelty, wall time"
check_re list "^ +gamma +2024-01-03 12:00 +idx:data +convnet +11,000 +50 +3 +91\.02 +0\.500 +1:43" \
    "a row: date of its files, data set, arch, D, K, seed, p-diff best in %, novelty, wall time (sum of seconds_)"
newest_first() { # the five sessions' lines in $work/screen.txt come in the order linked, gamma, beta, alpha, doomed
    for s in linked gamma beta alpha doomed; do grep -n -E "^ +$s " "$work/screen.txt" | head -n 1 | cut -d: -f1; done |
        tr '\n' ' ' | awk '{ exit !(NF == 5 && $1 < $2 && $2 < $3 && $3 < $4 && $4 < $5) }'
}
wait_screen list newest_first
ok $? "newest first: linked, gamma, beta, alpha, doomed"
keys list o
check_screen list "sorted by session" "o cycles the sort column (to the session name)"
wait_screen list 'head -4 "$work/screen.txt" | grep -q -E "^ +alpha "'
ok $? "... and the list follows (alpha first)"
keys list O
check_re list "sorted by session (▲|\(reversed\))" "O reverses the order"
wait_screen list 'head -4 "$work/screen.txt" | grep -q -E "^ +linked "'
ok $? "... (linked first)"
keys list / c o n v Enter
check_re list "sessions in sessions: 1 +filter: conv" "/ filters the list (by architecture)"
wait_screen list 'grep -q gamma "$work/screen.txt" && ! grep -q alpha "$work/screen.txt"'
ok $? "only the convnet session is listed"
keys list Escape
check_re list "sessions in sessions: 5" "Esc clears the filter"

# delete: a link to a folder outside is refused; a real session goes after y, stays after n
keys list / l i n k e d Enter
wait_re list "sessions in sessions: 1 +filter: linked"
keys list d
check_screen list "Delete session linked and all its files?" "d asks before deleting"
keys list y
check_screen list "is a symbolic link" "a session that is a symbolic link is not deleted (and the message says why)"
test -f "$work/outside/elsewhere/config.csv" && test -L "$work/sessions/linked"
ok $? "... the link and what it names are still there"
keys list Escape / d o o m e d Enter
wait_re list "sessions in sessions: 1 +filter: doomed"
keys list d
check_screen list "Delete session doomed" "d on doomed asks"
keys list n
check_screen list "kept" "n keeps it"
test -f "$work/sessions/doomed/config.csv"
ok $? "... the folder is still there"
keys list d
wait_for list "Delete session doomed"
keys list y
check_screen list "deleted" "y deletes it"
test ! -e "$work/sessions/doomed" && test -f "$work/outside/precious.txt" && test -d "$work/outside/elsewhere"
ok $? "the session folder is gone; the files its links named are not"
keys list Escape
quit list "the TUI exits 0 after the Sessions checks"
rm -f "$work/sessions/linked" # the compare screens list three sessions

# ---------------------------------------------------------------------------------------------- compare
# open_compare NAME: mark alpha (A), beta (B), gamma (C) and press c; the list is gamma, beta, alpha (newest first)
open_compare() {
    wait_for "$1" "[1 Setup]"
    keys "$1" 6
    wait_re "$1" "sessions in sessions: 3"
    keys "$1" G Space k Space g Space
    wait_re "$1" "^C +gamma"
    keys "$1" c
}
launch cmp80 80x24 env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --set dataset=idx:data --set arch=mlp
open_compare cmp80
check_screen cmp80 "compare 3 sessions" "Space marks sessions, c opens the compare view"
check_whole cmp80 compare-80x24 "whole screen: the compare view at 80x24"
keys cmp80 c
check_re cmp80 "sessions in sessions: 3" "c closes the compare view"
keys cmp80 c
wait_for cmp80 "compare 3 sessions"
keys cmp80 Escape
check_re cmp80 "sessions in sessions: 3" "Esc closes it too"
quit cmp80 "the TUI exits 0 after the compare view at 80x24"
launch cmp200 200x60 env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --set dataset=idx:data --set arch=mlp
open_compare cmp200
check_screen cmp200 "compare 3 sessions" "the compare view at 200x60"
check_re cmp200 "pdiff_best +94\.53 +94\.61 +\+0\.08 +91\.02 +-3\.51" \
    "the summaries side by side with the differences to A (percentage points for accuracies)"
check_re cmp200 "noise_0\.01_best +- +- +- +93\.66 +-" "a metric only one session has is a row, '-' elsewhere"
check_whole cmp200 compare-200x60 "whole screen: the compare view at 200x60"
quit cmp200 "the TUI exits 0 after the compare view at 200x60"

# ---------------------------------------------------------------------------------------------- watch
"$top_builddir/tests/gen_idx" "$work/data" 2000 500 12 > /dev/null || {
    echo "Bail out! gen_idx failed"
    exit 1
}
# The run is stopped (SIGSTOP) once progress.csv shows the AE stage under way, and continued once the watchers
# have checked it: so the checks never race the AE stage's end, on any machine, and its 800 steps are enough
# (the sanitizer build runs them about 7 times slower than the normal one).
live="$work/sessions/live"
"$PDIFF" run --session "$live" --set "dataset=idx:$work/data" --set arch=mlp --set epochs=1 --set k=20 \
    --set save_every=1 --set ae_steps=800 --set ddpm_steps=60 --set n_generate=8 --set n_recon=2 --set timesteps=50 \
    --set ddim_steps=20 --set ddpm_channels=8,8,8,8 --set ae_batch=20 --set ddpm_batch=20 --set threads=1 --quiet \
    2> "$work/live.err" &
bg=$!
wait_file "$live/config.csv" 30
ok $? "a headless run started in the background writes its session"
grep -q "^$bg pdiff run" "$live/.lock" 2> /dev/null && grep -q "^host $(uname -n)" "$live/.lock"
ok $? "its .lock names pid, command and host"
# pdiff report reads the writer's progress.csv, as pipeline.sh's Ctrl-C check does: an ETA once the AE has moved on
ae_going() { "$PDIFF" report "$live" 2>&1 | grep -q 'stage ae, ae [0-9]*/800, .* ETA [0-9]'; }
poll 60 ae_going && kill -STOP "$bg"
ok $? "pdiff report shows the AE stage under way with an ETA (the run is stopped there while the watchers look)"
launch watch 100x30 env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui "$live"
check_screen watch "watching: running on $(uname -n) pid $bg" "the status line says who runs the session" 20
check_screen watch "[2 Run]" "watching starts on the Run screen"
check_re watch "ae +.* [0-9]+%  ae [0-9]+/800  ETA [0-9]" "Run shows the AE stage's progress and ETA (progress.csv)" 60
check_re watch "^ watching ae  .  elapsed [0-9:]+  .  stage ETA [0-9:]+  .  ETA run ~ [0-9:]+  .  session " \
    "the Run screen's status line: the stage, the writer's elapsed time, the stage's and the run's ETA" 20
check_re watch "^ train +.*done in" "Run shows the stages done"
# a second TUI finds the run on Sessions and follows it with Enter
launch watch2 100x30 env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --set dataset=idx:data --set arch=mlp
wait_for watch2 "[1 Setup]"
keys watch2 6 / l i v e Enter
check_re watch2 "^ +live .* (running|[a-z]{2,4} [0-9]{1,2}%) *$" "Sessions marks the session being written as running"
# a third TUI stays on Sessions: the status follows the run without a rescan (its stage and percent, then the end)
launch list3 120x30 env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --set dataset=idx:data --set arch=mlp
wait_for list3 "[1 Setup]"
keys list3 6 / l i v e Enter
check_re list3 "^ +live .* (ae|ddpm|gen|ana) [0-9]{1,2}% *$" "Sessions shows the running stage and how far it is" 30
cp -R "$work/sessions/alpha" "$work/sessions/live-copy"
check_re list3 "^ +live-copy .* complete *$" "a session folder made meanwhile joins the open list by itself" 20
keys watch2 Enter
check_screen watch2 "watching: running on $(uname -n) pid $bg" "Enter on Sessions watches it too" 20
kill -CONT "$bg"
wait "$bg"
ok $? "the background run exits 0"
bg=
pbest=$(awk -F, '$1 == "\"pdiff_best\"" { printf "%.2f", 100 * $2 }' "$live/summary.csv")
check_screen watch "[3 Results]" "when the run ends the watcher shows Results" 20
check_re watch "p-diff .* $pbest" "... with the final numbers (p-diff best $pbest% as in summary.csv)"
check_screen watch "watched run has ended" "... and says the run has ended"
check_screen watch2 "[3 Results]" "the second watcher shows Results too" 20
check_re list3 "^ +live .* $pbest .* complete *$" "the Sessions list turns the session complete with its p-diff best, by itself" 20
quit list3 "the TUI on Sessions exits 0"
check_re watch2 "p-diff .* $pbest" "... with the same final numbers"
quit watch "the watching TUI exits 0"
quit watch2 "the second watching TUI exits 0"

# a long train stage: its files record no step count; the count and the ETA come from progress.csv
long="$work/sessions/long"
"$PDIFF" run --session "$long" --set "dataset=idx:$work/data" --set arch=mlp --set epochs=10000 --set threads=1 \
    --quiet 2> "$work/long.err" &
bg=$!
wait_file "$long/progress.csv" 30
ok $? "the headless run writes progress.csv"
launch watch3 160x30 env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui "$long"
check_re watch3 "^ train +.* [0-9]+%  task [0-9]+/[0-9]+  ETA [0-9]" "a watched train stage shows its step count and ETA" 30
check_re watch3 "watching: running on .* pid $bg .* ETA [0-9]" "... and the status bar shows the stage's ETA too"
kill -INT "$bg"
wait "$bg"
bg=
check_screen watch3 "stopped before its results" "a watched run that is stopped: the watcher says so" 20
quit watch3 "the third watching TUI exits 0"

# a sweep's folder: its sessions are listed as SWEEP/SESSION, and d does not delete one of them on its own
mkdir -p "$work/sessions/sweep-ln"
cp -Rp "$work/sessions/alpha" "$work/sessions/sweep-ln/latent_noise-0"
cp -Rp "$work/sessions/beta" "$work/sessions/sweep-ln/latent_noise-0.1"
printf '"key","value","seed","session"\n"latent_noise","0","1","latent_noise-0"\n"latent_noise","0.1","1","latent_noise-0.1"\n' \
    > "$work/sessions/sweep-ln/sweep_index.csv"
launch list4 140x30 env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --set dataset=idx:data --set arch=mlp
wait_for list4 "[1 Setup]"
keys list4 6
check_re list4 "^ +sweep-ln/latent_noise-0 +2024-01-01 10:00 +idx:data +mlp " "a sweep's sessions are listed as SWEEP/SESSION"
check_re list4 "^ +sweep-ln/latent_noise-0\.1 +2024-01-02 11:00 " "... each with its own row and numbers"
keys list4 / n o i s e - 0 . 1 Enter
wait_re list4 "filter: noise-0.1"
keys list4 d
wait_for list4 "Delete session"
keys list4 y
check_screen list4 "a run of the sweep in" "d on a sweep's session refuses and says it belongs to the sweep"
test -f "$work/sessions/sweep-ln/latent_noise-0.1/config.csv"
ok $? "... and the session is still there"
keys list4 Escape
quit list4 "the TUI exits 0 after the sweep checks"

! grep -l -E "runtime error|AddressSanitizer|LeakSanitizer" "$work"/*.err 2> /dev/null | sed 's/^/# sanitizer report in /' | grep .
ok $? "no sanitizer report in any TUI's stderr"

echo "1..$n"
[ $failed -eq 0 ]
