#!/bin/sh
# plot.sh — `pdiff plot` (issue 16) on a tiny convnet session (the settings of tests/pipeline.sh) and a tiny sweep with
# --seeds 2 (tests/sweep.sh's settings): every figure in PDF, SVG and PNG and figures.tex naming them; the PDF files
# render with pdftoppm and the SVG files parse with xmllint (each check skips when its tool is absent); the PNG files
# decode, and the heatmap's cells, read back from its pixels (tests/png_cells), order as similarity.csv's IoUs; the
# sweep's metrics with their 95 % intervals (a stopped sweep's runs so far); --only, --width; bad options refused
# (exit 2), a folder that is not a session refused (exit 1). TAP output. Skips when pdiff was built without cairo.
: "${PDIFF:=./pdiff}" "${top_builddir:=.}"
work="$top_builddir/tests/work/plot"
rm -rf "$work"; mkdir -p "$work/data"
. "${top_srcdir:-.}/tests/tap_lib.sh" # n, failed, ok, check
if [ "$PDIFF_HAVE_CAIRO" = no ]; then
    refused 1 "pdiff was built without cairo (install libcairo2-dev and reconfigure)" \
        "without cairo, pdiff plot says what to install (exit 1)" "$PDIFF" plot "$work"
    skip "pdiff was built without cairo: no figures to check"
    echo "1..$n"
    [ "$failed" -eq 0 ]
    exit
fi
"$top_builddir/tests/gen_idx" "$work/data" 1500 400 12 || { echo "Bail out! gen_idx failed"; exit 1; }

# the figures' kinds carry the TUI's table (ui/kind.c) as data: the same kinds, labels and symbols, in order
kinds() { grep -o "^    {\"[^\"]*\", \"[^\"]*\", {'.'" "$1"; }
kinds "$top_srcdir/ui/kind.c" > "$work/kinds-tui"; kinds "$top_srcdir/src/figure.c" > "$work/kinds-fig"
check "src/figure.c's kinds, labels and symbols are ui/kind.c's (9 kinds)" sh -c "
  cmp '$work/kinds-tui' '$work/kinds-fig' && test \$(wc -l < '$work/kinds-fig') -eq 9"

s="$work/s"
tiny="--set dataset=idx:$work/data --set arch=convnet --set epochs=4 --set k=20 --set save_every=1 --set ae_steps=80
 --set ddpm_steps=80 --set n_generate=8 --set n_recon=2 --set timesteps=60 --set ddpm_channels=8,8,8,8
 --set n_noise=2 --set noise_sigmas=0.01,0.1 --set n_finetune=2 --set finetune_steps=3 --set threads=2"
# shellcheck disable=SC2086
"$PDIFF" run --session "$s" $tiny --quiet 2> "$work/run.err"; ok $? "tiny convnet run exits 0"

figs="loss similarity memorization tsne accuracy"
for fmt in pdf svg png; do
    "$PDIFF" plot "$s" --format "$fmt" --out "$work/$fmt" > "$work/list" 2> "$work/err"; ok $? "pdiff plot --format $fmt exits 0"
    for f in $figs; do
        check "$fmt: $f.$fmt written, listed, included by figures.tex" sh -c "
          test -s '$work/$fmt/$f.$fmt' && grep -qx '$work/$fmt/$f.$fmt' '$work/list' &&
          grep -q '{$f' '$work/$fmt/figures.tex'"
    done
    check "$fmt: no temporary files left" sh -c "! ls -a '$work/$fmt' | grep -q '\\.tmp\\.'"
done
check "figures.tex: five figures, captions name the session and its settings" sh -c "
  test \$(grep -c 'begin{figure}' '$work/pdf/figures.tex') -eq 5 &&
  grep 'caption{' '$work/pdf/figures.tex' | grep -v 'session s (' | wc -l | grep -qx 0 &&
  grep -q 'arch=convnet' '$work/pdf/figures.tex'"
check "default output folder SESSION/figures, default format pdf" sh -c "
  '$PDIFF' plot '$s' --only loss > /dev/null && test -s '$s/figures/loss.pdf' && test -s '$s/figures/figures.tex'"

if command -v pdftoppm > /dev/null; then
    for f in $figs; do
        check "pdf: $f.pdf renders with pdftoppm" pdftoppm -r 20 -png -singlefile "$work/pdf/$f.pdf" "$work/render-$f"
    done
