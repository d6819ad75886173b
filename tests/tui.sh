#!/bin/sh
# tui.sh — the TUI end to end: the real binary in tmux (private server, 100x30), driven with send-keys and read
# back with capture-pane. Every check polls the screen with a timeout instead of sleeping a fixed time.
# Covers: every screen renders, Tab/Shift-Tab/digits, ticking a target changes D, inline validation, a run
# started from Setup completes and Results shows the numbers of summary.csv, the Similarity legend, export,
# save, resize to 60x20 / 30x10 and back, q exits 0 (also with a run active: y stops it and it saves), a saved
# session reopens, NO_COLOR and LANG=C (ASCII only) render, and the headless fallback without a terminal. TAP.
# Whole-screen checks (tig's style): the captured screen against tests/screens/NAME.txt, both through the same sed
# mask (the work folder, times, time stamps); a unified diff on failure. PDIFF_UPDATE_SCREENS=1 rewrites the files.
# shellcheck disable=SC2016 # wait_screen's conditions are single-quoted on purpose: it evaluates them
. "${top_srcdir:-.}/tests/tui_lib.sh" # launch, keys, wait_for, check_screen, check_whole, ok, ...
tui_need_tmux
tui_work tui
tui_server test

"$top_builddir/tests/gen_idx" "$work/data" 2000 500 12 > /dev/null || {
    echo "Bail out! gen_idx failed"
    exit 1
}
sess="$work/sessions/run1"
set -- --set "dataset=idx:$work/data" --set arch=mlp --set epochs=1 --set k=20 --set save_every=1 \
    --set ae_steps=60 --set ddpm_steps=60 --set n_generate=8 --set n_recon=2 --set timesteps=50 --set ddim_steps=20 \
    --set ddpm_channels=8,8,8,8 --set ae_batch=20 --set ddpm_batch=20
tiny="$*"

# ---------------------------------------------------------------------------------------------- whole screens
# Relative paths (the data set, a fake session written here) keep these screens the same wherever the tree is.
fake="$work/screens/paper"
mkdir -p "$fake"
printf '"key","value"\n"dataset","idx:data"\n"arch","mlp"\n' > "$fake/config.csv"
{
    echo '"metric","value"'
    echo '"task_accuracy",0.9412'
    for s in train,12.5 collect,3.25 ae,40 ddpm,20.75 generate,5 analyze,2; do echo "\"seconds_${s%,*}\",${s#*,}"; done
    echo '"original_best",0.9447'
    echo '"original_mean",0.94175'
    echo '"original_median",0.9418'
    echo '"ensemble",0.9431'
    echo '"pdiff_best",0.9453'
    echo '"pdiff_mean",0.94226'
    echo '"pdiff_median",0.9423'
    echo '"ae_recon_best",0.9449'
    echo '"ae_recon_mean",0.942'
    echo '"ae_recon_median",0.9421'
    echo '"novelty",0.125'
} > "$fake/summary.csv"
launch whole env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --set dataset=idx:data --set arch=mlp
wait_for whole "[1 Setup]"
check_whole whole setup "whole screen: Setup at 100x30 (mlp on the test data)"
keys whole '?'
wait_for whole "generated from the key table"
check_whole whole help "whole screen: the help overlay on Setup"
keys whole Escape q
wait_file "$work/whole.exit" 10 # the next launch starts the tmux server again
launch fakeres env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui screens/paper
wait_for fakeres "[3 Results]"
check_whole fakeres results "whole screen: Results of a session with fixed CSV files"
keys fakeres q
wait_file "$work/fakeres.exit" 10

# ---------------------------------------------------------------------------------------------- a session from Setup
launch main env LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR= "$PDIFF" tui --session "$sess" "$@"
check_screen main "[1 Setup]" "Setup screen renders its title"
check_re main "files found in .*data$" "Setup shows the data set as found (the path shortened, not the verdict)"
check_screen main "D = 1,290 in 2 tensors" "Setup shows the default target (mlp: fc3) with D"
check_screen main "fc2.weight" "Setup lists the model's tensors"
keys main p
check_re main "total +[0-9.]+ [KMG]?i?B +[0-9.]+ (s|min|h|days) +estimated total" \
    "p on Setup shows the plan: memory and estimated time per stage, the total" 60
check_re main "generate +[0-9.]+ [KMG]?i?B +[0-9.]+ (s|min|h|days) +8 samples x 50 ddpm steps" \
    "the plan's work comes from the Setup settings (n_generate=8, timesteps=50)"
