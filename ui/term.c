/* term.c — colours, glyphs and clipped text output for the TUI, and the terminal's protection: whatever
 * ends the process, the terminal gets its modes back (see app.h).
 *
 * Colour roles map to colour pairs on colour terminals and to plain attributes (bold, reverse, underline) on
 * monochrome ones or under NO_COLOR, so every screen stays readable without colour. Heatmap cells use
 * alloc_pair() so that any fg/bg combination of the ramp gets a pair on demand.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

#include "table.h"

#include <term.h> /* last: it defines macros named like ordinary words (lines, tab) */

static short ui_term_role_pair[UI_C_COUNT];
static int ui_term_utf8;

void ui_term_init_colors(ui_app *a)
{
    memset(ui_term_role_pair, 0, sizeof ui_term_role_pair);
    ui_term_utf8 = a->utf8;
    a->nramp = 0;
    if (a->colors < 8)
        return;
    static const short series[8] = {COLOR_CYAN, COLOR_YELLOW, COLOR_GREEN, COLOR_MAGENTA,
                                    COLOR_RED,  COLOR_BLUE,   COLOR_WHITE, COLOR_CYAN};
    struct {
        int role;
        short fg, bg;
    } def[] = {{UI_C_TITLE, COLOR_BLACK, COLOR_CYAN},
               {UI_C_TAB, COLOR_BLACK, COLOR_WHITE},
               {UI_C_STATUS, COLOR_BLACK, COLOR_WHITE},
               {UI_C_ERROR, COLOR_RED, -1},
               {UI_C_OK, COLOR_GREEN, -1},
               {UI_C_HEAD, COLOR_CYAN, -1},
               {UI_C_SEL, COLOR_BLACK, COLOR_CYAN},
               {UI_C_WARN, COLOR_YELLOW, -1}};
    short next = 1;
    for (size_t i = 0; i < sizeof def / sizeof def[0]; i++) {
        init_pair(next, def[i].fg, def[i].bg);
        ui_term_role_pair[def[i].role] = next++;
    }
    for (int i = 0; i < 8; i++) {
        init_pair(next, series[i], -1);
        ui_term_role_pair[UI_C_SERIES + i] = next++;
    }
    a->nramp = ui_heatmap_ramp(a->colors, a->ramp, UI_HEATMAP_MAX_RAMP);
}

attr_t ui_term_role(const ui_app *a, int role)
{
    if (role < 0 || role >= UI_C_COUNT)
        return A_NORMAL;
    if (a->colors < 8) {
        switch (role) {
        case UI_C_TITLE:
        case UI_C_STATUS:
            return A_REVERSE;
        case UI_C_TAB:
            return A_BOLD | A_UNDERLINE;
        case UI_C_ERROR:
            return A_BOLD | A_UNDERLINE;
        case UI_C_HEAD:
            return A_BOLD;
        case UI_C_SEL:
            return A_REVERSE;
        case UI_C_DIM:
            return A_DIM;
        case UI_C_WARN:
            return A_BOLD;
        default:
            return A_NORMAL;
        }
    }
    attr_t extra = A_NORMAL;
    if (role == UI_C_TAB || role == UI_C_HEAD || role == UI_C_ERROR)
        extra = A_BOLD;
    if (role == UI_C_DIM)
        return A_DIM;
    if (role == UI_C_NORMAL)
        return A_NORMAL;
    return COLOR_PAIR(ui_term_role_pair[role]) | extra;
}

void ui_term_set(const ui_app *a, int role)
{
    attrset(ui_term_role(a, role));
}

void ui_term_pair(int fg, int bg, attr_t attrs)
{
    int pair = alloc_pair(fg, bg);
    if (pair < 0)
        pair = 0;
    attr_set(attrs, (short)(pair < 32767 ? pair : 0), &pair);
}

/* Write s at (y, x), at most width columns, padding with spaces to width (width < 0: no padding, no limit). */
void ui_term_text(int y, int x, int width, const char *s)
{
    if (width == 0 || y < 0 || x < 0 || y >= LINES || x >= COLS)
        return;
    if (width < 0) {
        width = ui_table_text_width(s);
        if (width == 0)
            return;
    }
    if (x + width > COLS)
        width = COLS - x;
    char buf[2048];
    ui_table_fit(s, width > 500 ? 500 : width, 0, ui_term_utf8, buf, sizeof buf);
    mvaddstr(y, x, buf);
}

void ui_term_textf(int y, int x, int width, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ui_term_text(y, x, width, buf);
}

void ui_term_fill(int y, int x, int width)
{
    if (y < 0 || y >= LINES)
        return;
    for (int i = 0; i < width && x + i < COLS; i++)
        mvaddch(y, x + i, ' ');
}

const char *ui_term_glyph(const ui_app *a, const char *utf8, const char *ascii)
{
    return a->utf8 ? utf8 : ascii;
}

