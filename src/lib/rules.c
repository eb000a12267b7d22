/* SPDX-License-Identifier: MIT */
/*
 * rules.d: the rule files of ephemdir-apply (see rules.h).
 *
 * One file is read the way config.c reads config.yaml, in three steps:
 *
 *  1. A libyaml event scan ("scan_*", helpers in yamlpos.c) checks the shape
 *     of the document, the booleans, the name_style words and the tags, and
 *     records where every key of every rule sits.  Missing required keys
 *     (version; a rule's name and parent) are found here too.
 *  2. libcyaml loads the now well-formed document with the schema below,
 *     which is also the scan's list of keys and their types.
 *  3. The loaded strings are validated and converted rule by rule, key by
 *     key, in document order ("apply_*"), every error at the position the
 *     scan recorded.  Only the first error of a file is reported.
 *
 * rules_load() then reads directories fd-relative: each dir is opened by
 * the trusted walk of fsutil.c, files with openat(O_NOFOLLOW | O_NONBLOCK)
 * relative to their dir, after an fstatat that keeps FIFOs and devices from
 * ever being opened; the fstat of the open fd is the check that counts.
 * Nothing here prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cyaml/cyaml.h>
#include <yaml.h>

#include "fsutil.h"
#include "names.h"
#include "rules.h"
#include "util.h"
#include "yamlpos.h"

/* ---- schema ----------------------------------------------------------------- */

/* What libcyaml loads.  Presence is known from the scan, not from here. */
struct yaml_rule {
        char *name;
        char *parent;
        char *lifetime;
        bool remove_on_restart;
        bool keep_while_in_use;
        char *max_size;
        bool recreate;
        int name_style;
        char **tags;
        unsigned tags_count;
        char *description;
};

struct yaml_rules {
        unsigned version;
        struct yaml_rule *directories;
        unsigned directories_count;
};

/* Indexes into rule_fields[] and top_fields[]: keep them in the same order. */
enum rule_key {
        RK_NAME,
        RK_PARENT,
        RK_LIFETIME,
        RK_REMOVE_ON_RESTART,
        RK_KEEP_WHILE_IN_USE,
        RK_MAX_SIZE,
        RK_RECREATE,
        RK_NAME_STYLE,
        RK_TAGS,
        RK_DESCRIPTION,
        _RK_MAX,
};

enum top_key {
        TK_VERSION,
        TK_DIRECTORIES,
        _TK_MAX,
};

#define RULE_KEYS "name, parent, lifetime, remove_on_restart, keep_while_in_use, max_size, recreate, " \
                  "name_style, tags, description"
#define TOP_KEYS "version, directories"

static const cyaml_strval_t name_style_strings[] = {
        { "clean", EPHEMDIR_NAME_CLEAN },
        { "secure", EPHEMDIR_NAME_SECURE },
};

static const cyaml_schema_value_t tag_schema = {
        CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

#define OPT CYAML_FLAG_OPTIONAL
/* The scan lets only plain null words through as null for these. */
#define OPT_NULL (CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER_NULL_STR)
static const cyaml_schema_field_t rule_fields[] = {
        [RK_NAME] = CYAML_FIELD_STRING_PTR("name", OPT, struct yaml_rule, name, 0, CYAML_UNLIMITED),
        [RK_PARENT] = CYAML_FIELD_STRING_PTR("parent", OPT, struct yaml_rule, parent, 0, CYAML_UNLIMITED),
        [RK_LIFETIME] = CYAML_FIELD_STRING_PTR("lifetime", OPT, struct yaml_rule, lifetime, 0, CYAML_UNLIMITED),
        [RK_REMOVE_ON_RESTART] = CYAML_FIELD_BOOL("remove_on_restart", OPT, struct yaml_rule,
                                                  remove_on_restart),
        [RK_KEEP_WHILE_IN_USE] = CYAML_FIELD_BOOL("keep_while_in_use", OPT, struct yaml_rule,
                                                  keep_while_in_use),
        [RK_MAX_SIZE] = CYAML_FIELD_STRING_PTR("max_size", OPT, struct yaml_rule, max_size, 0, CYAML_UNLIMITED),
        [RK_RECREATE] = CYAML_FIELD_BOOL("recreate", OPT, struct yaml_rule, recreate),
        [RK_NAME_STYLE] = CYAML_FIELD_ENUM("name_style", OPT | CYAML_FLAG_STRICT, struct yaml_rule, name_style,
                                           name_style_strings, CYAML_ARRAY_LEN(name_style_strings)),
        [RK_TAGS] = CYAML_FIELD_SEQUENCE("tags", OPT_NULL, struct yaml_rule, tags, &tag_schema,
                                         0, CYAML_UNLIMITED),
        [RK_DESCRIPTION] = CYAML_FIELD_STRING_PTR("description", OPT, struct yaml_rule, description,
                                                  0, CYAML_UNLIMITED),
        [_RK_MAX] = CYAML_FIELD_END,
};

static const cyaml_schema_value_t rule_schema = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct yaml_rule, rule_fields),
};

static const cyaml_schema_field_t top_fields[] = {
        [TK_VERSION] = CYAML_FIELD_UINT("version", OPT, struct yaml_rules, version),
        [TK_DIRECTORIES] = CYAML_FIELD_SEQUENCE("directories", OPT_NULL, struct yaml_rules, directories,
                                                &rule_schema, 0, CYAML_UNLIMITED),
        [_TK_MAX] = CYAML_FIELD_END,
};
#undef OPT
#undef OPT_NULL

static const cyaml_schema_value_t top_schema = {
        CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct yaml_rules, top_fields),
};

static const char *rule_key_name(enum rule_key k) {
        return rule_fields[k].key;
}

/* ---- names -------------------------------------------------------------------- */

