#!/bin/sh
# mpi.sh — pdiff under mpirun (issue 17): a small pipeline at -np 1, 2 and 3 gives the same result files
# (losses, params, models, similarity, latents, and summary.csv timings apart) as one process, and so do sweeps spread over groups of ranks; a rank killed with SIGKILL ends the job
# with a line naming the rank and the signal, the session keeps its last saved state and `pdiff resume` at one
# process completes it to the results of an uninterrupted run; Ctrl-C under mpirun stops and saves, and resume at
# -np 2 completes; bad input under mpirun is one line and exit status 1; --version names the MPI library. Skipped
# (77) in a build without MPI. TAP output.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}"
if [ "${PDIFF_HAVE_MPI:-no}" != yes ] || ! command -v mpirun > /dev/null 2>&1; then
    echo "1..0 # SKIP pdiff built without MPI (configure --with-mpi needs libopenmpi-dev and openmpi-bin)"
    exit 77
fi
work="$top_builddir/tests/work/mpi"
rm -rf "$work"; mkdir -p "$work/data"
. "${top_srcdir:-.}/tests/tap_lib.sh" # n, failed, ok, check, same_results (every result file, losses.csv included)
"$top_builddir/tests/gen_idx" "$work/data" 1500 400 10 || { echo "Bail out! gen_idx failed"; exit 1; }

# as root mpirun wants these; two cores run more ranks than cores; shared memory without ptrace-based copies
# (containers forbid them); no network but the loopback
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM OMPI_MCA_rmaps_base_oversubscribe
export OMPI_MCA_btl_vader_single_copy_mechanism OMPI_MCA_btl OMPI_MCA_oob_tcp_if_include
# the sanitizer build: Open MPI's libraries are built without frame pointers, so LeakSanitizer needs the slow
# unwinder to see that the blocks they keep until exit are theirs (tests/lsan.supp names them), quietly
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}print_suppressions=0"
export ASAN_OPTIONS LSAN_OPTIONS
# a run that hangs fails the test instead of the suite
mpi() { np=$1; shift; timeout 300 mpirun -np "$np" "$PDIFF" "$@"; }

tiny="--set dataset=idx:$work/data --set arch=mlp --set epochs=2 --set k=20 --set save_every=1 --set ae_steps=80
 --set ddpm_steps=80 --set n_generate=8 --set n_recon=2 --set timesteps=60 --set ddpm_channels=8,8,8,8
 --set n_noise=5 --set noise_sigmas=0.01,0.1 --set n_finetune=3 --set finetune_steps=3 --set threads=1"
# procs GLOB: the pids whose command line (its arguments joined by blanks) matches the shell pattern GLOB, from /proc
# (what pgrep -f does, without procps, which a minimal Debian lacks)
procs() {
    for d in /proc/[0-9]*; do
        c=$(tr '\0' ' ' < "$d/cmdline" 2> /dev/null) || continue
        # shellcheck disable=SC2254
        case "${c% }" in $1) echo "${d#/proc/}" ;; esac
    done
}

# shellcheck disable=SC2086
"$PDIFF" run --session "$work/one" $tiny --quiet; ok $? "one process (no launcher)"
for np in 1 2 3; do
    # shellcheck disable=SC2086
    mpi $np run --session "$work/np$np" $tiny --quiet 2> "$work/np$np.err"; ok $? "mpirun -np $np run exits 0"
    check "-np $np: every result file equals one process's" same_results "$work/one" "$work/np$np"
    check "-np $np: rank 0 alone printed (nothing on stderr with --quiet)" test ! -s "$work/np$np.err"
done
check "-np 2 evaluated over 2 ranks (run.log)" grep -q "evaluating over 2 ranks" "$work/np2/run.log"
check "-np 1 and one process evaluate alone" sh -c "! grep -q 'evaluating over' '$work/np1/run.log' '$work/one/run.log'"
check "the other ranks wrote nothing: one session folder per run" test "$(ls -d "$work"/np*/ | wc -l)" -eq 3