else
    skip "pdftoppm not installed (poppler-utils)"
fi
if command -v xmllint > /dev/null; then
    for f in $figs; do check "svg: $f.svg parses with xmllint" xmllint --noout "$work/svg/$f.svg"; done
else
    skip "xmllint not installed (libxml2-utils)"
fi

# the heatmap's pixels: cells of similarity_cells.csv (a, b, x, y, w, h) with their IoU from similarity.csv
cells="$work/png/similarity_cells.csv"
awk -F, 'NR == FNR { if (FNR > 1) iou[$1 "," $2] = $3; next }
         FNR > 1 && ($1 * 7 + $2 * 3) % 11 == 0 && ($3 "," $4) in iou { print $6, $7, $8, $9, iou[$3 "," $4] }' \
    "$s/similarity.csv" "$cells" | head -n 60 > "$work/cells"
check "similarity_cells.csv lists every p-diff x original cell (8 x 20)" sh -c "test \$(wc -l < '$cells') -eq 161"
"$top_builddir/tests/png_cells" "$work/png/similarity.png" < "$work/cells" > "$work/png_cells.out" 2>&1
ok $? "the heatmap PNG decodes and its cells' colours order as similarity.csv's IoUs ($(tail -n 1 "$work/png_cells.out"))"
for f in $figs; do
    check "png: $f.png decodes" sh -c "'$top_builddir/tests/png_cells' '$work/png/$f.png' < /dev/null | grep -q '^0 cells'"
done

check "--width 510 makes a wider PNG than the default 246" sh -c "
  '$PDIFF' plot '$s' --format png --width 510 --only accuracy --out '$work/wide' > /dev/null &&
  test \$(wc -c < '$work/wide/accuracy.png') -gt 0 &&
  w1=\$(od -An -tu1 -j16 -N4 '$work/png/accuracy.png' | awk '{print \$3 * 256 + \$4}') &&
  w2=\$(od -An -tu1 -j16 -N4 '$work/wide/accuracy.png' | awk '{print \$3 * 256 + \$4}') &&
  test \"\$w1\" -eq 1025 && test \"\$w2\" -eq 2125"
check "--only similarity --only tsne writes just those" sh -c "
  '$PDIFF' plot '$s' --only similarity --only tsne --out '$work/only' > /dev/null &&
  test \$(ls '$work/only' | grep -c '\\.pdf\$') -eq 2 && test -s '$work/only/tsne.pdf'"
# --only redraws one figure: figures.tex keeps the entries of the figures in the folder (fixed order, same captions),
# drops those whose files are gone, and gives a file without an entry a plain one
cp -r "$work/pdf" "$work/keep"
"$PDIFF" plot "$s" --only accuracy --out "$work/keep" > /dev/null 2>&1; ok $? "--only accuracy into a folder of figures exits 0"
grep -v '^%' "$work/pdf/figures.tex" > "$work/tex-all"; grep -v '^%' "$work/keep/figures.tex" > "$work/tex-keep"
check "--only accuracy keeps the other four figures' entries in figures.tex, in order, captions unchanged" \
    cmp "$work/tex-all" "$work/tex-keep"
rm "$work/keep/tsne.pdf"
check "--only loss after tsne.pdf is gone: figures.tex lists the four figures present" sh -c "
  '$PDIFF' plot '$s' --only loss --out '$work/keep' > /dev/null &&
  test \$(grep -c 'begin{figure}' '$work/keep/figures.tex') -eq 4 && ! grep -q 'tsne' '$work/keep/figures.tex'"
mkdir -p "$work/bare"; cp "$work/png/memorization.png" "$work/bare/"
check "--only accuracy next to a figure without an entry: figures.tex includes both (memorization first)" sh -c "
  '$PDIFF' plot '$s' --only accuracy --out '$work/bare' > /dev/null &&
  grep -o '{[a-z]*\\.[a-z]*}' '$work/bare/figures.tex' | tr '\\n' ' ' | grep -qx '{memorization.png} {accuracy.pdf} '"

