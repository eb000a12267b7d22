/* SPDX-License-Identifier: MIT */
/*
 * config.yaml: defaults for new directories.
 *
 * Two passes over the same bytes:
 *
 *  1. A libyaml event scan ("scan_*") checks the shape of the document and
 *     records where each key's value sits.  It exists because libcyaml
 *     1.3.1 is lax or vague exactly where a config file needs precision:
 *     any boolean that is not a known "false" word loads as true ("maybe"
 *     is true), integers are read with trailing garbage ("9x" is 9), an
 *     unknown key is reported at the enclosing mapping and a duplicate key
 *     at the first occurrence, and a multi-document file silently loses
 *     its later documents.  The scan rejects all of those at the right
 *     line and column, and also aliases, tags and NUL bytes.
 *  2. libcyaml loads the (now well-formed) document with the schema below;
 *     the schema is also the scan's list of keys and their types.  Its
 *     strict enums are the one check left to it: the failing field is taken
 *     from its backtrace and located with the scan's record.
 *
 * Strings (lifetime, max_size, parent, prefix) are then validated in
 * document order.  Nothing here prints: libcyaml's log goes to a capture
 * buffer, and every message comes back in *ret_error / *ret_warnings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cyaml/cyaml.h>
#include <yaml.h>

#include "config.h"
#include "names.h"
#include "util.h"

/* ---- schema ----------------------------------------------------------------- */

/* What libcyaml loads.  Presence is known from the scan, not from here. */
struct yaml_config {
        char *lifetime;
        bool remove_on_restart;
        bool keep_while_in_use;
        int cleanup;
        char *max_size;
        int name_style;
        char *parent;
        char *prefix;
        int words;
};

/* Index into config_fields[]: keep both in the same order. */
enum key_id {
        KEY_LIFETIME,
        KEY_REMOVE_ON_RESTART,
        KEY_KEEP_WHILE_IN_USE,
        KEY_CLEANUP,
        KEY_MAX_SIZE,
        KEY_NAME_STYLE,
        KEY_PARENT,
        KEY_PREFIX,
        KEY_WORDS,
        _KEY_MAX,
};

#define KNOWN_KEYS "lifetime, remove_on_restart, keep_while_in_use, cleanup, max_size, " \
                   "name_style, parent, prefix, words"

static const cyaml_strval_t cleanup_strings[] = {
        { "auto", EPHEMDIR_CLEANUP_AUTO },
        { "next-sweep", EPHEMDIR_CLEANUP_NEXT_SWEEP },
};

static const cyaml_strval_t name_style_strings[] = {
        { "auto", EPHEMDIR_NAME_AUTO },
        { "secure", EPHEMDIR_NAME_SECURE },
        { "clean", EPHEMDIR_NAME_CLEAN },
};

#define OPT CYAML_FLAG_OPTIONAL
static const cyaml_schema_field_t config_fields[] = {
        [KEY_LIFETIME] = CYAML_FIELD_STRING_PTR("lifetime", OPT, struct yaml_config, lifetime,
                                                0, CYAML_UNLIMITED),
        [KEY_REMOVE_ON_RESTART] = CYAML_FIELD_BOOL("remove_on_restart", OPT, struct yaml_config,
                                                   remove_on_restart),
        [KEY_KEEP_WHILE_IN_USE] = CYAML_FIELD_BOOL("keep_while_in_use", OPT, struct yaml_config,
                                                   keep_while_in_use),
        [KEY_CLEANUP] = CYAML_FIELD_ENUM("cleanup", OPT | CYAML_FLAG_STRICT, struct yaml_config, cleanup,
                                         cleanup_strings, CYAML_ARRAY_LEN(cleanup_strings)),
        [KEY_MAX_SIZE] = CYAML_FIELD_STRING_PTR("max_size", OPT, struct yaml_config, max_size,
                                                0, CYAML_UNLIMITED),
        [KEY_NAME_STYLE] = CYAML_FIELD_ENUM("name_style", OPT | CYAML_FLAG_STRICT, struct yaml_config,
                                            name_style, name_style_strings,
                                            CYAML_ARRAY_LEN(name_style_strings)),
        [KEY_PARENT] = CYAML_FIELD_STRING_PTR("parent", OPT, struct yaml_config, parent,
                                              0, CYAML_UNLIMITED),
        [KEY_PREFIX] = CYAML_FIELD_STRING_PTR("prefix", OPT, struct yaml_config, prefix,
                                              0, CYAML_UNLIMITED),
        [KEY_WORDS] = CYAML_FIELD_INT("words", OPT, struct yaml_config, words),
        [_KEY_MAX] = CYAML_FIELD_END,
};
#undef OPT

