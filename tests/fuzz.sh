#!/bin/sh
# fuzz.sh — replay every fuzz target's corpus (tests/fuzz/corpus/TARGET/) and the crash inputs found so far
# (tests/fuzz/crashes/TARGET/) through the parsers, without libFuzzer (tests/fuzz/replay_TARGET). A crash, an abort
# or a sanitizer report (in a --enable-asan build) fails the target's line. TAP.
: "${top_srcdir:=..}" "${top_builddir:=.}"
n=0; failed=0
for target in idx cifar csv config state session safetensors npy sweep; do
    n=$((n + 1))
    files=$(find "$top_srcdir/tests/fuzz/corpus/$target" "$top_srcdir/tests/fuzz/crashes/$target" -type f 2>/dev/null | sort)
    count=$(echo "$files" | grep -c .)
    if [ "$count" -eq 0 ]; then
        echo "not ok $n - $target: no corpus in tests/fuzz/corpus/$target"
        failed=$((failed + 1))
        continue
    fi
    # shellcheck disable=SC2086
    if out=$(echo "$files" | tr '\n' '\0' | xargs -0 "$top_builddir/tests/fuzz/replay_$target" 2>&1); then
        echo "ok $n - $target: $count inputs replayed"
    else
        echo "not ok $n - $target: an input of the $count crashed the parser"
        echo "$out" | tail -20 | sed 's/^/#   /'
        failed=$((failed + 1))
    fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
