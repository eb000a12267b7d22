/* SPDX-License-Identifier: MIT */
/* Streaming JSON writer: see jsonw.h for why it exists next to jansson. */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "jsonw.h"

void jsonw_init(struct jsonw *w, FILE *out) {
        *w = (struct jsonw) { .out = out };
}

static void flush_buf(struct jsonw *w) {
        if (w->len > 0 && fwrite(w->buf, 1, w->len, w->out) != w->len)
                w->failed = true;
        w->len = 0;
}

static void put_slow(struct jsonw *w, const char *s, size_t n) {
        flush_buf(w);
        if (n > sizeof(w->buf)) {
                if (fwrite(s, 1, n, w->out) != n)
                        w->failed = true;
                return;
        }
        memcpy(w->buf, s, n);
        w->len = n;
}

static inline void put(struct jsonw *w, const char *s, size_t n) {
        if (__builtin_expect(w->len + n > sizeof(w->buf), 0)) {
                put_slow(w, s, n);
                return;
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
}

static void put_char(struct jsonw *w, char c) {
        put(w, &c, 1);
}

static void put_str(struct jsonw *w, const char *s) {
        put(w, s, strlen(s));
}

static void newline_indent(struct jsonw *w) {
        static const char spaces[] = "\n                                ";
        size_t n = 2 * (size_t) w->depth;

        if (n + 1 > sizeof(spaces) - 1)
                n = sizeof(spaces) - 2;
        put(w, spaces, n + 1);
}

/* Separator before a value or key: nothing after a key, else a newline and
 * the indent (with a comma unless it is the first member). */
static void begin_item(struct jsonw *w) {
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->depth == 0)
                return;
        if (!w->empty[w->depth])
                put_char(w, ',');
        w->empty[w->depth] = false;
        newline_indent(w);
}

void jsonw_open(struct jsonw *w, char bracket) {
        begin_item(w);
        put_char(w, bracket);
        if (w->depth + 1 >= JSONW_MAX_DEPTH) {
                w->failed = true;
                return;
        }
        w->empty[++w->depth] = true;
}

void jsonw_close(struct jsonw *w, char bracket) {
        if (w->depth == 0 || w->after_key) {
                w->failed = true;
                return;
        }
        bool was_empty = w->empty[w->depth--];
        if (!was_empty)
                newline_indent(w);
        put_char(w, bracket);
}

void jsonw_key(struct jsonw *w, const char *key) {
        begin_item(w);
        put_char(w, '"');
        put_str(w, key);
        put(w, "\": ", 3);
        w->after_key = true;
}

static void put_escaped(struct jsonw *w, unsigned char c) {
        char seq[8];

        switch (c) {
        case '"':  put(w, "\\\"", 2); break;
        case '\\': put(w, "\\\\", 2); break;
        case '\b': put(w, "\\b", 2); break;
        case '\f': put(w, "\\f", 2); break;
        case '\n': put(w, "\\n", 2); break;
        case '\r': put(w, "\\r", 2); break;
        case '\t': put(w, "\\t", 2); break;
        default:
                snprintf(seq, sizeof(seq), "\\u%04X", c);
                put(w, seq, 6);
        }
}

/* Valid UTF-8 in, JSON string out: runs of plain bytes in one write. */
static void put_json_string(struct jsonw *w, const char *s, size_t len) {
        size_t run = 0;

        put_char(w, '"');
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                put(w, s + run, i - run);
                put_escaped(w, c);
                run = i + 1;
        }
        put(w, s + run, len - run);
        put_char(w, '"');
}

void jsonw_string(struct jsonw *w, const char *s) {
        if (!s) {
                jsonw_null(w);
                return;
        }
        begin_item(w);
        if (format_is_utf8(s)) {
                put_json_string(w, s, strlen(s));
                return;
        }
        /* Paths and names are bytes; JSON strings must be UTF-8. */
        char *esc = format_escape(s);
        if (!esc) {
                w->failed = true;
                put_json_string(w, "?", 1);
                return;
        }
        put_json_string(w, esc, strlen(esc));
        free(esc);
}

/* Decimal digits by hand: snprintf() was a tenth of list --json's time. */
void jsonw_int(struct jsonw *w, int64_t v) {
        char buf[24];
        char *p = buf + sizeof(buf);
        /* Negate as unsigned: -INT64_MIN does not fit in an int64_t. */
        uint64_t u = v < 0 ? -(uint64_t) v : (uint64_t) v;

        begin_item(w);
        do
                *--p = (char) ('0' + u % 10);
        while ((u /= 10) != 0);
        if (v < 0)
                *--p = '-';
        put(w, p, (size_t) (buf + sizeof(buf) - p));
}

void jsonw_bool(struct jsonw *w, bool v) {
        begin_item(w);
        put_str(w, v ? "true" : "false");
}

void jsonw_null(struct jsonw *w) {
        begin_item(w);
        put(w, "null", 4);
}

int jsonw_finish(struct jsonw *w) {
        if (w->depth != 0 || w->after_key)
                w->failed = true;
        put_char(w, '\n');
        flush_buf(w);
        if (fflush(w->out) != 0 || ferror(w->out))
                w->failed = true;
        return w->failed ? -1 : 0;
}