static const cyaml_schema_value_t config_schema = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct yaml_config, config_fields),
};

static const char *key_name(enum key_id k) {
        return config_fields[k].key;
}

static enum cyaml_type key_type(enum key_id k) {
        return config_fields[k].value.type;
}

/* ---- errors ------------------------------------------------------------------ */

struct parse_ctx {
        const char *path;       /* message prefix */
        char *error;            /* first error, "<path>:L:C: ..." */
};

/* Record an error at a 1-based position; returns -EINVAL (-ENOMEM if the
 * message could not be built). */
_printf_(4, 5)
static int fail_at(struct parse_ctx *p, size_t line, size_t column, const char *fmt, ...) {
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

/* Scalar text for a message: at most SHOWN_INPUT input bytes, control
 * characters (C0, DEL, and C1 as UTF-8) escaped so a message cannot drive
 * the terminal it is printed on. */
#define SHOWN_INPUT 64
#define SHOWN_SIZE (SHOWN_INPUT * 6 + 4)

static void show_text(char out[static SHOWN_SIZE], const unsigned char *s, size_t len) {
        size_t n = len > SHOWN_INPUT ? SHOWN_INPUT : len, o = 0;

        /* Do not cut a UTF-8 sequence in half. */
        while (n < len && n > 0 && (s[n] & 0xc0) == 0x80)
                n--;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = s[i];
                if (c < 0x20 || c == 0x7f)
                        o += (size_t) snprintf(out + o, SHOWN_SIZE - o, "\\x%02x", c);
                else if (c == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
                        o += (size_t) snprintf(out + o, SHOWN_SIZE - o, "\\u%04x", s[++i]);
                else
                        out[o++] = (char) c;
        }
        if (n < len)
                o += (size_t) snprintf(out + o, SHOWN_SIZE - o, "...");
        out[o] = '\0';
}

/* ---- pass 1: libyaml event scan ---------------------------------------------- */

struct seen_value {
        bool present;
        bool null;                   /* plain "", "~", "null", "Null", "NULL" */
        size_t key_line;
        size_t line, column;         /* of the value, 1-based */
        char shown[SHOWN_SIZE];
};

struct scan {
        struct seen_value v[_KEY_MAX];
        enum key_id order[_KEY_MAX]; /* keys in document order */
        size_t n_order;
        bool empty;                  /* no document, or a null one */
        size_t root_line, root_column;
};

static void event_deletep(yaml_event_t *e) {
        yaml_event_delete(e);
}
#define _cleanup_event_ _cleanup_(event_deletep)

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

/* 1-based line and column (in characters) of a byte offset: libyaml's
 * reader errors carry only the offset.  Everything before it decoded as
 * UTF-8, so counting non-continuation bytes counts characters. */
static void offset_position(const char *buf, size_t len, size_t offset, size_t *ret_line, size_t *ret_col) {
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

struct scanner {
        struct parse_ctx *p;
        yaml_parser_t yp;
        const char *buf;
        size_t len;
        size_t end_line, end_col;    /* just after the last byte */
};

/* 1-based position of a libyaml mark.  At the end of a file without a
 * final newline libyaml puts marks on the line after the last one: those
 * become the end of the last line, a place an editor can show. */
static void mark_position(const struct scanner *sc, const yaml_mark_t *m, size_t *ret_line, size_t *ret_col) {
        size_t line = m->line + 1, col = m->column + 1;

        if (line > sc->end_line) {
                line = sc->end_line;
                col = sc->end_col;
        }
        *ret_line = line;
        *ret_col = col;
}

_printf_(3, 4)
static int fail_at_ev(struct scanner *sc, const yaml_event_t *ev, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        size_t line, col;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        mark_position(sc, &ev->start_mark, &line, &col);
        return fail_at(sc->p, line, col, "%s", msg);
}

static int syntax_error(struct scanner *sc) {
        const yaml_parser_t *yp = &sc->yp;
        const char *problem = yp->problem ? yp->problem : "syntax error";
        size_t line, col;

        if (yp->error == YAML_MEMORY_ERROR)
                return -ENOMEM;
        if (yp->error == YAML_READER_ERROR) {
                offset_position(sc->buf, sc->len, yp->problem_offset, &line, &col);
                if (yp->problem_value >= 0)
                        return fail_at(sc->p, line, col, "%s (byte 0x%02x): the file must be UTF-8 text",
                                       problem, (unsigned) yp->problem_value);
                return fail_at(sc->p, line, col, "%s", problem);
        }
        mark_position(sc, &yp->problem_mark, &line, &col);
        if (yp->context)
                return fail_at(sc->p, line, col, "%s (%s)", problem, yp->context);
        return fail_at(sc->p, line, col, "%s", problem);
}

static int next_event(struct scanner *sc, yaml_event_t *ev) {
        if (!yaml_parser_parse(&sc->yp, ev)) {
                memset(ev, 0, sizeof(*ev));
                return syntax_error(sc);
        }
        return 0;
}

static const char *node_kind(yaml_event_type_t t) {
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

static bool scalar_is(const yaml_event_t *ev, const char *s) {
        return ev->data.scalar.length == strlen(s) &&
               memcmp(ev->data.scalar.value, s, ev->data.scalar.length) == 0;
}

static bool scalar_is_plain(const yaml_event_t *ev) {
        return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool scalar_is_null(const yaml_event_t *ev) {
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

        if (!scalar_is_plain(ev))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(nulls); i++)
                if (scalar_is(ev, nulls[i]))
                        return true;
        return false;
}

/* YAML 1.1 booleans libcyaml reads the same way: true/yes -> true,
 * false/no -> false, in the three spellings YAML allows. */
static bool scalar_is_bool(const yaml_event_t *ev) {
        static const char *const words[] = {
                "true", "True", "TRUE", "false", "False", "FALSE",
                "yes", "Yes", "YES", "no", "No", "NO",
        };

        if (!scalar_is_plain(ev))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (scalar_is(ev, words[i]))
                        return true;
        return false;
}

static bool scalar_is_words(const yaml_event_t *ev) {
        return scalar_is_plain(ev) && ev->data.scalar.length == 1 &&
               ev->data.scalar.value[0] >= '0' + NAMES_MIN_WORDS &&
               ev->data.scalar.value[0] <= '0' + NAMES_MAX_WORDS;
}

/* Checks that depend on the field's type; the text is already shown[]. */
static int scan_check_typed(struct scanner *sc, enum key_id k, const yaml_event_t *ev,
                            const struct seen_value *v) {
        switch (key_type(k)) {
        case CYAML_BOOL:
                if (!scalar_is_bool(ev))
                        return fail_at(sc->p, v->line, v->column,
                                       "%s: expected true or false, got '%s'", key_name(k), v->shown);
                return 0;
        case CYAML_INT:
                if (!scalar_is_words(ev))
                        return fail_at(sc->p, v->line, v->column,
                                       "%s: expected an integer from %d to %d, got '%s'", key_name(k),
                                       NAMES_MIN_WORDS, NAMES_MAX_WORDS, v->shown);
                return 0;
        default:
                return 0;   /* strings: checked after loading; enums: by libcyaml */
        }
}

static int scan_value(struct scanner *sc, enum key_id k, struct seen_value *v) {
        _cleanup_event_ yaml_event_t ev = {};
        int r;

        r = next_event(sc, &ev);
        if (r < 0)
                return r;
        mark_position(sc, &ev.start_mark, &v->line, &v->column);
        if (ev.type == YAML_ALIAS_EVENT)
                return fail_at(sc->p, v->line, v->column, "%s: aliases are not supported", key_name(k));
        if (ev.type != YAML_SCALAR_EVENT)
                return fail_at(sc->p, v->line, v->column, "%s: expected a single value, not %s",
                               key_name(k), node_kind(ev.type));
        if (ev.data.scalar.tag)
                return fail_at(sc->p, v->line, v->column, "%s: tags are not supported", key_name(k));
        show_text(v->shown, ev.data.scalar.value, ev.data.scalar.length);
        if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length))
                return fail_at(sc->p, v->line, v->column, "%s: the value contains a NUL byte", key_name(k));
        v->null = scalar_is_null(&ev);
        v->present = true;
        return scan_check_typed(sc, k, &ev, v);
}

static int find_key(const yaml_event_t *ev, enum key_id *ret) {
        for (enum key_id k = 0; k < _KEY_MAX; k++)
                if (scalar_is(ev, key_name(k))) {
                        *ret = k;
                        return 0;
                }
        return -ENOENT;
}

/* The key event is in ev; scans its value too. */
static int scan_pair(struct scanner *sc, struct scan *s, const yaml_event_t *ev) {
        char shown[SHOWN_SIZE];
        enum key_id k;
        size_t col;

        if (ev->type != YAML_SCALAR_EVENT)
                return fail_at_ev(sc, ev, "%s", ev->type == YAML_ALIAS_EVENT ? "aliases are not supported"
                                                                               : "keys must be strings");
        show_text(shown, ev->data.scalar.value, ev->data.scalar.length);
        if (ev->data.scalar.tag)
                return fail_at_ev(sc, ev, "tags are not supported");
        if (find_key(ev, &k) < 0)
                return fail_at_ev(sc, ev, "unknown key '%s' (known keys: " KNOWN_KEYS ")", shown);
        if (s->v[k].present)
                return fail_at_ev(sc, ev, "duplicate key '%s' (first set on line %zu)", key_name(k),
                                  s->v[k].key_line);
        mark_position(sc, &ev->start_mark, &s->v[k].key_line, &col);
        s->order[s->n_order++] = k;
        return scan_value(sc, k, &s->v[k]);
}

static int scan_mapping(struct scanner *sc, struct scan *s) {
        for (;;) {
                _cleanup_event_ yaml_event_t ev = {};
                int r = next_event(sc, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_MAPPING_END_EVENT)
                        return 0;
                r = scan_pair(sc, s, &ev);
                if (r < 0)
                        return r;
        }
}

static int scan_root(struct scanner *sc, struct scan *s) {
        _cleanup_event_ yaml_event_t ev = {};
        int r;

        r = next_event(sc, &ev);
        if (r < 0)
                return r;
        mark_position(sc, &ev.start_mark, &s->root_line, &s->root_column);
        if (ev.type == YAML_SCALAR_EVENT && !ev.data.scalar.tag && scalar_is_null(&ev)) {
                s->empty = true;      /* "---" alone, "~": nothing set */
                return 0;
        }
        if (ev.type != YAML_MAPPING_START_EVENT)
                return fail_at(sc->p, s->root_line, s->root_column,
                               "the top level must be a mapping of keys to values, not %s",
                               ev.type == YAML_SCALAR_EVENT ? "a single value" : node_kind(ev.type));
        if (ev.data.mapping_start.tag)
                return fail_at_ev(sc, &ev, "tags are not supported");
        return scan_mapping(sc, s);
}

/* STREAM-START (DOCUMENT-START root DOCUMENT-END)? STREAM-END */
static int scan_stream(struct scanner *sc, struct scan *s) {
        int r;

        for (int i = 0;; i++) {
                _cleanup_event_ yaml_event_t ev = {};
                r = next_event(sc, &ev);
                if (r < 0)
                        return r;
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        if (i == 1)
                                s->empty = true;    /* empty file, or only comments */
                        return 0;
                case YAML_DOCUMENT_START_EVENT:
                        if (i > 1)
                                return fail_at_ev(sc, &ev, "only one YAML document is allowed");
                        r = scan_root(sc, s);
                        if (r < 0)
                                return r;
                        break;
                default:
                        break;   /* STREAM-START, DOCUMENT-END */
                }
        }
}