keys main p
check_screen main "fc2.weight" "p again closes the plan"
keys main / f c 2 . b i a s Enter
check_screen main "[ ] fc2.bias" "/ filters the Setup list"
keys main Space
check_screen main "D = 1,418 in 3 tensors" "Space ticks fc2.bias into the target: D grows by 128"
keys main Escape
keys main / s a v e _ e v e r y Enter
wait_for main "save_every" 5
keys main Enter C-u x y z Enter
check_screen main "save_every: must be" "an invalid value is refused inline with the key's rule"
keys main Escape Escape
keys main Tab
check_screen main "[2 Run]" "Tab goes to Run"
check_screen main "pending" "Run lists the stages"
keys main Tab
check_screen main "[3 Results]" "Tab goes to Results"
keys main BTab
check_screen main "[2 Run]" "Shift-Tab goes back"
keys main 4
check_screen main "[4 Similarity]" "4 jumps to Similarity"
keys main 5
check_screen main "[5 Latents]" "5 jumps to Latents"
keys main 6
check_screen main "[6 Sessions]" "6 jumps to Sessions"
check_screen main "no sessions yet" "Sessions is empty before the first run"
keys main Escape
check_screen main "[5 Latents]" "Esc goes back to the screen before (Latents)"
keys main Escape
check_screen main "[4 Similarity]" "Esc again goes further back (Similarity), not forward to Sessions"
keys main 6
check_screen main "[6 Sessions]" "6 jumps to Sessions again"
keys main '?'
check_screen main "generated from the key table" "? shows the help overlay"
keys main Escape 1
check_screen main "[1 Setup]" "Esc closes the help, 1 jumps to Setup"

keys main r
check_screen main "[2 Run]" "r starts the run and shows Run"
check_screen main "[3 Results]" "the run finishes and Results appears" 90
pbest=$(grep '^"pdiff_best"' "$sess/summary.csv" | cut -d, -f2)
pbest=$(awk -v v="$pbest" 'BEGIN { printf "%.2f", 100 * v }')
obest=$(awk -F, '$1 == "\"original_best\"" { printf "%.2f", 100 * $2 }' "$sess/summary.csv")
check_screen main "p-diff " "Results shows the accuracy table"
wait_for main "$pbest"
ok $? "Results shows p-diff best $pbest% as in summary.csv"
wait_for main "$obest"
ok $? "Results shows original best $obest% as in summary.csv"
check_re main "^ +0 original +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{4} " "Results lists the models (model 0, an original, with its numbers)"
keys main o
check_screen main "sorted by accuracy" "o sorts the model list"
keys main x
if [ "$PDIFF_HAVE_JSON" = no ]; then # built without jansson: the key says so instead
    check_screen main "without a JSON library" "x on Results says pdiff was built without a JSON library"
    ok 0 "# SKIP no safetensors file without a JSON library"
else
    check_screen main "exported as a PyTorch state_dict" "x on Results exports the selected model and says where"
    ls "$sess/export" 2> /dev/null | grep -qE '^[a-z_.0-9]+-[0-9]+\.safetensors$'
    ok $? "... into SESSION/export/KIND-ID.safetensors"
fi
keys main 2
check_screen main "done in" "Run shows the finished stages"
keys main 4
check_screen main "IoU scale" "Similarity shows the heatmap legend"
check_screen main "p-diff #" "Similarity shows the cursor's pair"
keys main Right
check_screen main "original #1" "the heatmap cursor moves to the next original"
keys main 6
check_screen main "run1" "Sessions lists the new session"
keys main 3 e
wait_file "$sess/report.tex" 10
ok $? "e exports report.csv and report.tex into the session"
pbest_raw=$(grep '^"pdiff_best"' "$sess/summary.csv" | cut -d, -f2)
grep -q -F -x "\"accuracy\",\"p-diff\",\"best\",$pbest_raw" "$sess/report.csv" 2> /dev/null
ok $? "report.csv has the p-diff best row with summary.csv's value ($pbest_raw)"
keys main s
check_screen main "save settings to:" "s asks where to save the settings"
keys main C-u
T send-keys -t main -l "$work/saved-config.csv"
keys main Enter
wait_file "$work/saved-config.csv" 5
grep -q '^"save_every","1"' "$work/saved-config.csv" 2> /dev/null
ok $? "s writes the Setup as a config.csv"

# each check matches what only the new size draws: short tab names at 60 columns, full ones at 100
T resize-window -t main -x 60 -y 20
check_re main "^ pdiff +1 Set +2 Run +\[3 Results\] +4 Sim +5 Lat" "resized to 60x20: redrawn with the short tab names"
T resize-window -t main -x 30 -y 10
check_screen main "too small: 30x10" "resized to 30x10: says the terminal is too small"
T resize-window -t main -x 100 -y 30
wait_screen main 'grep -q -E "^ pdiff +1 Setup +2 Run +\[3 Results\] +4 Similarity" "$work/screen.txt" &&
    grep -q -E "^ +p-diff +$pbest " "$work/screen.txt" && ! grep -q "too small" "$work/screen.txt"'
ok $? "resized back to 100x30: Results again, full tab names and the table"
keys main q
wait_file "$work/main.exit" 10
grep -q EXIT=0 "$work/main.exit" 2> /dev/null
ok $? "q exits with status 0"