# a sweep of two points (they share train and collect) at -np 1 and -np 2: the points' own AE and DDPM in two groups
# of one rank, then the first point's generate and analyze over both ranks, then the second's, which reuses the
# first's evaluations; and with two seeds at -np 3 (groups of two ranks and one) against one process
for np in 1 2; do
    # shellcheck disable=SC2086
    mpi $np sweep latent_noise=0,0.1 --session "$work/sweep$np" $tiny --format csv > "$work/sweep$np.csv" \
        2> "$work/sweep$np.err"
    ok $? "mpirun -np $np sweep latent_noise=0,0.1 exits 0"
done
for pt in latent_noise-0 latent_noise-0.1; do
    check "sweep point $pt: -np 2 equals -np 1" same_results "$work/sweep1/$pt" "$work/sweep2/$pt"
done
check "sweep tables: -np 2 equals -np 1 (timings apart)" sh -c "
  [ \"\$(grep -v seconds_ '$work/sweep1.csv')\" = \"\$(grep -v seconds_ '$work/sweep2.csv')\" ]"
check "-np 2: the points' own AE and DDPM went to 2 groups" \
    grep -q "sweep: every run's own stages before generate: 2 runs over 2 groups of ranks" "$work/sweep2.err"
# the pid that ran a session's ae stage (its run.log)
ae_pid() { sed -n 's/.* r[a-z]*: pdiff .*, pid \([0-9]*\), stages ae.*/\1/p' "$1/run.log" | tail -n 1; }
two_pids() { a=$(ae_pid "$1") b=$(ae_pid "$2"); [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; }
check "-np 2: the two points trained their AE in two processes at once (run.log pids)" \
    two_pids "$work/sweep2/latent_noise-0" "$work/sweep2/latent_noise-0.1"
check "-np 2: then all ranks evaluated for the first value" \
    grep -q "sweep: the first value's runs: 1 run over 1 group of ranks" "$work/sweep2.err"
check "-np 2: ... over 2 ranks" grep -q "evaluating over 2 ranks" "$work/sweep2/latent_noise-0/run.log"
check "-np 2: the second value reused the first's evaluations" \
    grep -q "reusing the evaluations" "$work/sweep2/latent_noise-0.1/run.log"
check "-np 2: only rank 0 printed the tables" test "$(grep -c '^"table",' "$work/sweep2.csv")" -eq 1
# shellcheck disable=SC2086
"$PDIFF" sweep latent_noise=0,0.1 --seeds 2 --session "$work/seeds1" $tiny --format csv --quiet > "$work/seeds1.csv"
ok $? "one process: sweep latent_noise=0,0.1 --seeds 2"
# shellcheck disable=SC2086
mpi 3 sweep latent_noise=0,0.1 --seeds 2 --session "$work/seeds3" $tiny --format csv --quiet > "$work/seeds3.csv"
ok $? "mpirun -np 3 sweep latent_noise=0,0.1 --seeds 2"
for pt in latent_noise-0-seed-1 latent_noise-0.1-seed-1 latent_noise-0-seed-2 latent_noise-0.1-seed-2; do
    check "--seeds 2 point $pt: -np 3 equals one process" same_results "$work/seeds1/$pt" "$work/seeds3/$pt"
done
check "--seeds 2 tables: -np 3 equals one process (timings apart)" sh -c "
  [ \"\$(grep -v seconds_ '$work/seeds1.csv')\" = \"\$(grep -v seconds_ '$work/seeds3.csv')\" ]"

# kill -9 of rank 1 in the middle of the ddpm stage: the job ends, the session resumes at one process
long="$tiny --set ddpm_steps=6000"
# shellcheck disable=SC2086
"$PDIFF" run --session "$work/ref" $long --quiet; ok $? "uninterrupted reference run"
k="$work/killed"
# shellcheck disable=SC2086
mpi 2 run --session "$k" $long --quiet > /dev/null 2> "$work/killed.err" &
job=$!
i=0
while ! grep -q "stage ddpm: start" "$k/run.log" 2> /dev/null && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
victim=
for p in $(procs "*run --session $k*"); do
    if tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -q '^OMPI_COMM_WORLD_RANK=1$'; then victim=$p; fi
done
check "rank 1 found in the running job" test -n "$victim"
[ -n "$victim" ] && kill -9 "$victim"
wait $job
rc=$?
check "the job ends with a failure status (got $rc)" test $rc -ne 0
check "the launcher names rank 1 and the signal" grep -q "rank 1 .*signal 9" "$work/killed.err"
left=$(procs "$PDIFF run --session $k*")
check "nothing waits: no pdiff of the job is left" test -z "$left"
check "the session kept its completed stages (ae done, ddpm not)" sh -c "
  grep -q 'stage ae: done' '$k/run.log' && ! grep -q 'stage ddpm: done' '$k/run.log'"
"$PDIFF" resume "$k" --quiet 2> "$work/resume1.err"; ok $? "resume at one process completes the session"
check "... to the results of the uninterrupted run" same_results "$work/ref" "$k"

# Ctrl-C (SIGINT to mpirun) in ddpm: rank 0 saves; resume at -np 2 completes to the same results
c="$work/ctrlc"
# shellcheck disable=SC2086
mpi 2 run --session "$c" $long --quiet > /dev/null 2> "$work/ctrlc.err" &
job=$!
i=0
while ! grep -q "stage ddpm: start" "$c/run.log" 2> /dev/null && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
for p in $(procs "mpirun -np 2 $PDIFF run --session $c*"); do kill -INT "$p"; done # mpirun, not the timeout that started it
wait $job
check "Ctrl-C: rank 0 stopped and saved (run.log)" grep -q "stopped: ddpm training stopped after step" "$c/run.log"
mpi 2 resume "$c" --quiet 2> "$work/resume2.err"; ok $? "resume at -np 2 completes the session"
check "... to the results of the uninterrupted run" same_results "$work/ref" "$c"

# SIGINT to rank 0 itself (the lock's pid; what scancel --signal=INT does): the job ends with 130, as one process
c="$work/int0"
# shellcheck disable=SC2086
mpi 2 run --session "$c" $tiny --set ddpm_steps=1000000 --quiet > /dev/null 2> "$work/int0.err" &
job=$!
i=0
while ! grep -q "stage ddpm: start" "$c/run.log" 2> /dev/null && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT "$(cut -d' ' -f1 "$c/.lock" | head -n 1)"
wait $job; rc=$?
ok $([ $rc -eq 130 ] && echo 0 || echo 1) "SIGINT to rank 0: the job exits 130 (got $rc)"
check "... and rank 0 says resume continues it" grep -q "ddpm training stopped after step .*pdiff resume continues it" \
    "$work/int0.err"

# bad input: one line from rank 0, exit status 1, nothing created
# shellcheck disable=SC2086
mpi 2 run --session "$work/bad" $tiny --set k=abc --quiet > /dev/null 2> "$work/bad.err"
check "bad input under mpirun exits 1" test $? -eq 1
check "... with one line naming the key" test "$(grep -c "^pdiff: k: must be an integer" "$work/bad.err")" -eq 1
check "... and no session" test ! -e "$work/bad"
mpi 2 --version > "$work/version.out" 2>&1
check "--version under -np 2 names the MPI library and the job's size" grep -q "^mpi: .*this job 2 ranks" \
    "$work/version.out"
check "... printed by rank 0 alone" test "$(grep -c '^pdiff ' "$work/version.out")" -eq 1
"$PDIFF" --version > "$work/version1.out"
check "--version without a launcher: one process" grep -q "^mpi: .*this job 1 rank$" "$work/version1.out"

echo "1..$n"
[ "$failed" -eq 0 ]