void ui_term_box(const ui_app *a, int y, int x, int h, int w, const char *title)
{
    const char *hz = ui_term_glyph(a, "\u2500", "-"), *vt = ui_term_glyph(a, "\u2502", "|");
    const char *c[4] = {ui_term_glyph(a, "\u250c", "+"), ui_term_glyph(a, "\u2510", "+"),
                        ui_term_glyph(a, "\u2514", "+"), ui_term_glyph(a, "\u2518", "+")};
    for (int r = 0; r < h; r++) {
        ui_term_fill(y + r, x, w);
        if (r == 0 || r == h - 1) {
            mvaddstr(y + r, x, c[r == 0 ? 0 : 2]);
            for (int i = 1; i < w - 1; i++)
                mvaddstr(y + r, x + i, hz);
            mvaddstr(y + r, x + w - 1, c[r == 0 ? 1 : 3]);
        } else {
            mvaddstr(y + r, x, vt);
            mvaddstr(y + r, x + w - 1, vt);
        }
    }
    if (title && *title && w > 6) {
        char t[256];
        snprintf(t, sizeof t, " %s ", title);
        int tw = ui_table_text_width(t);
        ui_term_text(y, x + 2, tw < w - 4 ? tw : w - 4, t);
    }
}

/* Keep the cursor row visible in a list of n rows shown height at a time. */
void ui_term_clip_rows(int *top, int cursor, int n, int height)
{
    if (height < 1)
        height = 1;
    if (cursor < *top)
        *top = cursor;
    if (cursor >= *top + height)
        *top = cursor - height + 1;
    if (*top > n - height)
        *top = n - height;
    if (*top < 0)
        *top = 0;
}

/* ------------------------------------------------------------------------------------------------ restore */

static struct termios ui_term_saved_tio;
static int ui_term_have_tio;
static char ui_term_restore_seq[512];
static size_t ui_term_restore_len;
static atomic_int ui_term_curses_on;
static atomic_int ui_term_signals;
static pthread_t ui_term_thread;

static void ui_term_add_cap(const char *name)
{
    char *s = tigetstr(name);
    if (!s || s == (char *)-1)
        return;
    size_t n = strlen(s);
    if (ui_term_restore_len + n < sizeof ui_term_restore_seq) {
        memcpy(ui_term_restore_seq + ui_term_restore_len, s, n);
        ui_term_restore_len += n;
    }
}

void ui_term_capture_restore(void)
{
    ui_term_have_tio = tcgetattr(STDIN_FILENO, &ui_term_saved_tio) == 0;
    ui_term_restore_len = 0;
    ui_term_add_cap("sgr0");
    ui_term_add_cap("cnorm");
    ui_term_add_cap("rmkx");
    ui_term_add_cap("rmcup");
}

/* Async-signal-safe: terminal modes back, attributes off, cursor on, leave the alternate screen. */
void ui_term_emergency_restore(void)
{
    if (!atomic_exchange(&ui_term_curses_on, 0))
        return;
    if (ui_term_have_tio)
        tcsetattr(STDIN_FILENO, TCSANOW, &ui_term_saved_tio);
    if (ui_term_restore_len) {
        ssize_t w = write(STDOUT_FILENO, ui_term_restore_seq, ui_term_restore_len);
        (void)w;
    }
}

/* An engine assertion failed (on any thread): restore, then the engine prints and aborts. */
static void ui_term_assert_hook(const char *expr, const char *file, int line)
{
    (void)expr;
    (void)file;
    (void)line;
    if (pthread_equal(pthread_self(), ui_term_thread) && atomic_exchange(&ui_term_curses_on, 0))
        endwin();
    else
        ui_term_emergency_restore();
}

/* SIGINT, SIGTERM, SIGHUP: the first is counted for the main loop (stop the run cleanly); the second quits. */
static void ui_term_on_stop(int sig)
{
    (void)sig;
    if (atomic_fetch_add(&ui_term_signals, 1) >= 1) {
        ui_term_emergency_restore();
        static const char msg[] = "pdiff: interrupted again: quitting without saving\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
}

static void ui_term_on_crash(int sig)
{
    ui_term_emergency_restore();
    signal(sig, SIG_DFL);
    raise(sig);
}

void ui_term_protect(void)
{
    ui_term_thread = pthread_self();
    atomic_store(&ui_term_curses_on, 1);
    error_set_assert_hook(ui_term_assert_hook);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = ui_term_on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = ui_term_on_crash;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    static const int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof crash / sizeof crash[0]; i++)
        sigaction(crash[i], &sa, NULL);
}

void ui_term_unprotect(void)
{
    atomic_store(&ui_term_curses_on, 0);
    error_set_assert_hook(NULL);
}

int ui_term_signal_count(void)
{
    return atomic_load(&ui_term_signals);
}
