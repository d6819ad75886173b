#!/bin/sh
# tui_setup.sh — Setup and settings bugs of issue 15, each reproduced with the keystrokes of the issue: the real
# binary in tmux (private server, 100x30), read back with capture-pane, polling instead of sleeping. Covers: an
# edited field shows that it is being edited and keeps the keys only while it is (a refused value keeps it open, the
# error quotes the current text, Esc restores the old value), the filter moves the cursor to the first row it shows,
# the target error says "target:" once and `pdiff run` refuses a bad target before training, device=cuda without a
# CUDA device is flagged inline, a preset asks before it changes other settings (u undoes it), ticking a tensor adds
# to a typed glob. The `pdiff run` check needs no tmux. TAP.
. "${top_srcdir:-.}/tests/tui_lib.sh" # launch, keys, wait_for, check_screen, check_whole, ok, ...
tui_work tui_setup

"$top_builddir/tests/gen_idx" "$work/data" 2000 500 12 > /dev/null || {
    echo "Bail out! gen_idx failed"
    exit 1
}

# ---------------------------------------------------------------------------------------------- bug 3: pdiff run
# A target that matches nothing is refused before the train stage runs: exit 1, one line naming it once.
bad="$work/sessions/badtarget"
"$PDIFF" run --session "$bad" --set "dataset=idx:$work/data" --set arch=mlp --set epochs=1 --set k=4 \
    --set 'target=xyz*' > "$work/bad.out" 2> "$work/bad.err"
rc=$?
[ $rc -eq 1 ]
ok $? "run --set target=xyz* exits 1 (got $rc)"
[ "$(grep -c "matches no parameter" "$work/bad.err")" = 1 ] && tail -n 1 "$work/bad.err" | grep -q "'xyz\*' matches no parameter"
ok $? "... with one line naming the pattern, the last one"
! grep -q "target: target:" "$work/bad.err"
ok $? "... that says target: once"
[ ! -e "$bad/state/task.bin" ] && ! grep -q "stage train: start" "$work/bad.out" "$work/bad.err"
ok $? "... before the train stage ran (no state/task.bin)"

if ! command -v tmux > /dev/null 2>&1; then
    echo "1..$n # SKIP the TUI checks: tmux is not installed"
    [ $failed -eq 0 ]
    exit
fi
tui_server setup
# the last captured screen lacks TEXT (call after a wait that captured the screen the check is about)
lacks() { ! grep -q -F -- "$1" "$work/screen.txt"; }
quit() { # NAME: q, then wait for the exit
    tui_quit "$1"
    ok $? "$1: q exits 0"
}

launch s env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --set dataset=idx:data --set arch=mlp
wait_for s "[1 Setup]"

# ---------------------------------------------------------------------------------------------- bug 1: edit mode
# The issue's keys: on the dataset row Enter C-u foo Enter, then r r 2. The field shows it is being edited, the
# refused value keeps it open with the keys going to it (the footer offers the edit keys, not r:run), the error
# quotes what the field holds now, Esc brings the old value back.
keys s Down Enter
check_re s "^✎ dataset +idx:data" "Enter on dataset: the row shows the edit marker"
check_screen s "editing dataset: Enter accepts, Esc cancels (back to 'idx:data')" "... the bottom line names the edit keys"
check_screen s "editing: Enter:accept Esc:cancel" "... and so does the footer"
lacks "r:run"
ok $? "... which does not offer r:run while the field takes the keys"
keys s C-u f o o Enter
check_screen s "got 'foo'" "Enter on foo: refused inline"
check_re s "^✎ dataset +foo" "... the field stays open"
keys s r r 2
check_screen s "got 'foorr2'" "r r 2 go to the open field and the error quotes what it holds now"
lacks "got 'foo'"
ok $? "... not the old text"
keys s Escape
check_re s "^  dataset +idx:data +fashion" "Esc cancels: the old value is back, the field closed"
lacks "got 'foorr2'"
ok $? "... and the error is gone"
check_screen s "r:run" "the footer offers the screen's keys again"

# ---------------------------------------------------------------------------------------------- bug 2: filter
# The issue's keys: on a tensor row, /target Enter, Enter. The cursor was left on the tensor, so Enter ticked it and
# the target silently changed; now the filter puts the cursor on its first row (target) and Enter edits it.
keys s G
wait_for s "fc2.bias"
keys s / t a r g e t Enter
check_screen s "filter: target" "/target filters the list"
keys s Enter
check_re s "^✎ target +auto" "Enter after the filter edits target, the first row it shows"
check_screen s "D = 1,290 in 2 tensors" "... and no tensor was ticked (D unchanged)"
keys s Escape

