/* sweep_internal.h — shared by the files of a sweep's tables (sweep.h): sweep_report.c reads the runs and prints
 * the tables, sweep_paired.c builds the paired differences; private to them. */
#ifndef PD_SWEEP_INTERNAL_H
#define PD_SWEEP_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "csvio.h"
#include "error.h"
#include "stats.h"

#define SWEEP_NAME_MAX 128
#define SWEEP_LABEL_MAX 320

/* The runs of a sweep (sweep_index.csv) and their summary metrics. */
typedef struct {
    pd_csv_table idx;
    int cv, cs, cseed;       /* index columns (cseed -1 in an older index) */
    const char *key;
    int is_seed;             /* a sweep over seed: one group of runs */
    int64_t n_runs;
    int partial;             /* a run without summary.csv is left out (NaN), not refused */
    int64_t n_without;       /* such runs */
    char first_without[256]; /* the first one's session */
    char (*seed)[32];        /* per run, "" when unknown */
    int *group;              /* per run: its value's group (0 = the first value) */
    int n_groups;
    int64_t *group_row;      /* per group: its first run (the label) */
    int n_metrics;
    int64_t cap_metrics;
    char (*metric)[SWEEP_NAME_MAX]; /* full names, first appearance order */
    double *val;             /* [n_runs][cap_metrics], NaN when a run lacks the metric */
} sweep_data;

/* A cell of an output table: a label, or a summary of values (n = 0: none). */
typedef struct {
    const char *label;
    double mean, ci;
    int n, pct;
} sweep_cell;

typedef struct {
    char title[512];
    const char *name; /* LaTeX label / CSV table */
    int cols, rows;
    sweep_cell *cells; /* rows x cols, first row the header */
    char (*labels)[SWEEP_LABEL_MAX]; /* labels the table owns (NULL when none); freed with it */
} sweep_table;

/* Split a metric name into kind and metric (kind "" when none; kind has SWEEP_NAME_MAX bytes). */
void sweep_split(const sweep_data *d, const char *name, char *kind, const char **metric);
/* 1 when a kind's metric is an accuracy (shown in percent). */
int sweep_is_accuracy(const char *kind, const char *metric);
/* The most runs of one value (a sweep over seed: all its runs). */
int sweep_most_runs(const sweep_data *d);
/* t's cells for n rows below the header row "kind, metric, one column per value" (a sweep over seed: one per run
 * and "mean ± 95% CI"); PD_ERR_NOMEM without a message. */
pd_status sweep_table_alloc(const sweep_data *d, int n, sweep_table *t);
void sweep_label(sweep_cell *c, const char *text);
void sweep_table_free(sweep_table *t);
void sweep_print_text(const sweep_table *t, FILE *out);
void sweep_print_latex(const sweep_table *t, FILE *out);
/* One tidy CSV row: table, the sweep's key, value, seed, kind, metric, n, mean, sd, ci95. */
void sweep_csv_row(pd_csv_writer *w, const char *table, const sweep_data *d, const char *value, const char *seed,
                   const char *kind, const char *metric, const pd_stats *s);

/* The paired table (sweep_paired.c; sweep.h describes it). With fewer than 2 runs per value it has no rows
 * (t->rows 1 or less, nothing written to w). PD_ERR_NOMEM without a message. */
pd_status sweep_paired_table(const sweep_data *d, sweep_table *t);
pd_status sweep_paired_csv(const sweep_data *d, pd_csv_writer *w);

#endif
