# sweep_table.awk — a markdown table from a sweep.csv: one row per kind, one column per metric, cells "mean ± ci95"
# of the rows over the seeds of one value (VALUE: the swept key's value, or all for a sweep over seed); accuracies
# (mean, best, best_of_n) in %. Usage:
#   awk -v VALUE=all -v KINDS="original pdiff" -v METRICS="mean best_of_n novelty" -f tools/sweep_table.awk DIR/sweep.csv
BEGIN { FS = "," }
NR > 1 { gsub(/"/, ""); if ($1 == "sweep" && $4 == "" && $3 == VALUE) { m[$5 "|" $6] = $8; c[$5 "|" $6] = $10 } }
function cell(k, met, pct,   x, y) {
  x = m[k "|" met]; if (x == "" && met == "mean") x = m[k "|accuracy"]
  y = c[k "|" met]; if (y == "" && met == "mean") y = c[k "|accuracy"]
  if (x == "") return "-"
  if (pct) return sprintf("%.2f ± %.2f", 100 * x, 100 * y)
  return sprintf("%.3f ± %.3f", x, y)
}
END {
  nk = split(KINDS, ks, " "); nm = split(METRICS, ms, " ")
  printf "| kind |"; for (j = 1; j <= nm; j++) printf " %s |", ms[j]; printf "\n|---|"; for (j = 1; j <= nm; j++) printf "---|"; printf "\n"
  for (i = 1; i <= nk; i++) { printf "| %s |", ks[i]; for (j = 1; j <= nm; j++) printf " %s |", cell(ks[i], ms[j], ms[j] == "mean" || ms[j] == "best" || ms[j] == "best_of_n"); printf "\n" }
}