# ---------------------------------------------------------------------------------------------- bug 11: ticks
# A typed glob stays when Space ticks a tensor (the name is added to the list); a long list is shown whole.
keys s Enter C-u f c 1 '*' Enter
check_screen s "D = 37,120 in 2 tensors" "target fc1* selects fc1.weight and fc1.bias"
keys s G Space
check_re s "^  target +fc1\*,fc3\.bias " "Space on fc3.bias adds it to the typed list: fc1*,fc3.bias"
check_screen s "D = 37,130 in 3 tensors" "... and D grows by 10"
keys s Space
check_re s "^  target +fc1\* " "Space again takes it out: fc1* is back"
keys s g Enter C-u
T send-keys -t s -l "fc1.weight,fc1.bias,fc2.weight,fc2.bias"
keys s Enter
check_re s "^  target +fc1\.weight,fc1\.bias,fc2\.weight,fc2\.bias *$" "a list wider than the value column is shown whole"
keys s Enter C-u a u t o Enter
check_screen s "D = 1,290 in 2 tensors" "target back to auto"
keys s Escape

# ---------------------------------------------------------------------------------------------- bug 3: target error
# xyz* is a valid glob that matches nothing here: taken, then flagged on the target line; r refuses to start.
keys s / t a r g e t Enter Enter C-u x y z '*' Enter
check_re s "^  target +xyz\* " "target xyz* is taken (the field closes)"
check_screen s "target: 'xyz*' matches no parameter" "... and flagged: the error names the pattern"
lacks "target: target:"
ok $? "... and says target: once"
keys s r
wait_re s "^ \(new\) .*target: 'xyz\*' matches no parameter"
ok $? "r with a bad target: the status line says why"
lacks "target: target:"
ok $? "... with target: once"
! grep -q "\[2 Run\]" "$work/screen.txt" && ! ls "$work/sessions" | grep -q .
ok $? "... and it stays on Setup, no session written"
keys s Enter C-u a u t o Enter
check_screen s "D = 1,290 in 2 tensors" "target back to auto"
keys s Escape

# ---------------------------------------------------------------------------------------------- bug 6: device=cuda
# Built without CUDA (or on a machine without a GPU) device=cuda is flagged on its row, and r does not start a run.
keys s / d e v i c e Enter Right
check_re s "^  device +cuda " "/device, Right: device=cuda"
if "$PDIFF" --version 2> /dev/null | grep -q "^backends:.*cuda" && nvidia-smi -L > /dev/null 2>&1; then
    ok 0 "# SKIP a CUDA device is usable here: device=cuda is not flagged"
    ok 0 "# SKIP a CUDA device is usable here"
else
    check_re s "└→ device=cuda: .*(without CUDA|no CUDA device)" "device=cuda without a usable GPU: a warning under its row"
    keys s r
    wait_re s "^ \(new\) .*device=cuda: .*(with-cuda|CUDA)"
    ok $? "... r says why on the status line"
    ! grep -q "\[2 Run\]" "$work/screen.txt" && ! ls "$work/sessions" | grep -q .
    ok $? "... and it stays on Setup, no session written"
fi
keys s Left Escape
check_re s "^  device +cpu" "device back to cpu"

# ---------------------------------------------------------------------------------------------- bug 10: presets
# Right on preset asks before it changes other settings; n keeps them, y applies, u undoes.
keys s g Right
check_re s "apply preset paper\? it changes [0-9]+ settings \(y/n\): dataset" "Right on preset asks first, naming what changes"
check_screen s "y:yes n:no" "... the footer offers y and n"
keys s n
check_screen s "preset not applied" "n keeps the settings"
check_re s "^  dataset +idx:data " "... dataset is still idx:data"
keys s Right y
check_screen s "preset paper applied" "Right y applies the preset"
check_re s "^  dataset +cifar100 " "... dataset is now the preset's"
keys s u
check_screen s "from before the preset are back" "u undoes the preset"
check_re s "^  dataset +idx:data " "... dataset is idx:data again"
check_re s "^  preset +default " "... and preset is default again"
check_screen s "D = 1,290 in 2 tensors" "... with the target of before"
quit s

echo "1..$n"
[ $failed -eq 0 ]
