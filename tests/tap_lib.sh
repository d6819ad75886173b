# tap_lib.sh — the TAP helpers of the shell tests (sourced): a counter of checks and of failures, ok STATUS
# DESCRIPTION (status 0 passes), check DESCRIPTION COMMAND... (passes when the command exits 0; its output is
# dropped). Each script ends with: echo "1..$n"; [ "$failed" -eq 0 ]
n=0; failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
check() { desc=$1; shift; if "$@" >/dev/null 2>&1; then ok 0 "$desc"; else ok 1 "$desc"; fi; }