static int scan_buffer(struct parse_ctx *p, const char *buf, size_t len, struct scan *s) {
        struct scanner sc = { .p = p, .buf = buf, .len = len };
        int r;

        if (!yaml_parser_initialize(&sc.yp))
                return -ENOMEM;
        yaml_parser_set_input_string(&sc.yp, (const unsigned char *) buf, len);
        yaml_parser_set_encoding(&sc.yp, YAML_UTF8_ENCODING);
        offset_position(buf, len, len, &sc.end_line, &sc.end_col);
        r = scan_stream(&sc, s);
        yaml_parser_delete(&sc.yp);
        return r;
}

/* ---- pass 2: libcyaml load ---------------------------------------------------- */

struct cyaml_capture {
        char message[256];      /* first error line, without "Load: " */
        char field[64];         /* innermost "in mapping field '...'" */
};

_printf_(3, 0)
static void capture_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args) {
        struct cyaml_capture *c = ctx;
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

/* "auto, secure or clean" */
static void enum_choices(enum key_id k, char *out, size_t size) {
        const cyaml_strval_t *v = config_fields[k].value.enumeration.strings;
        uint32_t n = config_fields[k].value.enumeration.count;
        size_t o = 0;

        out[0] = '\0';
        for (uint32_t i = 0; i < n && o < size; i++)
                o += (size_t) snprintf(out + o, size - o, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                                       v[i].str);
}

static int cyaml_failure(struct parse_ctx *p, const struct scan *s, const struct cyaml_capture *c,
                         cyaml_err_t err) {
        const char *raw = c->message[0] ? c->message : cyaml_strerror(err);
        char msg[SHOWN_SIZE];

        if (err == CYAML_ERR_OOM)
                return -ENOMEM;
        /* libcyaml quotes the value raw: escape it like ours. */
        show_text(msg, (const unsigned char *) raw, strlen(raw));
        for (enum key_id k = 0; k < _KEY_MAX; k++) {
                const struct seen_value *v = &s->v[k];
                char choices[128];

                if (!v->present || !streq(c->field, key_name(k)))
                        continue;
                if (key_type(k) != CYAML_ENUM)
                        return fail_at(p, v->line, v->column, "%s: %s", key_name(k), msg);
                enum_choices(k, choices, sizeof(choices));
                return fail_at(p, v->line, v->column, "%s: expected %s, got '%s'", key_name(k), choices,
                               v->shown);
        }
        return fail_at(p, s->root_line, s->root_column, "%s", msg);
}

static int load_with_schema(struct parse_ctx *p, const char *buf, size_t len, const struct scan *s,
                            struct yaml_config **ret) {
        struct cyaml_capture capture = {};
        const cyaml_config_t cfg = {
                .log_fn = capture_log,
                .log_ctx = &capture,
                .mem_fn = cyaml_mem,
                .log_level = CYAML_LOG_ERROR,
                .flags = CYAML_CFG_NO_ALIAS,
        };
        cyaml_data_t *data = NULL;
        cyaml_err_t err;

        err = cyaml_load_data((const uint8_t *) buf, len, &cfg, &config_schema, &data, NULL);
        if (err != CYAML_OK)
                return cyaml_failure(p, s, &capture, err);
        *ret = data;
        return 0;
}

static void free_yaml_config(struct yaml_config *y) {
        const cyaml_config_t cfg = { .mem_fn = cyaml_mem, .log_level = CYAML_LOG_ERROR };

        if (y)
                cyaml_free(&cfg, &config_schema, y, 0);
}

/* ---- values ------------------------------------------------------------------- */

typedef int (*parse_fn)(const char *s, int64_t *ret);

/* Duration or size: text, or none / null for "no limit". */
static int apply_limit(struct parse_ctx *p, enum key_id k, const struct seen_value *v, const char *text,
                       parse_fn parse, int64_t none, const char *examples, int64_t *ret) {
        int64_t n;
        int r;

        if (v->null || streq(text, "none")) {
                *ret = none;
                return 0;
        }
        r = parse(text, &n);
        if (r == -ERANGE)
                return fail_at(p, v->line, v->column, "%s: '%s' is too large", key_name(k), v->shown);
        if (r < 0)
                return fail_at(p, v->line, v->column, "%s: invalid value '%s' (expected %s, or none)",
                               key_name(k), v->shown, examples);
        *ret = n;
        return 0;
}

/* Absolute, or "~" / "~/..." under $HOME. */
static int apply_parent(struct parse_ctx *p, const struct seen_value *v, const char *text, char **ret) {
        const char *home = getenv("HOME");
        char *s;

        if (v->null)
                return fail_at(p, v->line, v->column, "parent: expected a directory path");
        if (text[0] == '/')
                s = strdup(text);
        else if (streq(text, "~") || strncmp(text, "~/", 2) == 0) {
                if (!home || home[0] != '/')
                        return fail_at(p, v->line, v->column,
                                       "parent: cannot expand '~': $HOME is not an absolute path");
                if (asprintf(&s, "%s%s", home, text + 1) < 0)
                        s = NULL;
        } else
                return fail_at(p, v->line, v->column,
                               "parent: '%s' is not an absolute path (use /... or ~/...)", v->shown);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int apply_prefix(struct parse_ctx *p, const struct seen_value *v, const char *text, char **ret) {
        const char *reason = NULL;
        char *s;

        if (v->null)
                text = "";
        if (names_validate_prefix(text, &reason) < 0)
                return fail_at(p, v->line, v->column, "prefix: '%s' %s", v->shown,
                               reason ? reason : "is not valid");
        s = strdup(text);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static enum ephemdir_tristate tristate(bool b) {
        return b ? EPHEMDIR_YES : EPHEMDIR_NO;
}

static int apply_key(struct parse_ctx *p, enum key_id k, const struct seen_value *v,
                     const struct yaml_config *y, struct ephemdir_new_opts *o) {
        switch (k) {
        case KEY_LIFETIME:
                return apply_limit(p, k, v, y->lifetime, ephemdir_parse_duration, EPHEMDIR_FOREVER,
                                   "e.g. 90, 30m, 1h30m, 7d, 2w", &o->lifetime);
        case KEY_MAX_SIZE:
                return apply_limit(p, k, v, y->max_size, ephemdir_parse_size, EPHEMDIR_NO_SIZE_LIMIT,
                                   "e.g. 4096, 512K, 2GiB, 1.5G", &o->max_size);
        case KEY_REMOVE_ON_RESTART:
                o->remove_on_restart = tristate(y->remove_on_restart);
                return 0;
        case KEY_KEEP_WHILE_IN_USE:
                o->keep_while_in_use = tristate(y->keep_while_in_use);
                return 0;
        case KEY_CLEANUP:
                o->cleanup = (enum ephemdir_cleanup) y->cleanup;
                return 0;
        case KEY_NAME_STYLE:
                o->name_style = (enum ephemdir_name_style) y->name_style;
                return 0;
        case KEY_PARENT:
                return apply_parent(p, v, y->parent, (char **) &o->parent);
        case KEY_PREFIX:
                return apply_prefix(p, v, y->prefix, (char **) &o->prefix);
        case KEY_WORDS:
                if (names_validate_words(y->words) < 0)   /* the scan already checked */
                        return fail_at(p, v->line, v->column, "words: out of range");
                o->words = y->words;
                return 0;
        default:
                return -EINVAL;
        }
}

/* A string field is NULL when libcyaml had nothing to load: never expected
 * for a present key, but never dereferenced either. */
static bool loaded(enum key_id k, const struct yaml_config *y) {
        switch (k) {
        case KEY_LIFETIME:
                return y->lifetime;
        case KEY_MAX_SIZE:
                return y->max_size;
        case KEY_PARENT:
                return y->parent;
        case KEY_PREFIX:
                return y->prefix;
        default:
                return true;
        }
}

static int apply_all(struct parse_ctx *p, const struct scan *s, const struct yaml_config *y,
                     struct config *c) {
        for (size_t i = 0; i < s->n_order; i++) {
                enum key_id k = s->order[i];
                const struct seen_value *v = &s->v[k];
                int r;

                if (!y || !loaded(k, y))
                        return fail_at(p, v->line, v->column, "%s: value could not be loaded", key_name(k));
                r = apply_key(p, k, v, y, &c->defaults);
                if (r < 0)
                        return r;
        }
        return 0;
}

void config_done(struct config *c) {
        if (!c)
                return;
        free((char *) c->defaults.parent);
        free((char *) c->defaults.prefix);
        free(c->path);
        memset(c, 0, sizeof(*c));
}

static int parse_into(struct parse_ctx *p, const char *buf, size_t len, struct config *c) {
        _cleanup_free_ struct scan *s = NULL;
        struct yaml_config *y = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = scan_buffer(p, buf, len, s);
        if (r < 0 || s->empty)
                return r;
        r = load_with_schema(p, buf, len, s, &y);
        if (r < 0)
                return r;
        r = apply_all(p, s, y, c);
        free_yaml_config(y);
        return r;
}

int config_parse_buffer(const char *buf, size_t len, const char *display_path,
                        struct config *ret, char **ret_error) {
        struct parse_ctx p = { .path = display_path ? display_path : CONFIG_FILE_NAME };
        struct config c = {};
        int r;

        if (!ret || (!buf && len > 0))
                return -EINVAL;
        r = parse_into(&p, buf ? buf : "", len, &c);
        if (r < 0) {
                config_done(&c);
                if (ret_error)
                        *ret_error = TAKE_PTR(p.error);
                free(p.error);
                return r;
        }
        free(p.error);
        *ret = c;
        return 0;
}

/* ---- the file ---------------------------------------------------------------- */

struct load_ctx {
        const char *path;       /* <config_dir>/config.yaml */
        char *error;
        char *warnings;
};

_printf_(3, 4)
static int load_fail(struct load_ctx *l, int err, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        free(l->error);
        if (!msg || asprintf(&l->error, "%s: %s", l->path, msg) < 0)
                l->error = NULL;
        return err;
}

_printf_(2, 3)
static int add_warning(struct load_ctx *l, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        char *joined;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        if (asprintf(&joined, "%s%s%s", l->warnings ? l->warnings : "", l->warnings ? "\n" : "", msg) < 0)
                return -ENOMEM;
        free(l->warnings);
        l->warnings = joined;
        return 0;
}

static int check_toml(struct load_ctx *l, int dir_fd, const char *config_dir) {
        struct stat st;

        if (fstatat(dir_fd, CONFIG_TOML_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        return add_warning(l, "%s/" CONFIG_TOML_NAME " is not read; ephemdir uses " CONFIG_FILE_NAME,
                           config_dir);
}

/* Type, owner and mode of config.yaml.  1 = read it, 0 = ignore it. */
static int check_stat(struct load_ctx *l, const struct stat *st, uid_t uid) {
        if (S_ISLNK(st->st_mode))
                return load_fail(l, -EPERM, "is a symlink; refusing to follow it");
        if (!S_ISREG(st->st_mode))
                return load_fail(l, -EINVAL, "not a regular file");
        if (st->st_uid != uid) {
                int r = add_warning(l, "%s: ignored: owned by uid %u, not by uid %u", l->path,
                                    (unsigned) st->st_uid, (unsigned) uid);
                return r < 0 ? r : 0;
        }
        if (st->st_mode & (S_IWGRP | S_IWOTH)) {
                int r = add_warning(l, "%s: ignored: writable by group or others (chmod go-w to use it)",
                                    l->path);
                return r < 0 ? r : 0;
        }
        if (st->st_size > CONFIG_MAX_SIZE)
                return load_fail(l, -EFBIG, "larger than %d KiB", CONFIG_MAX_SIZE / 1024);
        return 1;
}

/* fd of config.yaml to read, or -1 (absent or ignored).  The fstatat first
 * keeps devices and FIFOs from ever being opened; the fstat after the
 * O_NOFOLLOW open is the check that counts. */
static int open_config(struct load_ctx *l, int dir_fd, uid_t uid, int *ret_fd) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        *ret_fd = -1;
        if (fstatat(dir_fd, CONFIG_FILE_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : load_fail(l, negative_errno(), "cannot stat: %m");
        r = check_stat(l, &st, uid);
        if (r <= 0)
                return r;
        fd = openat(dir_fd, CONFIG_FILE_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno == ELOOP)
                        return load_fail(l, -EPERM, "is a symlink; refusing to follow it");
                return load_fail(l, negative_errno(), "cannot open: %m");
        }
        if (fstat(fd, &st) < 0)
                return load_fail(l, negative_errno(), "cannot stat: %m");
        r = check_stat(l, &st, uid);
        if (r <= 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Whole file, at most CONFIG_MAX_SIZE bytes (it may have grown since fstat). */
static int read_config(struct load_ctx *l, int fd, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = malloc(CONFIG_MAX_SIZE + 1);
        size_t len = 0;

        if (!buf)
                return -ENOMEM;
        while (len <= CONFIG_MAX_SIZE) {
                ssize_t k = read(fd, buf + len, CONFIG_MAX_SIZE + 1 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return load_fail(l, negative_errno(), "cannot read: %m");
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        if (len > CONFIG_MAX_SIZE)
                return load_fail(l, -EFBIG, "larger than %d KiB", CONFIG_MAX_SIZE / 1024);
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int load_from_dir(struct load_ctx *l, const char *config_dir, uid_t uid, struct config *c) {
        _cleanup_close_ int dir_fd = -1, fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        dir_fd = open(config_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0) {
                if (errno == ENOENT)
                        return 0;
                r = negative_errno();
                free(l->error);
                if (asprintf(&l->error, "%s: cannot open the config directory: %s", config_dir,
                             strerror(-r)) < 0)
                        l->error = NULL;
                return r;
        }
        r = check_toml(l, dir_fd, config_dir);
        if (r < 0)
                return r;
        r = open_config(l, dir_fd, uid, &fd);
        if (r < 0 || fd < 0)
                return r;
        r = read_config(l, fd, &buf, &len);
        if (r < 0)
                return r;
        r = config_parse_buffer(buf, len, l->path, c, &l->error);
        if (r < 0)
                return r;
        c->path = strdup(l->path);
        return c->path ? 0 : -ENOMEM;
}

int config_load(const char *config_dir, uid_t uid, struct config *ret,
                char **ret_error, char **ret_warnings) {
        _cleanup_free_ char *path = NULL;
        struct load_ctx l = {};
        struct config c = {};
        int r;

        if (!config_dir || !ret)
                return -EINVAL;
        if (asprintf(&path, "%s%s" CONFIG_FILE_NAME, config_dir,
                     config_dir[0] && config_dir[strlen(config_dir) - 1] == '/' ? "" : "/") < 0)
                return -ENOMEM;
        l.path = path;

        r = load_from_dir(&l, config_dir, uid, &c);
        if (r < 0) {
                config_done(&c);
                free(l.warnings);
                if (ret_error)
                        *ret_error = TAKE_PTR(l.error);
                free(l.error);
                return r;
        }
        free(l.error);
        *ret = c;
        if (ret_warnings)
                *ret_warnings = TAKE_PTR(l.warnings);
        free(l.warnings);
        return 0;
}
