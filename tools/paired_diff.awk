# paired_diff.awk — paired comparisons from a sweep.csv (pdiff sweep ... --seeds N, or a sweep over seed): the
# difference of one metric between an item and a base item within each seed, then its mean and 95 % Student-t
# half-width over the seeds. An item is KIND or KIND@VALUE (VALUE: the swept key's value; without it any value, as in
# a sweep over seed). Comparing within a seed removes the seed-to-seed spread of the task model, which dominates the
# plain intervals of each kind. Usage:
#   awk -v ITEMS="pdiff averaged" -v BASE=original -v METRIC=mean -v SCALE=100 -f tools/paired_diff.awk DIR/sweep.csv
#   awk -v ITEMS="pdiff@0.1" -v BASE=pdiff@0 -v METRIC=mean -v SCALE=100 -f tools/paired_diff.awk DIR/sweep.csv
# (METRIC "mean" falls back to "accuracy" for the single-model ensemble.)
BEGIN { FS = "," }
NR > 1 {
    gsub(/"/, "")
    if ($1 == "sweep" && $4 != "") {
        v[$5 "|" $6 "|" $3 "|" $4] = $8
        v[$5 "|" $6 "||" $4] = $8
        seeds[$4] = 1
    }
}
function get(item, metric, seed,    at, k, val, x) {
    at = index(item, "@")
    k = at ? substr(item, 1, at - 1) : item
    val = at ? substr(item, at + 1) : ""
    x = v[k "|" metric "|" val "|" seed]
    if (x == "" && metric == "mean")
        x = v[k "|accuracy|" val "|" seed]
    return x
}
function tq(n) { return n == 2 ? 12.706 : n == 3 ? 4.303 : n == 4 ? 3.182 : n == 5 ? 2.776 : n == 6 ? 2.571 : 0 }
END {
    if (SCALE == "")
        SCALE = 1
    ni = split(ITEMS, it, " ")
    for (i = 1; i <= ni; i++) {
        n = 0; s = 0; ss = 0; line = ""
        for (sd in seeds) {
            a = get(it[i], METRIC, sd); b = get(BASE, METRIC, sd)
            if (a == "" || b == "")
                continue
            d = a - b; s += d; ss += d * d; n++; line = line sprintf(" %+.3f", SCALE * d)
        }
        if (n == 0) { printf "%-14s no runs\n", it[i]; continue }
        m = s / n; sdv = n > 1 ? sqrt((ss - n * m * m) / (n - 1)) : 0
        printf "%-14s %s - %s: %+.3f ± %.3f (n = %d; per seed%s)\n", it[i], METRIC, BASE, SCALE * m,
               SCALE * tq(n) * sdv / sqrt(n), n, line
    }
}
