#!/bin/sh
# pdiff quick start: install what is missing (Debian 12, as root), build, then
#   sh tools/quickstart.sh run    the main job: the TUI on Fashion-MNIST (a headless run when there is no TTY)
#   sh tools/quickstart.sh test   the test suite; the last line is "N passed, N failed"
# Extra arguments after "run" go to pdiff (e.g. sh tools/quickstart.sh run run --set epochs=1).
# Open MPI (libopenmpi-dev, openmpi-bin) is installed too, so configure builds pdiff for mpirun/srun and make check
# runs the MPI tests (tests/mpi.sh).
set -eu
mode=${1:-run}
[ $# -gt 0 ] && shift
case "$mode" in run|test) ;; *) echo "usage: sh tools/quickstart.sh run|test" >&2; exit 2 ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

pkgs="gcc make autoconf automake libtool autoconf-archive pkg-config libncurses-dev libopenblas-dev libcsv-dev libjansson-dev libcairo2-dev
zlib1g-dev libopenmpi-dev openmpi-bin dataset-fashion-mnist"
[ "$mode" = test ] && pkgs="$pkgs tmux poppler-utils libxml2-utils"
missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "quickstart: installing$missing" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "quickstart: missing Debian packages:$missing (run as root, or install them first)" >&2
        exit 1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
    autoreconf -fi
fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure
make -j"$jobs"

if [ "$mode" = run ]; then
    cd "$top"
    exec ./build/pdiff "$@"
fi

# count_results DIR: the TAP results of the make check run in DIR, added to pass/fail/skip
count_results() {
    for trs in $(find "$1/tests" -name '*.trs' 2>/dev/null); do
        p=$(grep -c -E '^:test-result: (PASS|XFAIL)' "$trs")
        f=$(grep -c -E '^:test-result: (FAIL|ERROR|XPASS)' "$trs")
        s=$(grep -c '^:test-result: SKIP' "$trs")
        pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    done
}

# list_failures DIR: the failed checks of the make check run in DIR, each with the diagnostic lines ("# ...") its
# test printed right before it (at most 40 lines in all), so that the end of the output names what failed
list_failures() {
    for log in $(find "$1/tests" -name '*.log' 2>/dev/null | sort); do
        awk '/^#/ { d[nd++] = $0; next } /^not ok/ { next }
             /^(FAIL|ERROR|XPASS):/ { for (i = 0; i < nd; i++) print "  " d[i]; print } { nd = 0 }' "$log"
    done | head -n 40 | sed 's/^/quickstart: /'
}

set +e
pass=0; fail=0; skip=0
make -j"$jobs" check
rc=$?
count_results .
[ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1 # the harness failed before producing results (build or driver error)
echo "quickstart: normal build: $pass passed, $fail failed, $skip skipped (see build/test-suite.log)"
failures=$(list_failures .)

# The same suite in a sanitizer build (AddressSanitizer, UBSan with float-cast-overflow; the first report stops the
# test that made it, so it counts as failed). PDIFF_NO_ASAN=1 skips it.
if [ "${PDIFF_NO_ASAN:-0}" != 1 ]; then
    mkdir -p "$top/build-asan"
    cd "$top/build-asan"
    [ -f Makefile ] || ../configure --enable-asan --with-cuda=no > configure.log
    p0=$pass; f0=$fail
    make -j"$jobs" > make.log 2>&1 && ASAN_OPTIONS=detect_leaks=1 make -j"$jobs" check
    rc=$?
    count_results .
    [ "$rc" -ne 0 ] && [ "$fail" -eq "$f0" ] && fail=$((fail + 1))
    echo "quickstart: sanitizer build: $((pass - p0)) passed, $((fail - f0)) failed (see build-asan/test-suite.log)"
    asan_failures=$(list_failures .)
    [ -n "$asan_failures" ] && failures="${failures:+$failures
}quickstart: in the sanitizer build:
$asan_failures"
fi
set -e
echo "quickstart: $skip skipped"
[ -n "$failures" ] && echo "quickstart: what failed (normal build first):
$failures"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
