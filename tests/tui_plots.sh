#!/bin/sh
# tui_plots.sh — the plots, kinds and Results of the TUI (issue 15) end to end: the real binary in tmux, on a fixed
# fake session (tests/gen_fake_session: every kind of model, analysed, similarity.csv and latents.csv) at 80x24,
# 120x40 and 200x60. Whole-screen checks of Results, Similarity and Latents against tests/screens/*_WxH.txt
# (PDIFF_UPDATE_SCREENS=1 rewrites them), and one check per bug: the Similarity readout on a line of its own and
# never cut, the scatter legend and axis titles whole, the heatmap using a wide screen, one symbol per kind on every
# screen, Results' per-kind table, stage times, legend, filter by id and value, reverse sort, detail view, "-" for a
# missing task accuracy, one format for nearest L2, and what Results/Similarity say while a run is active. TAP.
# The helpers are tests/tui_lib.sh's (launch takes the size here).
# shellcheck disable=SC2016 # wait_screen's conditions are single-quoted on purpose: it evaluates them
. "${top_srcdir:-.}/tests/tui_lib.sh" # launch, keys, wait_for, check_screen, check_whole, ok, ...
tui_need_tmux
tui_work tui_plots screens
tui_server plots
launch() { launch_size "$@"; } # NAME COLSxROWS COMMAND...
quit() { tui_quit "$1"; } # NAME: q, and wait for the exit status
# the widest run of heat cells (upper half blocks, the cursor's diamond) on one line of the captured screen
heat_width() {
    blk=$(printf '\342\226\200')
    dia=$(printf '\342\227\206')
    LC_ALL=C sed "s/$dia/$blk/g" "$1" | LC_ALL=C grep -o -E "($blk)+" |
        LC_ALL=C awk '{ if (length($0) / 3 > max) max = length($0) / 3 } END { print max + 0 }'
}

"$top_builddir/tests/gen_fake_session" "$work/screens/fake" || {
    echo "Bail out! gen_fake_session failed"
    exit 1
}
U="env LANG=C.UTF-8 LC_ALL=C.UTF-8"

# ---------------------------------------------------------------------------------------------- 80x24
launch small 80x24 $U "$PDIFF" tui screens/fake
wait_for small "[3 Results]"
check_whole small results_80x24 "whole screen: Results at 80x24 (fake session)"
check_re small "task model 94\.12%" "Results' title has the task model in %"
check_screen small "wall time (s): train 2.5 · collect 5.2" "Results shows the stage times of summary.csv"
keys small 4
wait_for small "IoU scale"
check_whole small similarity_80x24 "whole screen: Similarity at 80x24"
check_re small "^ IoU [0-9.]+: p-diff #17 .+ original #0(; model #17: accuracy 93\.20%, max IoU 0\.300)?$" \
    "80x24: the readout has a line of its own and ends with the original's id, uncut (bug 7)"
check_screen small "max IoU with any original" "80x24: the scatter's x-axis title is whole (bug 7)"
check_re small "~ noise .=0\.01" "80x24: the scatter legend names the noise kinds (bug 7)"
check_screen small "o original" "Similarity: o is original"
check_screen small "* p-diff" "Similarity: * is p-diff"
check_screen small "accuracy (%)" "Similarity: the y axis is accuracy in %"
check_re small "94\.2 *[|│┤]" "Similarity: the y axis shows the top accuracy (94.2 %) as a tick"
keys small 5
wait_for small "latents"
check_whole small latents_80x24 "whole screen: Latents at 80x24"
check_screen small "* p-diff" "Latents: * is p-diff, as on Similarity (bug 8)"
check_screen small "o original" "Latents: o is original, as on Similarity (bug 8)"
check_screen small "+ p-diff latent" "Latents: the DDPM samples (pdiff_latent) have their own symbol"
check_screen small "point 1 of 42: o original, model #0" "Latents: the cursor names the selected point's kind and model"
keys small Right
check_screen small "point 2 of 42: o original, model #1" "Latents: Right selects the next point"
keys small Left Left
check_screen small "point 42 of 42" "Latents: Left cycles to the last point"
quit small
ok $? "80x24: the TUI exits 0"

# ---------------------------------------------------------------------------------------------- 200x60
launch big 200x60 $U "$PDIFF" tui screens/fake
wait_for big "[3 Results]"
check_whole big results_200x60 "whole screen: Results at 200x60 (per-kind table beside the accuracy table, legend)"
check_re big "~ noise .=0\.01 +93\.[0-9]{2}" "Results: the per-kind memorization table has a noise row"
check_screen big "max IoU: highest IoU of its wrong predictions" "Results: a legend for the columns"
check_re big "^ +4 original .* 6\.600$" "nearest L2 in one format (3 decimals) for large values"
check_re big "^ +1 original .* 0\.520$" "... and for small ones (bug 11)"
wait_screen big 'grep -q -E "^ +1 original" "$work/screen.txt" &&
    ! grep -E "^ +[0-9]+ [a-z_:.0-9]+ +[0-9]" "$work/screen.txt" | grep -v -E " ([0-9]+\.[0-9]{3}|-)$" | grep -q .'