static bool is_name_start(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_name_char(char c) {
        return is_name_start(c) || c == '.' || c == '_' || c == '-';
}

bool rules_name_is_valid(const char *name) {
        size_t n;

        if (!name || !is_name_start(name[0]))
                return false;
        for (n = 1; name[n]; n++)
                if (n >= RULES_MAX_NAME || !is_name_char(name[n]))
                        return false;
        return true;
}

/* ---- pass 1: libyaml event scan ------------------------------------------------ */

/* Where a key and its value are (the scan keeps no text: a file may hold
 * thousands of rules). */
struct key_pos {
        bool present;
        bool null;
        size_t key_line;
        size_t line, column;         /* of the value */
};

struct rule_scan {
        size_t line, column;         /* of the rule's mapping */
        struct key_pos k[_RK_MAX];
        enum rule_key order[_RK_MAX];
        size_t n_order;
};

struct scan {
        struct key_pos top[_TK_MAX];
        struct rule_scan *rules;
        size_t n_rules, n_alloc;
};

static void scan_free(struct scan *s) {
        if (s)
                free(s->rules);
        free(s);
}

static void scan_freep(struct scan **s) {
        scan_free(*s);
}
#define _cleanup_scan_ _cleanup_(scan_freep)

static void keep_pos(struct key_pos *k, const struct yamlpos_value *v) {
        k->present = true;
        k->null = v->null;
        k->line = v->line;
        k->column = v->column;
}

/* A key event: known in fields[] and not seen yet, else an error.  Its
 * line goes into the key_pos for "first set on line N". */
static int scan_key(struct yamlpos_scanner *sc, const yaml_event_t *ev, const cyaml_schema_field_t *fields,
                    const char *known, struct key_pos *pos, int *ret) {
        char shown[YAMLPOS_SHOWN_SIZE];
        size_t col;
        int r, k;

        r = yamlpos_check_key(sc, ev, shown);
        if (r < 0)
                return r;
        k = yamlpos_find_field(fields, ev);
        if (k < 0)
                return yamlpos_fail_at_event(sc, ev, "unknown key '%s' (known keys: %s)", shown, known);
        if (pos[k].present)
                return yamlpos_fail_at_event(sc, ev, "duplicate key '%s' (first set on line %zu)", fields[k].key,
                                             pos[k].key_line);
        yamlpos_mark_position(sc, &ev->start_mark, &pos[k].key_line, &col);
        *ret = k;
        return 0;
}

/* A list value (ev starts it), or a plain null: 1 = list, 0 = null. */
static int scan_list_start(struct yamlpos_scanner *sc, const yaml_event_t *ev, const char *key,
                           const char *what, struct key_pos *pos) {
        struct yamlpos_value v = {};

        yamlpos_mark_position(sc, &ev->start_mark, &v.line, &v.column);
        if (ev->type == YAML_SCALAR_EVENT && !ev->data.scalar.tag && yamlpos_scalar_is_null(ev)) {
                v.null = true;
                keep_pos(pos, &v);
                return 0;
        }
        if (ev->type == YAML_ALIAS_EVENT)
                return yamlpos_fail_at(sc->p, v.line, v.column, "%s: aliases are not supported", key);
        if (ev->type != YAML_SEQUENCE_START_EVENT)
                return yamlpos_fail_at(sc->p, v.line, v.column, "%s: expected a list of %s, not %s", key, what,
                                       yamlpos_node_kind(ev->type));
        if (ev->data.sequence_start.tag)
                return yamlpos_fail_at(sc->p, v.line, v.column, "%s: tags are not supported", key);
        keep_pos(pos, &v);
        return 1;
}

/* A valid tag and its NUL. */
#define TAG_SIZE 33

static int scan_one_tag(struct yamlpos_scanner *sc, const yaml_event_t *ev, char seen[][TAG_SIZE], size_t n) {
        struct yamlpos_value v = {};
        const char *tag;
        int r;

        r = yamlpos_scan_scalar(sc, ev, "tags", &v);
        if (r < 0)
                return r;
        if (n >= EPHEMDIR_MAX_TAGS)
                return yamlpos_fail_at(sc->p, v.line, v.column, "tags: more than %d tags", EPHEMDIR_MAX_TAGS);
        tag = (const char *) ev->data.scalar.value;
        if (!names_tag_is_valid(tag))
                return yamlpos_fail_at(sc->p, v.line, v.column,
                                       "tags: invalid tag '%s' (expected 1 to 32 of a-z, 0-9, '.', '_', '-', "
                                       "starting with a letter or digit)", v.shown);
        for (size_t i = 0; i < n; i++)
                if (streq(seen[i], tag))
                        return yamlpos_fail_at(sc->p, v.line, v.column, "tags: duplicate tag '%s'", v.shown);
        snprintf(seen[n], sizeof(seen[n]), "%s", tag);
        return 0;
}

static int scan_tags(struct yamlpos_scanner *sc, const yaml_event_t *start, struct key_pos *pos) {
        char seen[EPHEMDIR_MAX_TAGS][TAG_SIZE];
        int r;

        r = scan_list_start(sc, start, "tags", "tags", pos);
        if (r <= 0)
                return r;
        for (size_t n = 0;; n++) {
                _cleanup_yaml_event_ yaml_event_t ev = {};
                r = yamlpos_next_event(sc, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_SEQUENCE_END_EVENT)
                        return 0;
                r = scan_one_tag(sc, &ev, seen, n);
                if (r < 0)
                        return r;
        }
}

static bool scalar_is_name_style(const yaml_event_t *ev) {
        for (size_t i = 0; i < ELEMENTSOF(name_style_strings); i++)
                if (yamlpos_scalar_is(ev, name_style_strings[i].str))
                        return true;
        return false;
}

/* A single-value key of a rule: shape and the checks that need no
 * loading (booleans, name_style). */
static int scan_rule_scalar(struct yamlpos_scanner *sc, enum rule_key k, const yaml_event_t *ev,
                            struct key_pos *pos) {
        struct yamlpos_value v = {};
        char choices[64];
        int r;

        r = yamlpos_scan_scalar(sc, ev, rule_key_name(k), &v);
        if (r < 0)
                return r;
        switch (rule_fields[k].value.type) {
        case CYAML_BOOL:
                if (!yamlpos_scalar_is_bool(ev))
                        return yamlpos_fail_at(sc->p, v.line, v.column, "%s: expected true or false, got '%s'",
                                               rule_key_name(k), v.shown);
                break;
        case CYAML_ENUM:
                if (!scalar_is_name_style(ev)) {
                        yamlpos_enum_choices(&rule_fields[k], choices, sizeof(choices));
                        return yamlpos_fail_at(sc->p, v.line, v.column, "%s: expected %s, got '%s'",
                                               rule_key_name(k), choices, v.shown);
                }
                break;
        default:
                break;   /* strings: checked after loading */
        }
        keep_pos(pos, &v);
        return 0;
}

static int scan_rule_pair(struct yamlpos_scanner *sc, struct rule_scan *rs, const yaml_event_t *key_ev) {
        _cleanup_yaml_event_ yaml_event_t ev = {};
        int r, k;

        r = scan_key(sc, key_ev, rule_fields, RULE_KEYS, rs->k, &k);
        if (r < 0)
                return r;
        rs->order[rs->n_order++] = (enum rule_key) k;
        r = yamlpos_next_event(sc, &ev);
        if (r < 0)
                return r;
        if (k == RK_TAGS)
                return scan_tags(sc, &ev, &rs->k[k]);
        return scan_rule_scalar(sc, (enum rule_key) k, &ev, &rs->k[k]);
}

static int scan_rule_end(struct yamlpos_scanner *sc, const struct rule_scan *rs) {
        static const enum rule_key required[] = { RK_NAME, RK_PARENT };

        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (!rs->k[required[i]].present)
                        return yamlpos_fail_at(sc->p, rs->line, rs->column, "missing required key '%s' in this rule",
                                               rule_key_name(required[i]));
        return 0;
}

static int new_rule_scan(struct scan *s, struct rule_scan **ret) {
        if (s->n_rules == s->n_alloc) {
                size_t n = s->n_alloc ? s->n_alloc * 2 : 8;
                struct rule_scan *p = reallocarray(s->rules, n, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                s->rules = p;
                s->n_alloc = n;
        }
        *ret = &s->rules[s->n_rules++];
        memset(*ret, 0, sizeof(**ret));
        return 0;
}

/* One entry of directories; ev is its first event. */
static int scan_rule(struct yamlpos_scanner *sc, struct scan *s, const yaml_event_t *ev) {
        struct rule_scan *rs;
        int r;

        if (ev->type == YAML_ALIAS_EVENT)
                return yamlpos_fail_at_event(sc, ev, "directories: aliases are not supported");
        if (ev->type != YAML_MAPPING_START_EVENT)
                return yamlpos_fail_at_event(sc, ev,
                                             "directories: each entry must be a mapping of keys to values, not %s",
                                             yamlpos_node_kind(ev->type));
        if (ev->data.mapping_start.tag)
                return yamlpos_fail_at_event(sc, ev, "tags are not supported");
        r = new_rule_scan(s, &rs);
        if (r < 0)
                return r;
        yamlpos_mark_position(sc, &ev->start_mark, &rs->line, &rs->column);
        for (;;) {
                _cleanup_yaml_event_ yaml_event_t key = {};
                r = yamlpos_next_event(sc, &key);
                if (r < 0)
                        return r;
                if (key.type == YAML_MAPPING_END_EVENT)
                        return scan_rule_end(sc, rs);
                r = scan_rule_pair(sc, rs, &key);
                if (r < 0)
                        return r;
        }
}

static int scan_directories(struct yamlpos_scanner *sc, struct scan *s, const yaml_event_t *start) {
        int r;

        r = scan_list_start(sc, start, "directories", "directories", &s->top[TK_DIRECTORIES]);
        if (r <= 0)
                return r;
        for (;;) {
                _cleanup_yaml_event_ yaml_event_t ev = {};
                r = yamlpos_next_event(sc, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_SEQUENCE_END_EVENT)
                        return 0;
                r = scan_rule(sc, s, &ev);
                if (r < 0)
                        return r;
        }
}

static int scan_version(struct yamlpos_scanner *sc, struct scan *s, const yaml_event_t *ev) {
        struct yamlpos_value v = {};
        int r;

        r = yamlpos_scan_scalar(sc, ev, "version", &v);
        if (r < 0)
                return r;
        if (!yamlpos_scalar_is(ev, "1"))
                return yamlpos_fail_at(sc->p, v.line, v.column,
                                       "version: unsupported version '%s' (this ephemdir reads version %d)",
                                       v.shown, RULES_VERSION);
        keep_pos(&s->top[TK_VERSION], &v);
        return 0;
}

static int scan_top_pair(struct yamlpos_scanner *sc, struct scan *s, const yaml_event_t *key_ev) {
        _cleanup_yaml_event_ yaml_event_t ev = {};
        int r, k;

        r = scan_key(sc, key_ev, top_fields, TOP_KEYS, s->top, &k);
        if (r < 0)
                return r;
        r = yamlpos_next_event(sc, &ev);
        if (r < 0)
                return r;
        if (k == TK_VERSION)
                return scan_version(sc, s, &ev);
        return scan_directories(sc, s, &ev);
}

static int scan_root(struct yamlpos_scanner *sc, const yaml_event_t *ev, void *userdata) {
        struct scan *s = userdata;

        if (ev->type == YAML_SCALAR_EVENT && !ev->data.scalar.tag && yamlpos_scalar_is_null(ev))
                return 0;     /* "---" alone, "~": no keys (so no version) */
        if (ev->type != YAML_MAPPING_START_EVENT)
                return yamlpos_fail_at_event(sc, ev, "the top level must be a mapping of keys to values, not %s",
                                             yamlpos_node_kind(ev->type));
        if (ev->data.mapping_start.tag)
                return yamlpos_fail_at_event(sc, ev, "tags are not supported");
        for (;;) {
                _cleanup_yaml_event_ yaml_event_t key = {};
                int r = yamlpos_next_event(sc, &key);
                if (r < 0)
                        return r;
                if (key.type == YAML_MAPPING_END_EVENT)
                        return 0;
                r = scan_top_pair(sc, s, &key);
                if (r < 0)
                        return r;
        }
}

static int scan_buffer(struct yamlpos_ctx *p, const char *buf, size_t len, struct scan *s) {
        struct yamlpos_scanner sc;
        int r;

        r = yamlpos_scanner_init(&sc, p, buf, len);
        if (r < 0)
                return r;
        r = yamlpos_scan_stream(&sc, scan_root, s, NULL);
        yamlpos_scanner_done(&sc);
        if (r < 0)
                return r;
        /* At 1:1: a file without a version is not a rule file at all. */
        if (!s->top[TK_VERSION].present)
                return yamlpos_fail_at(p, 1, 1, "missing required key 'version' (add \"version: %d\")",
                                       RULES_VERSION);
        return 0;
}

/* ---- pass 2: libcyaml load ------------------------------------------------------ */

static int load_with_schema(struct yamlpos_ctx *p, const char *buf, size_t len, struct yaml_rules **ret) {
        struct yamlpos_cyaml_capture capture = {};
        const cyaml_config_t cfg = {
                .log_fn = yamlpos_cyaml_capture_log,
                .log_ctx = &capture,
                .mem_fn = yamlpos_cyaml_mem,
                .log_level = CYAML_LOG_ERROR,
                .flags = CYAML_CFG_NO_ALIAS,
        };
        cyaml_data_t *data = NULL;
        cyaml_err_t err;
        char msg[YAMLPOS_SHOWN_SIZE];

        err = cyaml_load_data((const uint8_t *) buf, len, &cfg, &top_schema, &data, NULL);
        if (err == CYAML_ERR_OOM)
                return -ENOMEM;
        if (err != CYAML_OK) {
                /* Not expected after the scan; libcyaml quotes input raw. */
                const char *raw = capture.message[0] ? capture.message : cyaml_strerror(err);
                yamlpos_show_text(msg, raw, strlen(raw));
                return yamlpos_fail_at(p, 1, 1, "cannot load the file: %s", msg);
        }
        *ret = data;
        return 0;
}

static void free_yaml_rules(struct yaml_rules *y) {
        const cyaml_config_t cfg = { .mem_fn = yamlpos_cyaml_mem, .log_level = CYAML_LOG_ERROR };

        if (y)
                cyaml_free(&cfg, &top_schema, y, 0);
}

static void yaml_rules_freep(struct yaml_rules **y) {
        free_yaml_rules(*y);
}

/* ---- name lookups ---------------------------------------------------------------- */

/* Names sorted for lookups: a file or a set may hold thousands of rules. */
struct named {
        const char *name;
        size_t idx;
};

static int named_cmp(const void *a, const void *b) {
        const struct named *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        if (c != 0)
                return c;
        return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* names[i] (NULL: "") with their indexes, sorted by name, then index. */
static struct named *sorted_names(const char *(*get)(const void *items, size_t i), const void *items, size_t n) {
        struct named *v = calloc(n > 0 ? n : 1, sizeof(*v));

        if (!v)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const char *name = get(items, i);
                v[i] = (struct named) { .name = name ? name : "", .idx = i };
        }
        qsort(v, n, sizeof(*v), named_cmp);
        return v;
}

static const struct named *find_sorted_name(const struct named *v, size_t n, const char *name) {
        const struct named key = { .name = name, .idx = 0 };
        size_t lo = 0, hi = n;

        /* The lowest index of the name: bsearch() may land on any. */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (named_cmp(&v[mid], &key) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && streq(v[lo].name, name) ? &v[lo] : NULL;
}

/* ---- pass 3: values ------------------------------------------------------------- */

struct apply {
        struct yamlpos_ctx *p;
        bool system_scope;
};

static void rule_done(struct rule *r) {
        free(r->name);
        free(r->parent);
        free(r->file);
        if (r->tags)
                for (size_t i = 0; r->tags[i]; i++)
                        free(r->tags[i]);
        free(r->tags);
        free(r->description);
        memset(r, 0, sizeof(*r));
}

static void rules_free(struct rule *rules, size_t n) {
        for (size_t i = 0; i < n; i++)
                rule_done(&rules[i]);
        free(rules);
}

static void show(char out[static YAMLPOS_SHOWN_SIZE], const char *s) {
        yamlpos_show_text(out, s, strlen(s));
}

static int apply_name(struct apply *a, const struct key_pos *v, const char *text, struct rule *r) {
        char shown[YAMLPOS_SHOWN_SIZE];

        if (!rules_name_is_valid(text)) {
                show(shown, text);
                return yamlpos_fail_at(a->p, v->line, v->column,
                                       "name: '%s' is not a valid rule name (expected 1 to %d of a-z, 0-9, "
                                       "'.', '_', '-', starting with a letter or digit)", shown, RULES_MAX_NAME);
        }
        r->name = strdup(text);
        return r->name ? 0 : -ENOMEM;
}

/* C0, DEL, or C1 (U+0080..U+009F, as UTF-8). */
static bool has_control(const char *text) {
        const unsigned char *s = (const unsigned char *) text;

        for (; *s; s++)
                if (*s < 0x20 || *s == 0x7f || (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f))
                        return true;
        return false;
}

/* "~" or "~/..." expanded with $HOME (user scope only); else as written. */
static int expand_home(struct apply *a, const struct key_pos *v, const char *text, char **ret) {
        const char *home = getenv("HOME");
        char *s;

        if (!streq(text, "~") && strncmp(text, "~/", 2) != 0) {
                s = strdup(text);
        } else if (a->system_scope) {
                return yamlpos_fail_at(a->p, v->line, v->column,
                                       "parent: '~' cannot be used in system rules (use an absolute path)");
        } else {
                if (!home || home[0] != '/')
                        return yamlpos_fail_at(a->p, v->line, v->column,
                                               "parent: cannot expand '~': $HOME is not an absolute path");
                if (asprintf(&s, "%s%s", home, text + 1) < 0)
                        s = NULL;
        }
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int apply_parent(struct apply *a, const struct key_pos *v, const char *text, struct rule *r) {
        _cleanup_free_ char *expanded = NULL;
        char shown[YAMLPOS_SHOWN_SIZE];
        int k;

        show(shown, text);
        if (v->null && streq(text, "~"))
                return yamlpos_fail_at(a->p, v->line, v->column,
                                       "parent: a plain ~ is YAML's null: write \"~\" for the home directory");
        if (v->null)
                return yamlpos_fail_at(a->p, v->line, v->column, "parent: expected a directory path");
        if (has_control(text))
                return yamlpos_fail_at(a->p, v->line, v->column, "parent: '%s' contains a control character",
                                       shown);
        if (text[0] != '/' && text[0] != '~')
                return yamlpos_fail_at(a->p, v->line, v->column,
                                       "parent: '%s' is not an absolute path (use /... or ~/...)", shown);
        k = expand_home(a, v, text, &expanded);
        if (k < 0)
                return k;
        if (expanded[0] != '/')   /* "~user/..." */
                return yamlpos_fail_at(a->p, v->line, v->column,
                                       "parent: '%s' is not an absolute path (use /... or ~/...)", shown);
        if (strlen(expanded) >= PATH_MAX)
                return yamlpos_fail_at(a->p, v->line, v->column, "parent: longer than %d bytes", PATH_MAX - 1);
        return path_normalize(expanded, NULL, &r->parent);
}

typedef int (*parse_fn)(const char *s, int64_t *ret);

/* Duration or size: text, or none / null for "no limit". */
static int apply_limit(struct apply *a, enum rule_key k, const struct key_pos *v, const char *text,
                       parse_fn parse, int64_t none, const char *examples, int64_t *ret) {
        char shown[YAMLPOS_SHOWN_SIZE];
        int64_t n;
        int r;

        if (v->null || streq(text, "none")) {
                *ret = none;
                return 0;
        }
        show(shown, text);
        r = parse(text, &n);
        if (r == -ERANGE)
                return yamlpos_fail_at(a->p, v->line, v->column, "%s: '%s' is too large", rule_key_name(k), shown);
        if (r < 0)
                return yamlpos_fail_at(a->p, v->line, v->column, "%s: invalid value '%s' (expected %s, or none)",
                                       rule_key_name(k), shown, examples);
        *ret = n;
        return 0;
}

static int apply_tags(char *const *tags, unsigned n, struct rule *r) {
        if (n == 0)
                return 0;
        r->tags = calloc((size_t) n + 1, sizeof(char *));
        if (!r->tags)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++) {
                r->tags[i] = strdup(tags[i]);
                if (!r->tags[i])
                        return -ENOMEM;
                r->n_tags++;
        }
        return 0;
}

static int apply_description(struct apply *a, const struct key_pos *v, const char *text, struct rule *r) {
        if (v->null)
                return 0;
        if (!names_description_is_valid(text))
                return yamlpos_fail_at(a->p, v->line, v->column,
                                       "description: must be at most %d bytes, without control characters",
                                       EPHEMDIR_MAX_DESCRIPTION);
        r->description = strdup(text);
        return r->description ? 0 : -ENOMEM;
}

/* The string a key loaded as; NULL only if libcyaml had nothing to load. */
static const char *loaded_text(enum rule_key k, const struct yaml_rule *y) {
        switch (k) {
        case RK_NAME:
                return y->name;
        case RK_PARENT:
                return y->parent;
        case RK_LIFETIME:
                return y->lifetime;
        case RK_MAX_SIZE:
                return y->max_size;
        case RK_DESCRIPTION:
                return y->description;
        default:
                return "";
        }
}

static int apply_key(struct apply *a, enum rule_key k, const struct key_pos *v, const struct yaml_rule *y,
                     struct rule *r) {
        const char *text = loaded_text(k, y);

        if (!text)
                return yamlpos_fail_at(a->p, v->line, v->column, "%s: value could not be loaded", rule_key_name(k));
        switch (k) {
        case RK_NAME:
                return apply_name(a, v, text, r);
        case RK_PARENT:
                return apply_parent(a, v, text, r);
        case RK_LIFETIME:
                return apply_limit(a, k, v, text, ephemdir_parse_duration, 0, "e.g. 90, 30m, 1h30m, 7d, 2w",
                                   &r->lifetime);
        case RK_MAX_SIZE:
                return apply_limit(a, k, v, text, ephemdir_parse_size, EPHEMDIR_NO_SIZE_LIMIT,
                                   "e.g. 4096, 512K, 2GiB, 1.5G", &r->max_size);
        case RK_REMOVE_ON_RESTART:
                r->remove_on_restart = y->remove_on_restart;
                return 0;
        case RK_KEEP_WHILE_IN_USE:
                r->keep_while_in_use = y->keep_while_in_use;
                return 0;
        case RK_RECREATE:
                r->recreate = y->recreate;
                return 0;
        case RK_NAME_STYLE:
                r->name_style = (enum ephemdir_name_style) y->name_style;
                return 0;
        case RK_TAGS:
                return apply_tags(y->tags, y->tags_count, r);
        case RK_DESCRIPTION:
                return apply_description(a, v, text, r);
        default:
                return -EINVAL;
        }
}

static void rule_defaults(struct rule *r) {
        *r = (struct rule) {
                .lifetime = 0,
                .remove_on_restart = true,
                .keep_while_in_use = false,
                .recreate = true,
                .max_size = EPHEMDIR_NO_SIZE_LIMIT,
                .name_style = EPHEMDIR_NAME_CLEAN,
        };
}

static int apply_rule(struct apply *a, const struct rule_scan *rs, const struct yaml_rule *y, struct rule *r) {
        int k;

        rule_defaults(r);
        r->line = rs->line;
        r->column = rs->column;
        r->file = strdup(a->p->path);
        if (!r->file)
                return -ENOMEM;
        for (size_t i = 0; i < rs->n_order; i++) {
                k = apply_key(a, rs->order[i], &rs->k[rs->order[i]], y, r);
                if (k < 0)
                        return k;
        }
        return 0;
}

static const char *loaded_name(const void *items, size_t i) {
        return ((const struct yaml_rule *) items)[i].name;
}

/* A name used twice in one file is a mistake in that file.  The first rule
 * (in document order) whose name an earlier rule has: *ret_dup (SIZE_MAX
 * when none) and that earlier rule, *ret_first. */
static int find_duplicate(const struct yaml_rules *y, size_t *ret_dup, size_t *ret_first) {
        _cleanup_free_ struct named *v = sorted_names(loaded_name, y->directories, y->directories_count);
        size_t dup = SIZE_MAX, first = SIZE_MAX;

        if (!v)
                return -ENOMEM;
        for (size_t i = 1; i < y->directories_count; i++)
                /* Sorted by index inside a name: v[i] is the second of its name. */
                if (streq(v[i].name, v[i - 1].name) && (i < 2 || !streq(v[i - 2].name, v[i].name)) &&
                    v[i].idx < dup) {
                        dup = v[i].idx;
                        first = v[i - 1].idx;
                }
        *ret_dup = dup;
        *ret_first = first;
        return 0;
}

static int duplicate_error(struct apply *a, const struct scan *s, size_t dup, size_t first, const char *name) {
        const struct key_pos *v = &s->rules[dup].k[RK_NAME];

        return yamlpos_fail_at(a->p, v->line, v->column, "name: duplicate rule name '%s' (first defined on line %zu)",
                               name, s->rules[first].k[RK_NAME].line);
}

static int apply_all(struct apply *a, const struct scan *s, const struct yaml_rules *y, struct rule **ret,
                     size_t *ret_n) {
        struct rule *rules = NULL;
        size_t n = 0, dup, first;
        int r = 0;

        if (!y || y->directories_count != s->n_rules)
                return yamlpos_fail_at(a->p, 1, 1, "cannot load the file: unexpected structure");
        r = find_duplicate(y, &dup, &first);
        if (r < 0)
                return r;
        if (s->n_rules > 0) {
                rules = calloc(s->n_rules, sizeof(*rules));
                if (!rules)
                        return -ENOMEM;
        }
        /* Errors in document order: a duplicate name once its rule is reached. */
        for (; n < s->n_rules; n++) {
                r = apply_rule(a, &s->rules[n], &y->directories[n], &rules[n]);
                if (r >= 0 && n == dup)
                        r = duplicate_error(a, s, dup, first, rules[n].name);
                if (r < 0) {
                        rules_free(rules, n + 1);
                        return r;
                }
        }
        *ret = rules;
        *ret_n = n;
        return 0;
}

/* The rules of one file, or an error in p. */
static int parse_rules(struct yamlpos_ctx *p, const char *buf, size_t len, bool system_scope,
                       struct rule **ret, size_t *ret_n) {
        _cleanup_(yaml_rules_freep) struct yaml_rules *y = NULL;
        _cleanup_scan_ struct scan *s = NULL;
        struct apply a = { .p = p, .system_scope = system_scope };
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = scan_buffer(p, buf, len, s);
        if (r < 0)
                return r;
        r = load_with_schema(p, buf, len, &y);
        if (r < 0)
                return r;
        return apply_all(&a, s, y, ret, ret_n);
}

/* ---- the set -------------------------------------------------------------------- */

/* Room for n + 2 elements (one more and a terminator) in an array that
 * only ever grows one element at a time, from NULL: the capacity is
 * implied by the count (8, 16, 32, ...), so pushes stay amortized O(1). */
static size_t capacity_for(size_t n) {
        size_t c = 8;

        while (c < n)
                c *= 2;
        return c;
}

static int grow(void *array, size_t n, size_t size) {
        void **p = array;
        void *q;

        if (*p && capacity_for(n + 2) == capacity_for(n + 1))
                return 0;
        q = reallocarray(*p, capacity_for(n + 2), size);
        if (!q)
                return -ENOMEM;
        *p = q;
        return 0;
}

/* Append s (taken: freed on failure too) to a NULL-terminated array. */
static int strv_push(char ***v, size_t *n, char *s) {
        if (!s)
                return -ENOMEM;
        if (grow(v, *n, sizeof(char *)) < 0) {
                free(s);
                return -ENOMEM;
        }
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
        return 0;
}

_printf_(3, 0)
static int strv_pushv(char ***v, size_t *n, const char *fmt, va_list ap) {
        char *s;

        return strv_push(v, n, vasprintf(&s, fmt, ap) < 0 ? NULL : s);
}

_printf_(3, 4)
static int strv_pushf(char ***v, size_t *n, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_pushv(v, n, fmt, ap);
        va_end(ap);
        return r;
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void masks_free(struct rule_mask *masks, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(masks[i].path);
                strv_free(masks[i].hidden, masks[i].n_hidden);
        }
        free(masks);
}

void rule_set_done(struct rule_set *s) {
        if (!s)
                return;
        rules_free(s->rules, s->n_rules);
        strv_free(s->files, s->n_files);
        masks_free(s->masks, s->n_masks);
        strv_free(s->errors, s->n_errors);
        strv_free(s->warnings, s->n_warnings);
        strv_free(s->unread, s->n_unread);
        memset(s, 0, sizeof(*s));
}

static const char *set_rule_name(const void *items, size_t i) {
        return ((const struct rule *) items)[i].name;
}

/* Move *r into the set, or drop it with a warning when an earlier file
 * (in index, the set's names before this file) has its name. */
static int add_rule(struct rule_set *s, const struct named *index, size_t n_index, struct rule *r) {
        const struct named *taken = find_sorted_name(index, n_index, r->name);
        int k;

        if (taken) {
                const struct rule *first = &s->rules[taken->idx];
                k = strv_pushf(&s->warnings, &s->n_warnings,
                               "%s:%zu:%zu: rule '%s' ignored: already defined in %s:%zu:%zu (the first wins)",
                               r->file, r->line, r->column, r->name, first->file, first->line, first->column);
                rule_done(r);
                return k;
        }
        if (grow(&s->rules, s->n_rules, sizeof(*s->rules)) < 0) {
                rule_done(r);
                return -ENOMEM;
        }
        s->rules[s->n_rules++] = *r;
        memset(r, 0, sizeof(*r));
        return 0;
}

/* A file's rules are unique among themselves: only the set's earlier
 * names need looking up. */
static int add_rules(struct rule_set *s, struct rule *rules, size_t n) {
        _cleanup_free_ struct named *index = NULL;
        size_t n_index = s->n_rules;
        int r = 0;

        if (n == 0)
                return 0;
        index = sorted_names(set_rule_name, s->rules, n_index);
        if (!index)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = add_rule(s, index, n_index, &rules[i]);
        return r;
}

static int parse_into(const char *buf, size_t len, const char *display_path, bool system_scope,
                      struct rule_set *into) {
        struct yamlpos_ctx p = { .path = display_path };
        struct rule *rules = NULL;
        size_t n = 0;
        int r;

        r = parse_rules(&p, buf, len, system_scope, &rules, &n);
        if (r == -EINVAL) {
                if (p.error)
                        r = strv_push(&into->errors, &into->n_errors, TAKE_PTR(p.error));
                else
                        r = strv_pushf(&into->errors, &into->n_errors, "%s:1:1: invalid rule file", display_path);
                if (r >= 0)
                        r = strv_push(&into->unread, &into->n_unread, strdup(display_path));
                return r < 0 ? r : -EINVAL;
        }
        free(p.error);
        if (r < 0)
                return r;
        r = add_rules(into, rules, n);
        rules_free(rules, n);   /* what add_rules() did not take (on -ENOMEM) */
        if (r < 0)
                return r;
        return strv_push(&into->files, &into->n_files, strdup(display_path));
}

int rules_parse_buffer(const char *buf, size_t len, const char *display_path, struct rule_set *into) {
        if (!into || !display_path || (!buf && len > 0))
                return -EINVAL;
        return parse_into(buf ? buf : "", len, display_path, false, into);
}

/* ---- directories ------------------------------------------------------------------ */

struct candidate {
        char *name;
        size_t dir;          /* index into dirs: lower = higher priority */
};

struct loader {
        const char *const *dirs;
        size_t n_dirs;
        int *fds;            /* -1: absent or unreadable */
        uid_t uid;
        bool system_scope;
        struct candidate *cands;
        size_t n_cands;
        struct rule_set set;
};

/* Both return 0 (or -ENOMEM): the file or dir at source is skipped,
 * loading goes on.  Whatever it declares is unknown for this run, and
 * source says so in the set's unread list. */
_printf_(3, 4)
static int add_error(struct loader *l, const char *source, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_pushv(&l->set.errors, &l->set.n_errors, fmt, ap);
        va_end(ap);
        if (r < 0)
                return r;
        return strv_push(&l->set.unread, &l->set.n_unread, strdup(source));
}

_printf_(3, 4)
static int add_warning(struct loader *l, const char *source, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_pushv(&l->set.warnings, &l->set.n_warnings, fmt, ap);
        va_end(ap);
        if (r < 0)
                return r;
        return strv_push(&l->set.unread, &l->set.n_unread, strdup(source));
}

static bool is_rule_file_name(const char *name) {
        size_t n = strlen(name), sn = strlen(RULES_SUFFIX);

        return name[0] != '.' && n > sn && streq(name + n - sn, RULES_SUFFIX);
}

static int add_candidate(struct loader *l, const char *name, size_t dir) {
        char *copy;

        if (grow(&l->cands, l->n_cands, sizeof(*l->cands)) < 0)
                return -ENOMEM;
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        l->cands[l->n_cands++] = (struct candidate) { .name = copy, .dir = dir };
        return 0;
}

static int list_dir(struct loader *l, size_t i) {
        _cleanup_closedir_ DIR *d = NULL;
        int fd, r;

        fd = fcntl(l->fds[i], F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return add_error(l, l->dirs[i], "%s: cannot read the rules directory: %m", l->dirs[i]);
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return add_error(l, l->dirs[i], "%s: cannot read the rules directory: %m", l->dirs[i]);
        }
        for (;;) {
                struct dirent *de;

                errno = 0;
                de = readdir(d);
                if (!de)
                        break;
                if (!is_rule_file_name(de->d_name))
                        continue;
                r = add_candidate(l, de->d_name, i);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return add_error(l, l->dirs[i], "%s: cannot read the rules directory: %m", l->dirs[i]);
        return 0;
}

/* The path for the trusted walk: absolute and normalized; a relative dir
 * (--rules-dir) is taken from the current directory. */
static int absolute_dir(const char *dir, char **ret) {
        char cwd[PATH_MAX];

        if (dir[0] == '/')
                return path_normalize(dir, NULL, ret);
        if (!getcwd(cwd, sizeof(cwd)))
                return negative_errno();
        return path_normalize(dir, cwd, ret);
}

/* Why the walk refused bad: the rules dir itself or a directory above it,
 * named when it is not the rules dir. */
static int refuse_dir(struct loader *l, const char *dir, const char *abs, const char *bad, int err,
                      const struct stat *st) {
        const char *who = bad && !streq(bad, abs) ? bad : "it";
        char why[64];

        if (err == -ELOOP)
                snprintf(why, sizeof(why), "a symbolic link of another user's, or a loop");
        else if (st->st_uid != l->uid && st->st_uid != 0)
                snprintf(why, sizeof(why), "owned by uid %u, not by %s", (unsigned) st->st_uid,
                         l->uid == 0 ? "root" : "you or root");
        else
                snprintf(why, sizeof(why), "writable by group or others");
        return add_error(l, dir, "%s: refused as a rules directory: %s is %s (see OWNERSHIP AND PERMISSIONS "
                         "in ephemdir.rules(5))", dir, who, why);
}

/* Open dirs[i] for listing: another user who could add, replace or rename
 * an entry in it or above it could make us read their rules. */
static int open_dir(struct loader *l, size_t i) {
        _cleanup_free_ char *abs = NULL, *bad = NULL;
        struct stat bad_st = {};
        int r;

        r = absolute_dir(l->dirs[i], &abs);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return add_error(l, l->dirs[i], "%s: cannot open the rules directory: %s", l->dirs[i],
                                 strerror(-r));
        r = fs_open_trusted_read_dir(abs, l->uid, &l->fds[i], &bad, &bad_st);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r == -ELOOP || r == -EPERM)
                return refuse_dir(l, l->dirs[i], abs, bad, r, &bad_st);
        if (r < 0)
                return add_error(l, l->dirs[i], "%s: cannot open the rules directory: %s", l->dirs[i],
                                 strerror(-r));
        return list_dir(l, i);
}

static int open_dirs(struct loader *l) {
        int r;

        l->fds = calloc(l->n_dirs > 0 ? l->n_dirs : 1, sizeof(int));
        if (!l->fds)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_dirs; i++)
                l->fds[i] = -1;
        for (size_t i = 0; i < l->n_dirs; i++) {
                r = open_dir(l, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int candidate_cmp(const void *a, const void *b) {
        const struct candidate *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        if (c != 0)
                return c;
        return x->dir < y->dir ? -1 : x->dir > y->dir;
}

static int join_path(const char *dir, const char *name, char **ret) {
        size_t n = strlen(dir);

        if (asprintf(ret, "%s%s%s", dir, n > 0 && dir[n - 1] == '/' ? "" : "/", name) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Owner and mode of a file (or mask).  1 = use it, 0 = refused (warned). */
static int check_trust(struct loader *l, const char *path, const struct stat *st) {
        int r;

        if (st->st_uid != l->uid && st->st_uid != 0) {
                if (l->uid == 0)
                        r = add_warning(l, path, "%s: ignored: owned by uid %u, not by root", path,
                                        (unsigned) st->st_uid);
                else
                        r = add_warning(l, path, "%s: ignored: owned by uid %u, not by uid %u or root", path,
                                        (unsigned) st->st_uid, (unsigned) l->uid);
                return r < 0 ? r : 0;
        }
        if (!S_ISLNK(st->st_mode) && (st->st_mode & (S_IWGRP | S_IWOTH))) {
                r = add_warning(l, path, "%s: ignored: writable by group or others (chmod go-w to use it)",
                                path);
                return r < 0 ? r : 0;
        }
        return 1;
}

/* Type, owner, mode and size of a file to read.  1 = read it, 0 = skip it. */
static int check_file(struct loader *l, const char *path, const struct stat *st) {
        int r;

        if (!S_ISREG(st->st_mode)) {
                r = add_warning(l, path, "%s: ignored: not a regular file", path);
                return r < 0 ? r : 0;
        }
        r = check_trust(l, path, st);
        if (r <= 0)
                return r;
        if (st->st_size > RULES_MAX_FILE_SIZE) {
                r = add_error(l, path, "%s: larger than %d KiB", path, RULES_MAX_FILE_SIZE / 1024);
                return r < 0 ? r : 0;
        }
        return 1;
}

static int refuse_symlink(struct loader *l, const char *path) {
        return add_warning(l, path, "%s: ignored: a symlink (only a symlink to /dev/null, a mask, is allowed here)",
                           path);
}

/* Record the mask at path and the files of its name it keeps from being
 * read (lower: the candidates of lower dirs), so that a user can see why a
 * rule is not applied. */
static int add_mask(struct loader *l, const char *path, const struct candidate *lower, size_t n_lower) {
        struct rule_mask m = { .path = strdup(path) };
        int r = m.path ? 0 : -ENOMEM;

        for (size_t i = 0; i < n_lower && r >= 0; i++) {
                char *hidden;
                r = join_path(l->dirs[lower[i].dir], lower[i].name, &hidden);
                if (r >= 0)
                        r = strv_push(&m.hidden, &m.n_hidden, hidden);
        }
        if (r >= 0)
                r = grow(&l->set.masks, l->set.n_masks, sizeof(*l->set.masks));
        if (r < 0) {
                free(m.path);
                strv_free(m.hidden, m.n_hidden);
                return r;
        }
        l->set.masks[l->set.n_masks++] = m;
        return 0;
}

static int handle_symlink(struct loader *l, int dir_fd, const struct candidate *c, const char *path,
                          const struct stat *st, const struct candidate *lower, size_t n_lower) {
        char target[sizeof("/dev/null") + 1];
        ssize_t n;
        int r;

        n = readlinkat(dir_fd, c->name, target, sizeof(target));
        if (n < 0)
                return errno == ENOENT ? 0 : add_error(l, path, "%s: cannot read the symlink: %m", path);
        if ((size_t) n != strlen("/dev/null") || memcmp(target, "/dev/null", (size_t) n) != 0)
                return refuse_symlink(l, path);
        r = check_trust(l, path, st);
        if (r <= 0)
                return r;
        return add_mask(l, path, lower, n_lower);
}

/* fd of the file to read, or -1 when it is to be skipped. */
static int open_file(struct loader *l, int dir_fd, const char *name, const char *path, int *ret_fd) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        *ret_fd = -1;
        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno == ELOOP)
                        return refuse_symlink(l, path);
                return add_error(l, path, "%s: cannot open: %m", path);
        }
        if (fstat(fd, &st) < 0)
                return add_error(l, path, "%s: cannot stat: %m", path);
        r = check_file(l, path, &st);
        if (r <= 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int read_file(struct loader *l, int fd, const char *path) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        r = yamlpos_read_fd(fd, RULES_MAX_FILE_SIZE, &buf, &len);
        if (r == -EFBIG)
                return add_error(l, path, "%s: larger than %d KiB", path, RULES_MAX_FILE_SIZE / 1024);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return add_error(l, path, "%s: cannot read: %s", path, strerror(-r));
        r = parse_into(buf, len, path, l->system_scope, &l->set);
        return r == -EINVAL ? 0 : r;
}

/* The winner c of its file name; lower: the same name in lower dirs. */
static int load_file(struct loader *l, const struct candidate *c, const struct candidate *lower, size_t n_lower) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        int dir_fd = l->fds[c->dir];
        struct stat st;
        int r;

        r = join_path(l->dirs[c->dir], c->name, &path);
        if (r < 0)
                return r;
        if (fstatat(dir_fd, c->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : add_error(l, path, "%s: cannot stat: %m", path);
        if (S_ISLNK(st.st_mode))
                return handle_symlink(l, dir_fd, c, path, &st, lower, n_lower);
        r = check_file(l, path, &st);
        if (r <= 0)
                return r;
        r = open_file(l, dir_fd, c->name, path, &fd);
        if (r < 0 || fd < 0)
                return r;
        return read_file(l, fd, path);
}

/* Candidates sorted by name, then priority: the first of each name wins. */
static int load_winners(struct loader *l) {
        int r;

        if (l->n_cands > 1)
                qsort(l->cands, l->n_cands, sizeof(*l->cands), candidate_cmp);
        for (size_t i = 0, next; i < l->n_cands; i = next) {
                for (next = i + 1; next < l->n_cands && streq(l->cands[next].name, l->cands[i].name); next++)
                        ;
                r = load_file(l, &l->cands[i], &l->cands[i + 1], next - i - 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void loader_done(struct loader *l) {
        for (size_t i = 0; l->fds && i < l->n_dirs; i++)
                safe_close(l->fds[i]);
        free(l->fds);
        for (size_t i = 0; i < l->n_cands; i++)
                free(l->cands[i].name);
        free(l->cands);
        rule_set_done(&l->set);
}

int rules_load(const char *const *dirs, size_t n_dirs, uid_t uid, bool system_scope, struct rule_set *ret) {
        struct loader l = { .dirs = dirs, .n_dirs = n_dirs, .uid = uid, .system_scope = system_scope };
        int r;

        if (!ret || (!dirs && n_dirs > 0))
                return -EINVAL;
        for (size_t i = 0; i < n_dirs; i++)
                if (!dirs[i] || !dirs[i][0])
                        return -EINVAL;
        r = open_dirs(&l);
        if (r >= 0)
                r = load_winners(&l);
        if (r < 0) {
                loader_done(&l);
                return r;
        }
        *ret = l.set;
        memset(&l.set, 0, sizeof(l.set));
        loader_done(&l);
        return 0;
}

/* ---- the search path ---------------------------------------------------------------- */

int rules_default_dirs(const char *config_dir, bool system_scope, char ***ret, size_t *ret_n) {
        static const char *const system_dirs[] = {
                RULES_SYSTEM_ETC_DIR, RULES_SYSTEM_RUN_DIR, RULES_SYSTEM_LIB_DIR,
        };
        static const char *const user_dirs[] = { RULES_USER_ETC_DIR, RULES_USER_LIB_DIR };
        char **v = NULL, *first = NULL;
        size_t n = 0;
        int r = 0;

        if (!ret || !ret_n)
                return -EINVAL;
        if (system_scope) {
                for (size_t i = 0; i < ELEMENTSOF(system_dirs) && r >= 0; i++)
                        r = strv_push(&v, &n, strdup(system_dirs[i]));
        } else {
                if (!config_dir || config_dir[0] == '\0')
                        return -EINVAL;
                r = join_path(config_dir, RULES_USER_DIR_NAME, &first);
                if (r >= 0)
                        r = strv_push(&v, &n, first);
                for (size_t i = 0; i < ELEMENTSOF(user_dirs) && r >= 0; i++)
                        r = strv_push(&v, &n, strdup(user_dirs[i]));
        }
        if (r < 0) {
                strv_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}
