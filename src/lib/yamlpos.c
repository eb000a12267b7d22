/* SPDX-License-Identifier: MIT */
/*
 * Positions and messages for the libyaml scans in front of the libcyaml
 * schemas: see yamlpos.h.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "yamlpos.h"

/* ---- messages ----------------------------------------------------------------- */

int yamlpos_fail_at(struct yamlpos_ctx *p, size_t line, size_t column, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        free(p->error);
        if (asprintf(&p->error, "%s:%zu:%zu: %s", p->path, line, column, msg) < 0) {
                p->error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

void yamlpos_show_text(char out[static YAMLPOS_SHOWN_SIZE], const void *text, size_t len) {
        const unsigned char *s = text;
        size_t n = len > YAMLPOS_SHOWN_INPUT ? YAMLPOS_SHOWN_INPUT : len, o = 0;

        /* Do not cut a UTF-8 sequence in half. */
        while (n < len && n > 0 && (s[n] & 0xc0) == 0x80)
                n--;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = s[i];
                if (c < 0x20 || c == 0x7f)
                        o += (size_t) snprintf(out + o, YAMLPOS_SHOWN_SIZE - o, "\\x%02x", c);
                else if (c == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
                        o += (size_t) snprintf(out + o, YAMLPOS_SHOWN_SIZE - o, "\\u%04x", s[++i]);
                else
                        out[o++] = (char) c;
        }
        if (n < len)
                o += (size_t) snprintf(out + o, YAMLPOS_SHOWN_SIZE - o, "...");
        out[o] = '\0';
}

/* ---- positions ---------------------------------------------------------------- */

/* Does a line break (as libyaml counts them) end at buf[i]?  CR LF counts
 * once, at the LF; NEL (U+0085), LS and PS (U+2028, U+2029) count too. */
static bool break_ends_at(const unsigned char *b, size_t len, size_t i) {
        if (b[i] == '\n')
                return true;
        if (b[i] == '\r')
                return i + 1 >= len || b[i + 1] != '\n';
        if (b[i] == 0x85)
                return i >= 1 && b[i - 1] == 0xc2;
        if (b[i] == 0xa8 || b[i] == 0xa9)
                return i >= 2 && b[i - 2] == 0xe2 && b[i - 1] == 0x80;
        return false;
}

/* libyaml's reader errors carry only the offset.  Everything before it
 * decoded as UTF-8, so counting non-continuation bytes counts characters. */
void yamlpos_offset_position(const char *buf, size_t len, size_t offset, size_t *ret_line, size_t *ret_col) {
        const unsigned char *b = (const unsigned char *) buf;
        size_t line = 1, col = 1;

        for (size_t i = 0; i < offset && i < len; i++) {
                if (break_ends_at(b, len, i)) {
                        line++;
                        col = 1;
                } else if ((b[i] & 0xc0) != 0x80 && b[i] != '\r')
                        col++;
        }
        *ret_line = line;
        *ret_col = col;
}

void yamlpos_mark_position(const struct yamlpos_scanner *sc, const yaml_mark_t *m, size_t *ret_line,
                           size_t *ret_col) {
        size_t line = m->line + 1, col = m->column + 1;

        if (line > sc->end_line) {
                line = sc->end_line;
                col = sc->end_col;
        }
        *ret_line = line;
        *ret_col = col;
}

int yamlpos_fail_at_event(struct yamlpos_scanner *sc, const yaml_event_t *ev, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        size_t line, col;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        yamlpos_mark_position(sc, &ev->start_mark, &line, &col);
        return yamlpos_fail_at(sc->p, line, col, "%s", msg);
}

/* ---- the parser --------------------------------------------------------------- */

int yamlpos_scanner_init(struct yamlpos_scanner *sc, struct yamlpos_ctx *p, const char *buf, size_t len) {
        /* With the encoding forced, libyaml would read a UTF-8 byte order
         * mark as text; editors do not show it, so columns start after it. */
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
                buf += 3;
                len -= 3;
        }
        *sc = (struct yamlpos_scanner) { .p = p, .buf = buf, .len = len };
        if (!yaml_parser_initialize(&sc->yp))
                return -ENOMEM;
        yaml_parser_set_input_string(&sc->yp, (const unsigned char *) buf, len);
        yaml_parser_set_encoding(&sc->yp, YAML_UTF8_ENCODING);
        yamlpos_offset_position(buf, len, len, &sc->end_line, &sc->end_col);
        return 0;
}

void yamlpos_scanner_done(struct yamlpos_scanner *sc) {
        yaml_parser_delete(&sc->yp);
}

static int syntax_error(struct yamlpos_scanner *sc) {
        const yaml_parser_t *yp = &sc->yp;
        const char *problem = yp->problem ? yp->problem : "syntax error";
        size_t line, col;

        if (yp->error == YAML_MEMORY_ERROR)
                return -ENOMEM;
        if (yp->error == YAML_READER_ERROR) {
                yamlpos_offset_position(sc->buf, sc->len, yp->problem_offset, &line, &col);
                if (yp->problem_value >= 0)
                        return yamlpos_fail_at(sc->p, line, col,
                                               "%s (byte 0x%02x): the file must be UTF-8 text", problem,
                                               (unsigned) yp->problem_value);
                return yamlpos_fail_at(sc->p, line, col, "%s", problem);
        }
        yamlpos_mark_position(sc, &yp->problem_mark, &line, &col);
        if (yp->context)
                return yamlpos_fail_at(sc->p, line, col, "%s (%s)", problem, yp->context);
        return yamlpos_fail_at(sc->p, line, col, "%s", problem);
}

int yamlpos_next_event(struct yamlpos_scanner *sc, yaml_event_t *ev) {
        if (!yaml_parser_parse(&sc->yp, ev)) {
                memset(ev, 0, sizeof(*ev));
                return syntax_error(sc);
        }
        return 0;
}

void yamlpos_event_deletep(yaml_event_t *e) {
        yaml_event_delete(e);
}

int yamlpos_scan_stream(struct yamlpos_scanner *sc, yamlpos_root_fn root, void *userdata,
                        bool *ret_no_document) {
        int r;

        for (int i = 0;; i++) {
                _cleanup_yaml_event_ yaml_event_t ev = {};
                r = yamlpos_next_event(sc, &ev);
                if (r < 0)
                        return r;
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        if (ret_no_document)
                                *ret_no_document = i == 1;
                        return 0;
                case YAML_DOCUMENT_START_EVENT: {
                        _cleanup_yaml_event_ yaml_event_t first = {};

                        if (i > 1)
                                return yamlpos_fail_at_event(sc, &ev, "only one YAML document is allowed");
                        r = yamlpos_next_event(sc, &first);
                        if (r < 0)
                                return r;
                        r = root(sc, &first, userdata);
                        if (r < 0)
                                return r;
                        break;
                }
                default:
                        break;   /* STREAM-START, DOCUMENT-END */
                }
        }
}