# ---------------------------------------------------------------------------------------------- reopen, NO_COLOR, LANG=C
launch reopen env LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR=1 "$PDIFF" tui "$sess"
check_screen reopen "[3 Results]" "tui SESSION opens on Results (NO_COLOR=1)"
check_screen reopen "$pbest" "the reopened session shows its table"
keys reopen 4
check_screen reopen "IoU scale" "NO_COLOR=1: the heatmap renders with shades"
keys reopen q
wait_file "$work/reopen.exit" 10
grep -q EXIT=0 "$work/reopen.exit" 2> /dev/null
ok $? "reopened TUI exits 0"

launch ascii env LANG=C LC_ALL=C "$PDIFF" tui "$sess"
check_screen ascii "[3 Results]" "LANG=C: renders"
keys ascii 2
check_screen ascii "done in" "LANG=C: Run screen renders"
keys ascii 4
wait_screen ascii 'grep -q -F "IoU scale" "$work/screen.txt" && ! LC_ALL=C grep -q "$(printf "[\200-\377]")" "$work/screen.txt"'
ok $? "LANG=C: the screen is ASCII only"
keys ascii q
wait_file "$work/ascii.exit" 10
grep -q EXIT=0 "$work/ascii.exit" 2> /dev/null
ok $? "LANG=C TUI exits 0"

# ---------------------------------------------------------------------------------------------- damaged parts
# A damaged state/models.bin or similarity.csv: the session still opens (table, losses, config), the screen of the
# damaged part says which file, line and column; an empty id cell in similarity.csv once read row_of[(int32_t)NaN].
# 300 columns: the messages name the whole path.
dmg="$work/sessions/dmg"
rm -rf "$dmg" && cp -r "$sess" "$dmg"
printf 'XXXXXXXX' | dd of="$dmg/state/models.bin" bs=1 seek=100 conv=notrunc 2> /dev/null
launch dmg env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui "$dmg"
T resize-window -t dmg -x 300 -y 30
check_screen dmg "[3 Results]" "a damaged models.bin: the session still opens on Results"
check_screen dmg "$pbest" "a damaged models.bin: Results shows the table of summary.csv"
check_screen dmg "no per-model list: $dmg/state/models.bin" "a damaged models.bin: Results says it could not be read"
keys dmg 4
check_screen dmg "no similarity matrix: $dmg/state/models.bin" "a damaged models.bin: Similarity says why it is empty"
keys dmg 2
check_screen dmg "done in" "a damaged models.bin: Run shows the session's stages"
keys dmg q
wait_file "$work/dmg.exit" 10
grep -q EXIT=0 "$work/dmg.exit" 2> /dev/null
ok $? "a damaged models.bin: the TUI exits 0"
simbad="$work/sessions/simbad"
rm -rf "$simbad" && cp -r "$sess" "$simbad"
printf '"a","b","iou"\n,1,0.5\n' > "$simbad/similarity.csv"
launch simbad env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui "$simbad"
T resize-window -t simbad -x 300 -y 30
check_screen simbad "[3 Results]" "similarity.csv with an empty id: the session opens"
check_re simbad "^ +0 original +[0-9]+\.[0-9]{2} " "similarity.csv with an empty id: Results lists the models"
keys simbad 4
check_screen simbad "no similarity matrix: $simbad/similarity.csv:2: column 'a': not a model id" \
    "similarity.csv with an empty id: Similarity names the file, line and column"
keys simbad q
wait_file "$work/simbad.exit" 10
grep -q EXIT=0 "$work/simbad.exit" 2> /dev/null
ok $? "similarity.csv with an empty id: the TUI exits 0"

# ---------------------------------------------------------------------------------------------- q with a run active
long="$work/sessions/long"
launch busy env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PDIFF" tui --session "$long" "$@" --set ae_steps=10000000
wait_for busy "[1 Setup]"
keys busy r
check_screen busy "running ae" "a long run reaches the AE stage" 30
keys busy q
check_screen busy "Stop it" "q asks before stopping an active run"
keys busy y
wait_file "$work/busy.exit" 30
grep -q EXIT=0 "$work/busy.exit" 2> /dev/null
ok $? "y stops the run, waits for it to save, and exits 0"
test -s "$long/config.csv" && test -s "$long/summary.csv"
ok $? "the stopped session keeps its files"

# ---------------------------------------------------------------------------------------------- no terminal
"$PDIFF" tui "$sess" < /dev/null > "$work/headless.out" 2> "$work/headless.err"
ok $? "without a terminal, tui SESSION exits 0"
grep -q "p-diff" "$work/headless.out" && grep -q "report" "$work/headless.err"
ok $? "without a terminal it prints the report and says why"

# a sanitizer build (configure --enable-asan) reports into the TUIs' stderr; an empty series once gave
# "memcpy from NULL" on the Run screen of a fresh TUI
! grep -l -E "runtime error|AddressSanitizer|LeakSanitizer" "$work"/*.err 2> /dev/null | sed 's/^/# sanitizer report in /' | grep .
ok $? "no sanitizer report in any TUI's stderr"

echo "1..$n"
[ $failed -eq 0 ]