refused 2 "--format: pdf, svg or png, got 'gif'" "--format gif refused (exit 2)" "$PDIFF" plot "$s" --format gif
refused 2 "--width" "--width 10 refused (exit 2)" "$PDIFF" plot "$s" --width 10
refused 2 "--width" "--width abc refused (exit 2)" "$PDIFF" plot "$s" --width abc
refused 2 "unknown figure 'heat'" "--only with an unknown figure refused (exit 2)" "$PDIFF" plot "$s" --only heat
refused 2 "sweep_metrics is a figure of a sweep" "--only sweep_metrics on a session refused (exit 2)" \
    "$PDIFF" plot "$s" --only sweep_metrics
refused 2 "unknown or incomplete option" "an unknown option refused (exit 2)" "$PDIFF" plot "$s" --colour
refused 2 "usage: pdiff plot" "no folder refused (exit 2)" "$PDIFF" plot
refused 1 "not a session (no config.csv) nor a sweep" "a folder that is not a session refused (exit 1)" \
    "$PDIFF" plot "$work/data"
refused 1 "not a session" "a missing folder refused (exit 1)" "$PDIFF" plot "$work/nowhere"

# a sweep with repeats: metrics with 95 % intervals
w="$work/sweep"
tinysw="--set dataset=idx:$work/data --set arch=mlp --set epochs=1 --set k=10 --set save_every=1 --set ae_steps=40
 --set ddpm_steps=40 --set n_generate=6 --set n_recon=2 --set timesteps=40 --set ddpm_channels=8,8,8,8
 --set n_noise=2 --set noise_sigmas=0.01 --set n_finetune=2 --set finetune_steps=2 --set threads=2"
# shellcheck disable=SC2086
"$PDIFF" sweep latent_noise=0,0.1 --seeds 2 $tinysw --session "$w" > /dev/null 2> "$work/sweep.err"
ok $? "sweep latent_noise=0,0.1 --seeds 2 exits 0"
for fmt in pdf svg png; do
    "$PDIFF" plot "$w" --format "$fmt" --out "$work/sw-$fmt" > "$work/list" 2> "$work/err"
    ok $? "pdiff plot SWEEP --format $fmt exits 0"
    check "$fmt: sweep_metrics and sweep_max_similarity written" sh -c "
      test -s '$work/sw-$fmt/sweep_metrics.$fmt' && test -s '$work/sw-$fmt/sweep_max_similarity.$fmt'"
done
check "the sweep's caption says the points are means with 95 % confidence intervals over 2 runs" sh -c "
  grep -q 'up to 2 runs each' '$work/sw-pdf/figures.tex' && grep -q '95 \\\\% confidence intervals' '$work/sw-pdf/figures.tex'"
check "the sweep's SVG draws error bars (3 metrics x 2 values with repeats)" sh -c "
  test \$(grep -c '<path' '$work/sw-svg/sweep_metrics.svg') -gt 20"
refused 2 "loss is a figure of a session" "--only loss on a sweep refused (exit 2)" "$PDIFF" plot "$w" --only loss
# a sweep still running or stopped: the runs without results yet are left out, and one line says so
p="$work/sweep-part"; mkdir -p "$p"; cp "$w/sweep_index.csv" "$p/"
cp -R "$w/latent_noise-0-seed-1" "$w/latent_noise-0-seed-2" "$w/latent_noise-0.1-seed-1" "$p/"
rm "$p/latent_noise-0.1-seed-1/summary.csv" # as before its first stage ended
"$PDIFF" plot "$p" --format svg --out "$work/sw-part" > /dev/null 2> "$work/part.err"; rc=$?
check "a stopped sweep: exit 0 (got $rc), both figures, one line: 2 of 4 runs without results, the first named" sh -c "
  test $rc -eq 0 && test -s '$work/sw-part/sweep_metrics.svg' && test -s '$work/sw-part/sweep_max_similarity.svg' &&
  test \$(grep -c '^pdiff' '$work/part.err') -eq 1 &&
  grep -q '2 of the sweep.s 4 runs have no results yet (latent_noise-0.1-seed-1, ...): the figures show the others' '$work/part.err'"
rm -r "$p"/latent_noise-0-seed-*
refused 1 "none of the sweep's 4 runs has results yet" "a sweep without results: one line, exit 1" \
    "$PDIFF" plot "$p" --out "$work/sw-none"

echo "1..$n"
[ "$failed" -eq 0 ]
