/* prompt.c — the one-line editor (Setup values, list filters, the save path), y/n questions and the quit
 * confirmation (see prompt.h). What Enter, each edit and Esc do comes from the opener (ui_prompt_fns): a filter applies as
 * it is typed and Esc clears it; a Setup edit is committed by Enter and stays open when the value is refused. */
#include "prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "term.h"

#define UI_KEY_CTRL(c) ((c)&0x1f)

void ui_prompt_open(ui_app *a, int kind, const char *initial, ui_prompt_fns fns)
{
    a->prompt = kind;
    a->prompt_fns = fns;
    ui_app_copy(a->line, sizeof a->line, initial ? initial : "");
    a->line_len = (int)strlen(a->line);
    a->line_pos = a->line_len;
    a->cur_y = a->cur_x = -1;
    curs_set(1);
}

static void ui_prompt_close(ui_app *a)
{
    a->prompt = UI_PROMPT_NONE;
    curs_set(0);
}

static int ui_prompt_is_cont(char c)
{
    return ((unsigned char)c & 0xc0) == 0x80;
}

/* Delete the bytes [from, to) of the line. */
static void ui_prompt_cut(ui_app *a, int from, int to)
{
    memmove(a->line + from, a->line + to, (size_t)(a->line_len - to + 1));
    a->line_len -= to - from;
    if (a->line_pos > from)
        a->line_pos = a->line_pos >= to ? a->line_pos - (to - from) : from;
}

/* An editing key; 1 when the text changed. */
static int ui_prompt_edit(ui_app *a, int key)
{
    int p = a->line_pos;
    switch (key) {
    case KEY_BACKSPACE:
    case 127:
    case 8:
        if (p == 0)
            return 0;
        while (--p > 0 && ui_prompt_is_cont(a->line[p]))
            ;
        ui_prompt_cut(a, p, a->line_pos);
        return 1;
    case KEY_DC:
        if (p >= a->line_len)
            return 0;
        while (++p < a->line_len && ui_prompt_is_cont(a->line[p]))
            ;
        ui_prompt_cut(a, a->line_pos, p);
        return 1;
    case KEY_LEFT:
        while (a->line_pos > 0 && ui_prompt_is_cont(a->line[--a->line_pos]))
            ;
        return 0;
    case KEY_RIGHT:
        while (a->line_pos < a->line_len && ui_prompt_is_cont(a->line[++a->line_pos]))
            ;
        return 0;
    case KEY_HOME:
    case UI_KEY_CTRL('a'):
        a->line_pos = 0;
        return 0;
    case KEY_END:
    case UI_KEY_CTRL('e'):
        a->line_pos = a->line_len;
        return 0;
    case UI_KEY_CTRL('u'):
        a->line[0] = '\0';
        a->line_len = a->line_pos = 0;
        return 1;
    default:
        if (key < 32 || key >= 256 || key == 127 || a->line_len >= (int)sizeof a->line - 1)
            return 0;
        memmove(a->line + p + 1, a->line + p, (size_t)(a->line_len - p + 1));
        a->line[a->line_pos++] = (char)key;
        a->line_len++;
        return 1;
    }
}

/* A y/n question: y (or Enter) submits "y", n (or Esc) cancels; other keys do nothing. */
static void ui_prompt_confirm_key(ui_app *a, int key)
{
    ui_prompt_fns fns = a->prompt_fns;
    int yes = key == 'y' || key == 'Y' || key == '\n' || key == '\r' || key == KEY_ENTER;
    if (!yes && key != 'n' && key != 'N' && key != 27)
        return;
    ui_prompt_close(a);
    if (yes && fns.submit)
        fns.submit(a, "y");
    else if (!yes && fns.cancel)
        fns.cancel(a);
}

void ui_prompt_key(ui_app *a, int key)
{
    ui_prompt_fns fns = a->prompt_fns;
    if (a->prompt == UI_PROMPT_CONFIRM) {
        ui_prompt_confirm_key(a, key);
        return;
    }
    if (key == 27) {
        ui_prompt_close(a);
        if (fns.cancel)
            fns.cancel(a);
        return;
    }
    if (key == '\n' || key == '\r' || key == KEY_ENTER) {
        /* close first: the callback may open another prompt */
        int kind = a->prompt;
        ui_prompt_close(a);
        if (fns.submit && fns.submit(a, a->line) != 0 && a->prompt == UI_PROMPT_NONE) {
            a->prompt = kind; /* refused: keep editing */
            curs_set(1);
        }
        return;
    }
    if (ui_prompt_edit(a, key) && fns.change)
        fns.change(a, a->line);
}

const char *ui_prompt_hints(const ui_app *a)
{
    switch (a->prompt) {
    case UI_PROMPT_EDIT:
        return "editing: Enter:accept Esc:cancel";
    case UI_PROMPT_FILTER:
        return "filter: Enter:keep Esc:clear";
    case UI_PROMPT_SAVE:
        return "Enter:save Esc:cancel";
    case UI_PROMPT_CONFIRM:
        return "y:yes n:no";
    default:
        return NULL;
    }
}

const char *ui_prompt_visible(const ui_app *a, int room, int *cursor_x)
{
    char before[sizeof a->line];
    snprintf(before, sizeof before, "%.*s", a->line_pos, a->line);
    int bw = ui_table_text_width(before);
    const char *shown = a->line;
    while (bw > room && *shown) {
        shown++;
        while (ui_prompt_is_cont(*shown))
            shown++;
        bw--;
    }
    *cursor_x = bw;
    return shown;
}

void ui_prompt_draw(ui_app *a)
{
    if (a->prompt != UI_PROMPT_FILTER && a->prompt != UI_PROMPT_SAVE)
        return;
    const char *label = a->prompt == UI_PROMPT_FILTER ? "filter: " : "save settings to: ";
    int y = a->rows - 2, lw = (int)strlen(label);
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_text(y, 0, lw, label);
    attrset(A_NORMAL);
    /* show the tail when the text is wider than the line */
    int bw;
    const char *shown = ui_prompt_visible(a, a->cols - lw - 1, &bw);
    ui_term_text(y, lw, a->cols - lw, shown);
    a->cur_y = y;
    a->cur_x = lw + bw;
}

void ui_prompt_draw_confirm(ui_app *a)
{
    int w = a->cols - 4 < 64 ? a->cols - 4 : 64, h = 6;
    int y = (a->rows - h) / 2, x = (a->cols - w) / 2;
    attrset(ui_term_role(a, UI_C_WARN));
    ui_term_box(a, y, x, h, w, "quit");
    attrset(A_NORMAL);
    ui_term_text(y + 2, x + 2, w - 4, "A run is active. Stop it (its state is saved) and quit?");
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_text(y + 3, x + 2, w - 4, "y: stop and quit    n / Esc: keep running");
    attrset(A_NORMAL);
}
