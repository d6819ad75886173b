#!/bin/sh
# engine_boundary.sh — the tree's boundaries (doc/design.md §2, §8). The engine (libpdiff.a: src/ without the program
# in src/cli/) never includes curses, never calls exit(), and references no curses symbol; the UI library is where
# curses is used. No include crosses a top-level folder by a relative path; ui/, kernels/ and tests/ include only
# the engine's public headers (src/*.h), never a component's private ones (src/cpu/, src/pipeline/, src/cli/);
# no source names a document outside the repository. TAP output.
: "${top_srcdir:=..}" "${top_builddir:=.}"
. "${top_srcdir:-.}/tests/tap_lib.sh" # n, failed, ok, check
# The file lists below are split at blanks (grep ... $engine): work from inside the source tree with names relative
# to it, which have none, whatever folder the tree lies in. The build folder is made absolute first.
top_builddir=$(cd "$top_builddir" && pwd) && cd "$top_srcdir" || { echo "Bail out! cannot enter $top_srcdir"; exit 1; }
t=.
engine=$(find "$t/src" -path "$t/src/cli" -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print | sort)
[ -n "$engine" ]; ok $? "the engine's sources are found ($(echo "$engine" | wc -l) files)"
# every grep below must read every file it is given (a file it cannot open would pass a check unread)
lines=$(cat $engine 2> /dev/null | wc -l)
cat $engine > /dev/null 2>&1; ok $? "every engine source can be read by name ($lines lines)"
inc=$(grep -l -E '#[[:space:]]*include[[:space:]]*[<"]([^>"]*(curses|panel)[^>"]*|(.*/)?term)\.h' $engine)
ok $([ -z "$inc" ] && echo 0 || echo 1) "no curses include in the engine sources${inc:+: $inc}"
ex=$(grep -n -E '(^|[^_a-z])exit[[:space:]]*\(' $engine | grep -v -E '^[^:]*\.h:')
ok $([ -z "$ex" ] && echo 0 || echo 1) "no exit() in the engine${ex:+: $ex}"
all=$(find "$t/src" "$t/ui" "$t/kernels" "$t/tests" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) | sort)
rel=$(grep -n -E '#[[:space:]]*include[[:space:]]*"\.\./' $all)
ok $([ -z "$rel" ] && echo 0 || echo 1) "no include by a relative path across folders${rel:+: $rel}"
# the private headers of the components, by name
priv=$(find "$t/src/cpu" "$t/src/pipeline" "$t/src/cli" -name '*.h' -exec basename {} \; | sort -u | tr '\n' '|' | sed 's/|$//; s/\./\\./g')
outside=$(find "$t/ui" "$t/kernels" "$t/tests" "$t/src" -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) | sort)
leak=$(grep -n -E "#[[:space:]]*include[[:space:]]*\"([^\"]*/)?($priv)\"" $outside)
ok $([ -z "$leak" ] && echo 0 || echo 1) "no private header of src/cpu, src/pipeline or src/cli is included outside its folder${leak:+: $leak}"
# every quoted include of ui/ names a ui/ header or a public engine header
bad=
for f in "$t"/ui/*.c "$t"/ui/*.h; do
    for h in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        [ -f "$t/ui/$h" ] || [ -f "$t/src/$h" ] || [ "$h" = pdiff_build.h ] || bad="$bad $(basename "$f"):$h"
    done
done
ok $([ -z "$bad" ] && echo 0 || echo 1) "ui/ includes only its own headers and src/*.h${bad:+:$bad}"
# one module talks to MPI: the program's src/cli/comm_mpi.c (issue 17)
mpi=$(grep -l -E '#[[:space:]]*include[[:space:]]*[<"]mpi\.h[>"]' $all | grep -v -E '/src/cli/comm_mpi\.c$')
ok $([ -z "$mpi" ] && echo 0 || echo 1) "only src/cli/comm_mpi.c includes mpi.h${mpi:+: $mpi}"
docs=$(grep -n -E 'DESIGN(\.md| §)|PLATFORM\.md|STYLE\.md|\.\./shared' $all)
ok $([ -z "$docs" ] && echo 0 || echo 1) "no source names a document outside the repository${docs:+: $docs}"
lib="$top_builddir/src/libpdiff.a"
if command -v nm >/dev/null 2>&1 && [ -f "$lib" ]; then
    syms=$(nm -u "$lib" 2>/dev/null | awk '{print $NF}' | grep -E '^(initscr|newterm|endwin|wrefresh|wgetch|waddnstr|mvwaddnstr|start_color|stdscr|new_panel|update_panels)$' | sort -u | tr '\n' ' ')
    ok $([ -z "$syms" ] && echo 0 || echo 1) "libpdiff.a references no curses symbol${syms:+: $syms}"
    uisyms=$(nm -u "$top_builddir/ui/libpdiffui.a" 2>/dev/null | awk '{print $NF}' | grep -c -E '^(newterm|endwin)$')
    ok $([ "$uisyms" -gt 0 ] && echo 0 || echo 1) "the UI library is where curses is used (the check can see it)"
    clisyms=$(nm -g --defined-only "$lib" 2>/dev/null | awk '{print $NF}' | grep -E '^(cli_|tui_)' | tr '\n' ' ')
    ok $([ -z "$clisyms" ] && echo 0 || echo 1) "the library holds no part of the program or the UI${clisyms:+: $clisyms}"
else
    echo "ok $((n + 1)) # SKIP nm or libpdiff.a not available"; n=$((n + 1))
fi
echo "1..$n"
[ "$failed" -eq 0 ]
