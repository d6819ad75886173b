#!/bin/sh
# tui_figures.sh — F on Results and Similarity exports the figure on screen (issue 16): the real binary in tmux on the
# fixed fake session (tests/gen_fake_session). Results writes SESSION/figures/accuracy.pdf, Similarity the heatmap
# and the memorization scatter (similarity.pdf, memorization.pdf); the status line says where they went (the path
# elided in the middle on a narrow screen); the PDF files open with pdftoppm (when installed); figures.tex lists all
# three; the help overlay lists F. Built without cairo, the status line says what to install. TAP.
# shellcheck disable=SC2016 # wait_screen's conditions are single-quoted on purpose: it evaluates them
. "${top_srcdir:-.}/tests/tui_lib.sh" # launch_size, keys, wait_for, check_screen, wait_file, ok, ...
tui_need_tmux
tui_work tui_figures
tui_server figures
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
check() { desc=$1; shift; if "$@" > /dev/null 2>&1; then ok 0 "$desc"; else ok 1 "$desc"; fi; }
launch() { launch_size "$@"; } # NAME COLSxROWS COMMAND...
quit() { tui_quit "$1"; }      # NAME: q, and wait for the exit status

"$top_builddir/tests/gen_fake_session" "$work/fake" || {
    echo "Bail out! gen_fake_session failed"
    exit 1
}
U="env LANG=C.UTF-8 LC_ALL=C.UTF-8"
figs="$work/fake/figures"

if [ "$PDIFF_HAVE_CAIRO" = no ]; then
    launch nocairo 200x60 $U "$PDIFF" tui fake
    wait_for nocairo "[3 Results]"
    keys nocairo F
    check_screen nocairo "pdiff was built without cairo" "without cairo, F on Results says what to install"
    check "without cairo, no figures folder" test ! -e "$figs/accuracy.pdf"
    quit nocairo
    ok $? "the TUI quits with q (exit 0)"
    skip "pdiff was built without cairo: no figures to check"
    echo "1..$n"
    [ "$failed" -eq 0 ]
    exit
fi

# ---------------------------------------------------------------------------------------------- 200x60: whole paths
launch wide 200x60 $U "$PDIFF" tui fake
wait_for wide "[3 Results]"
keys wide '?'
check_screen wide "F           export the figure on screen as PDF" "the help overlay on Results lists F"
keys wide Escape
keys wide F
check_screen wide "/figures/accuracy.pdf" "F on Results: the status line names the accuracy figure's file"
check "Results' figure: accuracy.pdf written, nothing else drawn" sh -c "
  test -s '$figs/accuracy.pdf' && test \$(ls '$figs' | grep -c '\\.pdf\$') -eq 1"
keys wide 4
wait_for wide "[4 Similarity]"
keys wide F
check_screen wide "similarity.pdf, memorization.pdf" \
    "F on Similarity: the status line names the heatmap's and the scatter's files"
check "Similarity's figures: similarity.pdf and memorization.pdf written" \
    test -s "$figs/similarity.pdf" -a -s "$figs/memorization.pdf"
check "figures.tex keeps Results' figure next to Similarity's (similarity, memorization, accuracy in order)" sh -c "
  grep -o '{[a-z]*\\.pdf}' '$figs/figures.tex' | tr '\\n' ' ' | grep -qx '{similarity.pdf} {memorization.pdf} {accuracy.pdf} '"
check "no temporary files left in figures/" sh -c "! ls -a '$figs' | grep -q '\\.tmp\\.'"
if command -v pdftoppm > /dev/null; then
    for f in accuracy similarity memorization; do
        check "$f.pdf opens with pdftoppm" pdftoppm -r 20 -png -singlefile "$figs/$f.pdf" "$work/render-$f"
    done
else
    skip "pdftoppm not installed (poppler-utils)"
fi
quit wide
ok $? "the TUI quits with q (exit 0)"

# ---------------------------------------------------------------------------------------------- 80x24: elided path
rm -rf "$figs"
launch small 80x24 $U "$PDIFF" tui fake
wait_for small "[3 Results]"
keys small F
check_screen small "figure saved: " "F on Results at 80x24: the status line says the figure was saved"
wait_screen small 'grep "figure saved: " "$work/screen.txt" | grep -q "…" &&
    grep "figure saved: " "$work/screen.txt" | grep -q "accuracy.pdf" && test -s "$figs/accuracy.pdf"'
ok $? "at 80x24 the path is elided in the middle: the file name stays, the line keeps its width"
quit small
ok $? "the TUI quits with q (exit 0)"

echo "1..$n"
[ "$failed" -eq 0 ]
