#!/bin/sh
# tui_figures.sh — F on Results and Similarity exports the figure on screen (issue 16): the real binary in tmux on the
# fixed fake session (tests/gen_fake_session). Results writes SESSION/figures/accuracy.pdf, Similarity the heatmap
# and the memorization scatter (similarity.pdf, memorization.pdf); the status line says where they went (the path
# elided in the middle on a narrow screen); the PDF files open with pdftoppm (when installed); figures.tex lists all
# three; the help overlay lists F. Built without cairo, the status line says what to install. TAP.
# The helpers are tests/tui_plots.sh's (copied).
: "${PDIFF:=./pdiff}" "${top_builddir:=.}"
if ! command -v tmux > /dev/null 2>&1; then
    echo "1..0 # SKIP tmux is not installed"
    exit 77
fi
work="$top_builddir/tests/work/tui_figures"
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
case $PDIFF in /*) ;; *) PDIFF="$(pwd)/$PDIFF" ;; esac
sock="pdiff-figures-$$"
T() { tmux -u -L "$sock" -f /dev/null "$@"; }
cleanup() {
    T kill-server > /dev/null 2>&1
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$sock"
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM

n=0
failed=0
ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
        echo "not ok $n - $2"
        failed=$((failed + 1))
        [ -f "$work/screen.txt" ] && sed 's/^/#   | /' "$work/screen.txt"
    fi
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
check() { desc=$1; shift; if "$@" > /dev/null 2>&1; then ok 0 "$desc"; else ok 1 "$desc"; fi; }
wait_for() { # TARGET TEXT [SECONDS]
    i=0
    lim=$((${3:-10} * 10))
    while [ $i -lt $lim ]; do
        T capture-pane -p -t "$1" > "$work/screen.txt" 2> /dev/null
        grep -q -F -- "$2" "$work/screen.txt" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
check_screen() { # TARGET TEXT DESCRIPTION [SECONDS]
    wait_for "$1" "$2" "${4:-10}"
    ok $? "$3"
}
wait_file() { # FILE SECONDS
    i=0
    while [ $i -lt $(($2 * 10)) ]; do
        [ -s "$1" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
keys() {
    t=$1
    shift
    T send-keys -t "$t" "$@"
}
# launch NAME COLSxROWS COMMAND...: the command in a new tmux session of that size; its exit status to NAME.exit
launch() {
    name=$1
    size=$2
    shift 2
    {
        echo "cd '$work'"
        printf '%s' "exec 2> '$work/$name.err'; "
        for arg in "$@"; do printf "'%s' " "$arg"; done
        echo
        echo "echo EXIT=\$? > '$work/$name.exit'"
    } > "$work/$name.sh"
    tries=0
    until T new-session -d -s "$name" -x "${size%x*}" -y "${size#*x}" -c "$work" "sh '$work/$name.sh'" 2> /dev/null; do
        tries=$((tries + 1))
        [ $tries -ge 50 ] && { echo "# tmux refused session $name"; return 1; }
        sleep 0.1
    done
}
quit() { # NAME: q, and wait for the exit status
    keys "$1" q
    wait_file "$work/$1.exit" 10
    grep -q EXIT=0 "$work/$1.exit" 2> /dev/null
}

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
check "at 80x24 the path is elided in the middle: the file name stays, the line keeps its width" sh -c "
  grep 'figure saved: ' '$work/screen.txt' | grep -q '…' &&
  grep 'figure saved: ' '$work/screen.txt' | grep -q 'accuracy.pdf' && test -s '$figs/accuracy.pdf'"
quit small
ok $? "the TUI quits with q (exit 0)"

echo "1..$n"
[ "$failed" -eq 0 ]