/* ---- scalars and keys ----------------------------------------------------------- */

const char *yamlpos_node_kind(yaml_event_type_t t) {
        switch (t) {
        case YAML_SEQUENCE_START_EVENT:
                return "a list";
        case YAML_MAPPING_START_EVENT:
                return "a mapping";
        case YAML_ALIAS_EVENT:
                return "an alias";
        default:
                return "a single value";
        }
}

bool yamlpos_scalar_is(const yaml_event_t *ev, const char *s) {
        return ev->data.scalar.length == strlen(s) &&
               memcmp(ev->data.scalar.value, s, ev->data.scalar.length) == 0;
}

bool yamlpos_scalar_is_plain(const yaml_event_t *ev) {
        return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool scalar_is_one_of(const yaml_event_t *ev, const char *const *words, size_t n) {
        if (!yamlpos_scalar_is_plain(ev))
                return false;
        for (size_t i = 0; i < n; i++)
                if (yamlpos_scalar_is(ev, words[i]))
                        return true;
        return false;
}

bool yamlpos_scalar_is_null(const yaml_event_t *ev) {
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

        return scalar_is_one_of(ev, nulls, ELEMENTSOF(nulls));
}

bool yamlpos_scalar_is_bool(const yaml_event_t *ev) {
        static const char *const words[] = {
                "true", "True", "TRUE", "false", "False", "FALSE",
                "yes", "Yes", "YES", "no", "No", "NO",
        };

        return scalar_is_one_of(ev, words, ELEMENTSOF(words));
}

int yamlpos_scan_scalar(struct yamlpos_scanner *sc, const yaml_event_t *ev, const char *key,
                        struct yamlpos_value *v) {
        yamlpos_mark_position(sc, &ev->start_mark, &v->line, &v->column);
        if (ev->type == YAML_ALIAS_EVENT)
                return yamlpos_fail_at(sc->p, v->line, v->column, "%s: aliases are not supported", key);
        if (ev->type != YAML_SCALAR_EVENT)
                return yamlpos_fail_at(sc->p, v->line, v->column, "%s: expected a single value, not %s", key,
                                       yamlpos_node_kind(ev->type));
        if (ev->data.scalar.tag)
                return yamlpos_fail_at(sc->p, v->line, v->column, "%s: tags are not supported", key);
        yamlpos_show_text(v->shown, ev->data.scalar.value, ev->data.scalar.length);
        if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
                return yamlpos_fail_at(sc->p, v->line, v->column, "%s: the value contains a NUL byte", key);
        v->null = yamlpos_scalar_is_null(ev);
        v->present = true;
        return 0;
}

int yamlpos_check_key(struct yamlpos_scanner *sc, const yaml_event_t *ev, char shown[static YAMLPOS_SHOWN_SIZE]) {
        if (ev->type != YAML_SCALAR_EVENT)
                return yamlpos_fail_at_event(sc, ev, "%s",
                                             ev->type == YAML_ALIAS_EVENT ? "aliases are not supported"
                                                                          : "keys must be strings");
        yamlpos_show_text(shown, ev->data.scalar.value, ev->data.scalar.length);
        if (ev->data.scalar.tag)
                return yamlpos_fail_at_event(sc, ev, "tags are not supported");
        return 0;
}

int yamlpos_find_field(const cyaml_schema_field_t *fields, const yaml_event_t *ev) {
        for (int i = 0; fields[i].key; i++)
                if (yamlpos_scalar_is(ev, fields[i].key))
                        return i;
        return -ENOENT;
}

void yamlpos_enum_choices(const cyaml_schema_field_t *field, char *out, size_t size) {
        const cyaml_strval_t *v = field->value.enumeration.strings;
        uint32_t n = field->value.enumeration.count;
        size_t o = 0;

        out[0] = '\0';
        for (uint32_t i = 0; i < n && o < size; i++)
                o += (size_t) snprintf(out + o, size - o, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                                       v[i].str);
}

/* ---- libcyaml's log ------------------------------------------------------------- */

void yamlpos_cyaml_capture_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args) {
        struct yamlpos_cyaml_capture *c = ctx;
        static const char field_intro[] = "  in mapping field '";
        char line[256];
        size_t n;

        if (level < CYAML_LOG_ERROR)
                return;
        vsnprintf(line, sizeof(line), fmt, args);
        line[strcspn(line, "\n")] = '\0';

        if (strncmp(line, field_intro, strlen(field_intro)) == 0) {
                const char *name = line + strlen(field_intro);
                n = strcspn(name, "'");
                if (!c->field[0] && n < sizeof(c->field)) {
                        memcpy(c->field, name, n);
                        c->field[n] = '\0';
                }
        } else if (!c->message[0] && !strstr(line, "Backtrace:"))
                snprintf(c->message, sizeof(c->message), "%s",
                         strncmp(line, "Load: ", 6) == 0 ? line + 6 : line);
}

void *yamlpos_cyaml_mem(void *ctx, void *ptr, size_t size) {
        size_t have;

        if (size == 0) {
                free(ptr);
                return NULL;
        }
        if (!ptr)
                return malloc(size);
        have = malloc_usable_size(ptr);
        if (have >= size)
                return ptr;       /* libcyaml zeroes what it adds itself */
        return realloc(ptr, size > SIZE_MAX / 2 || size >= 2 * have ? size : 2 * have);
}

/* ---- files ---------------------------------------------------------------------- */

int yamlpos_read_fd(int fd, size_t max, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = malloc(max + 1);
        size_t len = 0;

        if (!buf)
                return -ENOMEM;
        while (len <= max) {
                ssize_t k = read(fd, buf + len, max + 1 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        if (len > max)
                return -EFBIG;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}