ok $? "... every row of the list alike"
keys big / a c c '>' 9 3 . 9 ' ' i d '<' 3 0 Enter
check_re big "models: [0-9]+ of 44, sorted by id \(o\), filter: acc>93.9 id<30" "/ filters by value and id"
wait_screen big 'grep -q "models:" "$work/screen.txt" && ! grep -q -E "^ +(3[0-9]|4[0-9]) " "$work/screen.txt" &&
    ! grep -q -E "^ +[0-9]+ [a-z_:.0-9]+ +93\.[0-8]" "$work/screen.txt"'
ok $? "... the list shows only models with id < 30 and accuracy > 93.9 %"
keys big Escape
check_screen big "models: 44 of 44" "Esc clears the filter"
keys big O
check_screen big "reversed (O)" "O reverses the sort"
check_re big "^ +43 noise:0\.1 " "... the last model comes first"
keys big Enter
check_screen big "model #43: every number" "Enter shows every number of the selected model"
check_screen big "L2 distance of its parameters to that original" "... each with what it means"
keys big Escape
check_screen big "models: 44 of 44" "Esc goes back to the list"
keys big 4
wait_for big "IoU scale"
check_whole big similarity_200x60 "whole screen: Similarity at 200x60"
w=$(heat_width "$work/similarity_200x60.screen")
[ "$w" -ge 80 ]
ok $? "200x60: the heatmap uses the screen ($w columns wide, was 50) (bug 7)"
quit big
ok $? "200x60: the TUI exits 0"

# ---------------------------------------------------------------------------------------------- 120x13, block mode
# 13 rows leave the heatmap 7 lines (14 half-lines) for 16 p-diff rows: block means
launch mid 120x13 $U "$PDIFF" tui screens/fake
wait_for mid "[3 Results]"
keys mid 4
check_re mid "^ IoU [0-9.]+: mean of p-diff #17 .+ original #0 \(a 1x1 block, z: one cell per pair\)$" \
    "120 columns, block mode: the readout says which block, uncut (bug 7)"
check_re mid "^ model #17: accuracy 93\.20%, max IoU 0\.300$" "... and the model's numbers on the next line"
keys mid z
check_re mid "^ IoU [0-9.]+: p-diff #17 . original #0; model #17: accuracy 93\.20%, max IoU 0\.300$" \
    "120 columns, one cell per pair: the readout names the pair and the model, uncut (bug 7)"
quit mid
ok $? "120x13: the TUI exits 0"

# ---------------------------------------------------------------------------------------------- empty and running
mkdir -p "$work/screens/empty"
printf '"key","value"\n"dataset","idx:data"\n"arch","mlp"\n' > "$work/screens/empty/config.csv"
printf '"metric","value"\n' > "$work/screens/empty/summary.csv"
launch empty 80x24 $U "$PDIFF" tui screens/empty
check_re empty "task model -$" "an empty session: 'task model -', without % (bug 11)"
quit empty
ok $? "empty session: the TUI exits 0"

"$top_builddir/tests/gen_idx" "$work/data" 2000 500 12 > /dev/null || echo "# gen_idx failed"
set -- --set "dataset=idx:$work/data" --set arch=mlp --set epochs=1 --set k=20 --set save_every=1 \
    --set ae_steps=10000000 --set ddpm_steps=60 --set n_generate=8 --set timesteps=50 --set ae_batch=20
launch first 100x30 $U "$PDIFF" tui --session "$work/sessions/first" "$@"
wait_for first "[1 Setup]"
keys first r
wait_for first "running ae" 30
keys first 3
check_screen first "Run in progress: results appear when generate finishes" \
    "the first run active: Results says results come when generate finishes, not 'No session loaded' (bug 9)"
keys first q y
wait_file "$work/first.exit" 30
launch later 100x30 $U "$PDIFF" tui --session "$work/sessions/later" "$@" screens/fake
wait_for later "[3 Results]"
keys later 1 r
wait_for later "running ae" 30
keys later 4
check_screen later "fake (the previous session; this run's results show when it ends)" \
    "a later run active: Similarity names the session it shows (bug 9)"
keys later 5
check_screen later "fake (the previous session" "... and so does Latents"
keys later q y
wait_file "$work/later.exit" 30

! grep -l -E "runtime error|AddressSanitizer|LeakSanitizer" "$work"/*.err 2> /dev/null | sed 's/^/# sanitizer report in /' | grep .
ok $? "no sanitizer report in any TUI's stderr"

echo "1..$n"
[ $failed -eq 0 ]
