/* cli_progress.c — progress bars with ETA and log lines on stderr, and Ctrl-C handling (see cli.h). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "progress_file.h"
#include "session.h"

static volatile sig_atomic_t cli_sigint_count;

static void cli_on_sigint(int sig)
{
    (void)sig;
    cli_sigint_count++;
    if (cli_sigint_count == 1) {
        static const char msg[] = "\npdiff: stopping after the current step and saving (Ctrl-C again quits without saving)\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
    } else {
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
    }
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cli_on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_interrupted(void)
{
    return cli_sigint_count > 0;
}

static void cli_fmt_time(double s, char *buf, size_t size)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, size, "--:--");
    else if (s >= 3600)
        snprintf(buf, size, "%d:%02d:%02d", (int)(s / 3600), (int)(fmod(s, 3600) / 60), (int)fmod(s, 60));
    else
        snprintf(buf, size, "%d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

void cli_session_status(const char *dir, char *buf, size_t size)
{
    pd_session_owner who;
    buf[0] = '\0';
    if (!session_owner(dir, &who))
        return;
    int n = snprintf(buf, size, "being written by pid %ld on %s (%s)", who.pid, who.host[0] ? who.host : "?",
                     who.command[0] ? who.command : "pdiff");
    pd_progress_snapshot ps;
    if (n < 0 || (size_t)n >= size || !progress_file_read_of(dir, who.pid, &ps))
        return;
    char in[32], eta[32];
    cli_fmt_time(ps.stage_seconds, in, sizeof in);
    cli_fmt_time(progress_file_seconds_left(&ps), eta, sizeof eta);
    if (ps.total > 0)
        snprintf(buf + n, size - (size_t)n, ": stage %s, %s %lld/%lld, %s in the stage, ETA %s", ps.stage, ps.unit,
                 (long long)ps.done, (long long)ps.total, in, eta);
    else
        snprintf(buf + n, size - (size_t)n, ": stage %s starting", ps.stage);
}

static void cli_progress_draw(cli_progress *p, int final)
{
    double el = progress_now() - p->stage_t0;
    double frac = p->total > 0 ? (double)p->done / (double)p->total : 0.0;
    char eta[32], elapsed[32], loss[32] = "";
    cli_fmt_time(frac > 0 ? el * (1.0 - frac) / frac : NAN, eta, sizeof eta);
    cli_fmt_time(el, elapsed, sizeof elapsed);
    if (isfinite(p->loss))
        snprintf(loss, sizeof loss, "  loss %.4g", p->loss);
    if (p->tty) {
        char bar[31];
        int fill = (int)(frac * 30 + 0.5);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r%-8s [%s] %3d%%  %lld/%lld  %s  ETA %s%s\033[K", p->stage, bar, (int)(frac * 100 + 0.5),
                (long long)p->done, (long long)p->total, elapsed, final ? "0:00" : eta, loss);
        p->line_open = 1;
    } else {
        fprintf(stderr, "%-8s %3d%%  %lld/%lld  %s  ETA %s%s\n", p->stage, (int)(frac * 100 + 0.5),
                (long long)p->done, (long long)p->total, elapsed, final ? "0:00" : eta, loss);
    }
    fflush(stderr);
}

static void cli_progress_close_line(cli_progress *p)
{
    if (p->line_open) {
        fputc('\n', stderr);
        p->line_open = 0;
    }
}

static void cli_on_progress(void *ud, const char *stage, int64_t done, int64_t total)
{
    cli_progress *p = ud;
    if (p->quiet)
        return;
    double now = progress_now();
    if (strcmp(stage, p->stage) != 0) {
        cli_progress_close_line(p);
        snprintf(p->stage, sizeof p->stage, "%s", stage);
        p->stage_t0 = now;
        p->last_draw = 0;
        p->loss = NAN;
    }
    int64_t prev = p->done;
    p->done = done;
    p->total = total;
    int final = done >= total;
    if (p->tty) {
        if (final || now - p->last_draw >= 0.1) {
            cli_progress_draw(p, final);
            p->last_draw = now;
        }
    } else if (total > 0 && (final || (10 * done / total) != (10 * prev / total))) {
        cli_progress_draw(p, final);
    }
}

static void cli_on_metric(void *ud, const char *stage, int64_t step, double loss, double acc)
{
    cli_progress *p = ud;
    (void)stage;
    (void)step;
    (void)acc;
    p->loss = loss;
}

static void cli_on_log(void *ud, const char *line)
{
    cli_progress *p = ud;
    if (p->quiet)
        return;
    if (p->line_open) {
        fputs("\r\033[K", stderr);
        p->line_open = 0;
    }
    fprintf(stderr, "pdiff: %s\n", line);
    if (p->tty && p->total > 0 && p->done < p->total)
        cli_progress_draw(p, 0);
    fflush(stderr);
}

static int cli_should_cancel(void *ud)
{
    (void)ud;
    return cli_interrupted();
}

void cli_progress_init(cli_progress *p, int quiet)
{
    memset(p, 0, sizeof *p);
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO);
    p->loss = NAN;
}

pd_callbacks cli_progress_callbacks(cli_progress *p)
{
    return (pd_callbacks){.on_progress = cli_on_progress, .on_metric = cli_on_metric, .on_log = cli_on_log,
                          .should_cancel = cli_should_cancel, .ud = p};
}

void cli_progress_finish(cli_progress *p)
{
    if (!p->quiet)
        cli_progress_close_line(p);
}
