# tap_lib.sh — the TAP helpers of the shell tests (sourced): a counter of checks and of failures, ok STATUS
# DESCRIPTION (status 0 passes), check DESCRIPTION COMMAND... (passes when the command exits 0; its output is
# dropped), skip REASON (a check that cannot run here), refused STATUS NEEDLE DESCRIPTION COMMAND... (the command
# exits STATUS with one line on stderr containing NEEDLE; uses "$work"), same_results A B (the two sessions'
# result files are identical, summary.csv without its seconds_ rows; uses "$work"), same_session A B DESCRIPTION (one
# check: B, a finished session, has A's files, state included), wait_until CONDITION (poll a shell condition, at
# most 60 s). Each script ends with: echo "1..$n";
# [ "$failed" -eq 0 ]. Sourced once "$work" exists: when its path has blanks (a build under such a folder), $work
# becomes a blank-free symbolic link to it, because the scripts pass paths inside option lists ($tiny) that the
# shell splits at blanks; the link lives in a fresh folder under TMPDIR, removed when the script exits.
n=0; failed=0
case "${work:-}" in
*[[:space:]]*)
    tap_link=$(mktemp -d "${TMPDIR:-/tmp}/pdiff-tests.XXXXXX") && ln -s "$work" "$tap_link/work" && work="$tap_link/work"
    trap 'rm -rf "$tap_link"' EXIT ;;
esac
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
check() { desc=$1; shift; if "$@" >/dev/null 2>&1; then ok 0 "$desc"; else ok 1 "$desc"; fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
refused() {
    want=$1 needle=$2 desc=$3; shift 3
    "$@" > "$work/out" 2> "$work/err"; rc=$?
    if [ "$rc" -eq "$want" ] && [ "$(wc -l < "$work/err")" -eq 1 ] && grep -qF -- "$needle" "$work/err"; then
        ok 0 "$desc"
    else
        ok 1 "$desc (exit $rc, stderr: $(head -c 300 "$work/err"))"
    fi
}
tap_result_files="losses.csv params.csv models.csv similarity.csv latents.csv" # a session's results, summary apart
tap_state_files="state/task.bin state/collect.bin state/ae.bin state/ddpm.bin state/models.bin state/stages.bin"
same_summary() { [ "$(grep -v '^"seconds_' "$1/summary.csv")" = "$(grep -v '^"seconds_' "$2/summary.csv")" ]; }
# tap_differing A B FILE...: prints " NAME" for each FILE that B does not have byte for byte as A has it, and for
# summary.csv when it differs apart from its seconds_ rows
tap_differing() {
    td_a=$1; td_b=$2; shift 2
    for f in "$@"; do cmp -s "$td_a/$f" "$td_b/$f" || printf ' %s' "$f"; done
    same_summary "$td_a" "$td_b" || printf ' summary.csv'
}
same_results() {
    # shellcheck disable=SC2086
    bad=$(tap_differing "$1" "$2" $tap_result_files)
    [ -z "$bad" ] || { echo "# differ:$bad"; return 1; }
}
# same_session A B DESCRIPTION: one check that session B has session A's config.csv, result files and state files
# byte for byte (summary.csv without its seconds_ rows) and no checkpoint left in its state; names what differs
same_session() {
    # shellcheck disable=SC2086
    bad=$(tap_differing "$1" "$2" config.csv $tap_result_files $tap_state_files)
    left=""
    for f in "$2"/state/*ckpt*; do [ -e "$f" ] && left="$left ${f##*/}"; done
    ok "$([ -z "$bad$left" ] && echo 0 || echo 1)" "$3${bad:+ (differ:$bad)}${left:+ (left:$left)}"
}
# wait_until CONDITION: poll every 0.05 s, at most 60 s, until the shell condition holds
wait_until() { t=0; while [ $t -lt 1200 ] && ! eval "$1"; do sleep 0.05; t=$((t + 1)); done; }
