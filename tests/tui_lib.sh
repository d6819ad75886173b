# tui_lib.sh — the helpers the TUI tests (tests/tui*.sh) share, sourced with
#   . "$top_srcdir/tests/tui_lib.sh"
# They drive the real binary in tmux (a private server per script), send keys and read the pane back with
# capture-pane; every wait polls with a timeout instead of sleeping a fixed time. TAP output through ok.
# A script calls tui_need_tmux (skip without tmux), tui_work NAME (its work folder, $work), tui_server NAME (its
# private tmux server and the cleanup traps; redefine cleanup after it to do more, calling tui_kill_server), then
# launch / keys / wait_for / check_screen / check_whole ... and ends with its own plan.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}" "${top_srcdir:=.}"

tui_need_tmux() { # skip the whole script (exit 77) when tmux is missing
    if ! command -v tmux > /dev/null 2>&1; then
        echo "1..0 # SKIP tmux is not installed"
        exit 77
    fi
}
# tui_work NAME [SUBDIR...]: a fresh $top_builddir/tests/work/NAME with data/, sessions/ and the SUBDIRs; $work
# becomes a short absolute path to it, a symbolic link in a fresh folder under TMPDIR (removed by
# tui_kill_server), so that the paths the TUI shows fit the same lines wherever the tree is (a long folder, or one
# with blanks), and $PDIFF absolute too
tui_work() {
    work="$top_builddir/tests/work/$1"
    shift
    rm -rf "$work"
    mkdir -p "$work/data" "$work/sessions"
    for sub in "$@"; do mkdir -p "$work/$sub"; done
    work=$(cd "$work" && pwd)
    if tui_link=$(mktemp -d "${TMPDIR:-/tmp}/pdiff-tui.XXXXXX") && ln -s "$work" "$tui_link/w"; then
        work="$tui_link/w"
    fi
    case $PDIFF in /*) ;; *) PDIFF="$(pwd)/$PDIFF" ;; esac
}
# tui_server NAME: the private tmux server pdiff-NAME-PID, killed (and its socket removed) on exit
tui_server() {
    sock="pdiff-$1-$$"
    trap cleanup EXIT
    trap 'cleanup; exit 1' INT TERM
}
T() { tmux -u -L "$sock" -f /dev/null "$@"; }
tui_kill_server() {
    T kill-server > /dev/null 2>&1
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$sock"
    [ -n "${tui_link:-}" ] && rm -rf "$tui_link"
}
cleanup() { tui_kill_server; }

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
# poll SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds (true) or SECONDS have passed (false)
poll() {
    plim=$(($1 * 10))
    shift
    pi=0
    while [ $pi -lt $plim ]; do
        "$@" && return 0
        sleep 0.1
        pi=$((pi + 1))
    done
    return 1
}
tui_capture() { T capture-pane -p -t "$1" > "$work/screen.txt" 2> /dev/null; } # TARGET: the pane into screen.txt
# tui_shows TARGET -F|-E PATTERN: capture the pane into $work/screen.txt; true when a line matches PATTERN
tui_shows() {
    tui_capture "$1"
    grep -q "$2" -- "$3" "$work/screen.txt"
}
wait_for() { poll "${3:-10}" tui_shows "$1" -F "$2"; } # TARGET TEXT [SECONDS]: until the pane shows TEXT
wait_re() { poll "${3:-10}" tui_shows "$1" -E "$2"; }  # TARGET ERE [SECONDS]: until a line matches ERE
# screen_holds TARGET CONDITION: capture the pane into $work/screen.txt; true when the shell CONDITION (which reads
# "$work/screen.txt") holds
screen_holds() {
    tui_capture "$1"
    eval "$2"
}
# wait_screen TARGET CONDITION [SECONDS]: until one capture of the pane satisfies CONDITION. For checks of more than
# one line: a redraw can reach tmux in pieces, so the capture that shows a new header may still hold old rows, and a
# check made on that one capture fails now and then
wait_screen() { poll "${3:-10}" screen_holds "$1" "$2"; }
check_screen() { # TARGET TEXT DESCRIPTION [SECONDS]
    wait_for "$1" "$2" "${4:-10}"
    ok $? "$3"
}
check_re() { # TARGET ERE DESCRIPTION [SECONDS]
    wait_re "$1" "$2" "${4:-10}"
    ok $? "$3"
}
# mask: what varies between runs and trees, applied to the expected and the captured screen alike
mask() {
    sed -E -e "s|$work|WORK|g" -e 's/[0-9]{8}-[0-9]{6}/STAMP/g' -e 's/[0-9]+:[0-9]{2}(:[0-9]{2})?/T:TT/g' "$1"
}
# check_whole TARGET NAME DESCRIPTION: the whole screen equals tests/screens/NAME.txt once masked
check_whole() {
    expected="$top_srcdir/tests/screens/$2.txt"
    if [ -n "$PDIFF_UPDATE_SCREENS" ]; then
        sleep 1
        T capture-pane -p -t "$1" > "$expected"
    fi
    mask "$expected" > "$work/$2.expected" 2> /dev/null
    i=0
    while [ $i -lt 100 ]; do
        T capture-pane -p -t "$1" > "$work/$2.screen" 2> /dev/null
        mask "$work/$2.screen" > "$work/$2.got"
        cmp -s "$work/$2.expected" "$work/$2.got" && break
        sleep 0.1
        i=$((i + 1))
    done
    [ -s "$work/$2.expected" ] && cmp -s "$work/$2.expected" "$work/$2.got"
    r=$?
    rm -f "$work/screen.txt" # the diff below says it all
    ok $r "$3"
    [ $r -eq 0 ] || diff -u "$work/$2.expected" "$work/$2.got" | sed 's/^/#   /'
}
wait_file() { poll "$2" test -s "$1"; } # FILE SECONDS: until it exists and is not empty
keys() {
    t=$1
    shift
    T send-keys -t "$t" "$@"
}
# launch_size NAME COLSxROWS COMMAND...: start the command in a new tmux session of that size, in $work; its exit
# status goes to $work/NAME.exit
launch_size() {
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
    # a server that is shutting down (its last session just ended) refuses new sessions: try again until it takes
    tries=0
    until T new-session -d -s "$name" -x "${size%x*}" -y "${size#*x}" -c "$work" "sh '$work/$name.sh'" 2> /dev/null; do
        tries=$((tries + 1))
        [ $tries -ge 50 ] && { echo "# tmux refused session $name"; return 1; }
        sleep 0.1
    done
}
# launch NAME COMMAND...: as launch_size at 100x30
launch() {
    lname=$1
    shift
    launch_size "$lname" 100x30 "$@"
}
tui_quit() { # NAME: q, then wait for the exit; true when it exited 0
    keys "$1" q
    wait_file "$work/$1.exit" 10
    grep -q EXIT=0 "$work/$1.exit" 2> /dev/null
}
