#!/bin/sh
# engine_boundary.sh — the engine (src/, libpdiff.a) never includes curses, never calls exit(), and its library
# references no curses symbol; the UI library is the only part that does. TAP output.
: "${top_srcdir:=..}" "${top_builddir:=.}"
n=0; failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
inc=$(grep -l -E '#[[:space:]]*include[[:space:]]*[<"]([^>"]*(curses|panel)[^>"]*|(.*\/)?term)\.h' "$top_srcdir"/src/*.c "$top_srcdir"/src/*.h 2>/dev/null | grep -v '/cli' | grep -v '/main\.c')
ok $([ -z "$inc" ] && echo 0 || echo 1) "no curses include in the engine sources${inc:+: $inc}"
ex=$(grep -n -E '(^|[^_a-z])exit[[:space:]]*\(' "$top_srcdir"/src/*.c 2>/dev/null | grep -v -E 'src/(main|cli[a-z_]*)\.c:')
ok $([ -z "$ex" ] && echo 0 || echo 1) "no exit() in the engine${ex:+: $ex}"
lib="$top_builddir/src/libpdiff.a"
if command -v nm >/dev/null 2>&1 && [ -f "$lib" ]; then
    syms=$(nm -u "$lib" 2>/dev/null | awk '{print $NF}' | grep -E '^(initscr|newterm|endwin|wrefresh|wgetch|waddnstr|mvwaddnstr|start_color|stdscr|new_panel|update_panels)$' | sort -u | tr '\n' ' ')
    ok $([ -z "$syms" ] && echo 0 || echo 1) "libpdiff.a references no curses symbol${syms:+: $syms}"
    uisyms=$(nm -u "$top_builddir/ui/libpdiffui.a" 2>/dev/null | awk '{print $NF}' | grep -c -E '^(newterm|endwin)$')
    ok $([ "$uisyms" -gt 0 ] && echo 0 || echo 1) "the UI library is where curses is used (the check can see it)"
else
    echo "ok $((n + 1)) # SKIP nm or libpdiff.a not available"; n=$((n + 1))
fi
echo "1..$n"
[ "$failed" -eq 0 ]
