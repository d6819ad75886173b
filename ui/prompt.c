/* prompt.c — the one-line editor (Setup values, list filters, the save path) and the quit confirmation
 * (see app.h). A filter applies as it is typed; Esc clears it. An edit is committed by Enter through
 * config_set() and stays open with the message shown inline when the value is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "table.h"

#define UI_KEY_CTRL(c) ((c)&0x1f)

char *ui_prompt_filter(ui_app *a)
{
    switch (a->screen) {
    case UI_SETUP:
        return a->setup.filter;
    case UI_RESULTS:
        return a->res_filter;
    case UI_SESSIONS:
        return a->sess_filter;
    default:
        return NULL;
    }
}

static void ui_prompt_filter_changed(ui_app *a)
{
    char *f = ui_prompt_filter(a);
    if (!f)
        return;
    ui_app_copy(f, 64, a->line);
    if (a->screen == UI_SETUP)
        ui_setup_refresh(a);
    else if (a->screen == UI_RESULTS)
        ui_results_sort(a);
    else if (a->screen == UI_SESSIONS) {
        a->sess_cursor = 0;
        a->sess_top = 0;
    }
}

void ui_prompt_open(ui_app *a, int kind, const char *initial)
{
    a->prompt = kind;
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

void ui_prompt_key(ui_app *a, int key)
{
    int changed = 0;
    switch (key) {
    case 27:
        if (a->prompt == UI_PROMPT_EDIT)
            a->setup.err[0] = '\0';
        if (a->prompt == UI_PROMPT_FILTER) {
            a->line[0] = '\0';
            a->line_len = a->line_pos = 0;
            ui_prompt_filter_changed(a);
        }
        ui_prompt_close(a);
        return;
    case '\n':
    case '\r':
    case KEY_ENTER:
        if (a->prompt == UI_PROMPT_EDIT) {
            if (ui_setup_commit(a, a->line) == 0)
                ui_prompt_close(a);
        } else if (a->prompt == UI_PROMPT_SAVE) {
            ui_prompt_close(a);
            if (a->line[0])
                ui_actions_save_to(a, a->line);
        } else
            ui_prompt_close(a);
        return;
    case KEY_BACKSPACE:
    case 127:
    case 8:
        if (a->line_pos > 0) {
            int start = a->line_pos - 1;
            while (start > 0 && ((unsigned char)a->line[start] & 0xc0) == 0x80)
                start--;
            memmove(a->line + start, a->line + a->line_pos, (size_t)(a->line_len - a->line_pos + 1));
            a->line_len -= a->line_pos - start;
            a->line_pos = start;
            changed = 1;
        }
        break;
    case KEY_DC:
        if (a->line_pos < a->line_len) {
            int end = a->line_pos + 1;
            while (end < a->line_len && ((unsigned char)a->line[end] & 0xc0) == 0x80)
                end++;
            memmove(a->line + a->line_pos, a->line + end, (size_t)(a->line_len - end + 1));
            a->line_len -= end - a->line_pos;
            changed = 1;
        }
        break;
    case KEY_LEFT:
        while (a->line_pos > 0 && ((unsigned char)a->line[--a->line_pos] & 0xc0) == 0x80)
            ;
        break;
    case KEY_RIGHT:
        while (a->line_pos < a->line_len && ((unsigned char)a->line[++a->line_pos] & 0xc0) == 0x80)
            ;
        break;
    case KEY_HOME:
    case UI_KEY_CTRL('a'):
        a->line_pos = 0;
        break;
    case KEY_END:
    case UI_KEY_CTRL('e'):
        a->line_pos = a->line_len;
        break;
    case UI_KEY_CTRL('u'):
        a->line[0] = '\0';
        a->line_len = a->line_pos = 0;
        changed = 1;
        break;
    default:
        if (key >= 32 && key < 256 && key != 127 && a->line_len < (int)sizeof a->line - 1) {
            memmove(a->line + a->line_pos + 1, a->line + a->line_pos, (size_t)(a->line_len - a->line_pos + 1));
            a->line[a->line_pos++] = (char)key;
            a->line_len++;
            changed = 1;
        }
        break;
    }
    if (changed && a->prompt == UI_PROMPT_FILTER)
        ui_prompt_filter_changed(a);
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
    int room = a->cols - lw - 1;
    char before[512];
    snprintf(before, sizeof before, "%.*s", a->line_pos, a->line);
    int bw = ui_table_text_width(before);
    const char *shown = a->line;
    while (bw > room && *shown) {
        shown++;
        while (((unsigned char)*shown & 0xc0) == 0x80)
            shown++;
        bw--;
    }
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
