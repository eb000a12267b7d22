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
 *     (yamlpos.[ch] holds the schema-independent part, shared with the
 *     rules.d loader.)
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
#include "yamlpos.h"

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

/* ---- pass 1: libyaml event scan ---------------------------------------------- */

struct scan {
        struct yamlpos_value v[_KEY_MAX];
        enum key_id order[_KEY_MAX]; /* keys in document order */
        size_t n_order;
        bool empty;                  /* no document, or a null one */
        size_t root_line, root_column;
};

static bool scalar_is_words(const yaml_event_t *ev) {
        return yamlpos_scalar_is_plain(ev) && ev->data.scalar.length == 1 &&
               ev->data.scalar.value[0] >= '0' + NAMES_MIN_WORDS &&
               ev->data.scalar.value[0] <= '0' + NAMES_MAX_WORDS;
}

/* Checks that depend on the field's type; the text is already shown[]. */
static int scan_check_typed(struct yamlpos_scanner *sc, enum key_id k, const yaml_event_t *ev,
                            const struct yamlpos_value *v) {
        switch (key_type(k)) {
        case CYAML_BOOL:
                if (!yamlpos_scalar_is_bool(ev))
                        return yamlpos_fail_at(sc->p, v->line, v->column,
                                               "%s: expected true or false, got '%s'", key_name(k), v->shown);
                return 0;
        case CYAML_INT:
                if (!scalar_is_words(ev))
                        return yamlpos_fail_at(sc->p, v->line, v->column,
                                               "%s: expected an integer from %d to %d, got '%s'", key_name(k),
                                               NAMES_MIN_WORDS, NAMES_MAX_WORDS, v->shown);
                return 0;
        default:
                return 0;   /* strings: checked after loading; enums: by libcyaml */
        }
}

static int scan_value(struct yamlpos_scanner *sc, enum key_id k, struct yamlpos_value *v) {
        _cleanup_yaml_event_ yaml_event_t ev = {};
        int r;

        r = yamlpos_next_event(sc, &ev);
        if (r < 0)
                return r;
        r = yamlpos_scan_scalar(sc, &ev, key_name(k), v);
        if (r < 0)
                return r;
        return scan_check_typed(sc, k, &ev, v);
}

/* The key event is in ev; scans its value too. */
static int scan_pair(struct yamlpos_scanner *sc, struct scan *s, const yaml_event_t *ev) {
        char shown[YAMLPOS_SHOWN_SIZE];
        enum key_id k;
        size_t col;
        int r;

        r = yamlpos_check_key(sc, ev, shown);
        if (r < 0)
                return r;
        r = yamlpos_find_field(config_fields, ev);
        if (r < 0)
                return yamlpos_fail_at_event(sc, ev, "unknown key '%s' (known keys: " KNOWN_KEYS ")", shown);
        k = (enum key_id) r;
        if (s->v[k].present)
                return yamlpos_fail_at_event(sc, ev, "duplicate key '%s' (first set on line %zu)", key_name(k),
                                             s->v[k].key_line);
        yamlpos_mark_position(sc, &ev->start_mark, &s->v[k].key_line, &col);
        s->order[s->n_order++] = k;
        return scan_value(sc, k, &s->v[k]);
}

static int scan_mapping(struct yamlpos_scanner *sc, struct scan *s) {
        for (;;) {
                _cleanup_yaml_event_ yaml_event_t ev = {};
                int r = yamlpos_next_event(sc, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_MAPPING_END_EVENT)
                        return 0;
                r = scan_pair(sc, s, &ev);
                if (r < 0)
                        return r;
        }
}

static int scan_root(struct yamlpos_scanner *sc, const yaml_event_t *ev, void *userdata) {
        struct scan *s = userdata;

        yamlpos_mark_position(sc, &ev->start_mark, &s->root_line, &s->root_column);
        if (ev->type == YAML_SCALAR_EVENT && !ev->data.scalar.tag && yamlpos_scalar_is_null(ev)) {
                s->empty = true;      /* "---" alone, "~": nothing set */
                return 0;
        }
        if (ev->type != YAML_MAPPING_START_EVENT)
                return yamlpos_fail_at(sc->p, s->root_line, s->root_column,
                                       "the top level must be a mapping of keys to values, not %s",
                                       yamlpos_node_kind(ev->type));
        if (ev->data.mapping_start.tag)
                return yamlpos_fail_at_event(sc, ev, "tags are not supported");
        return scan_mapping(sc, s);
}

static int scan_buffer(struct yamlpos_ctx *p, const char *buf, size_t len, struct scan *s) {
        struct yamlpos_scanner sc;
        bool no_document = false;
        int r;

        r = yamlpos_scanner_init(&sc, p, buf, len);
        if (r < 0)
                return r;
        r = yamlpos_scan_stream(&sc, scan_root, s, &no_document);
        yamlpos_scanner_done(&sc);
        if (no_document)
                s->empty = true;      /* empty file, or only comments */
        return r;
}

/* ---- pass 2: libcyaml load ---------------------------------------------------- */

static int cyaml_failure(struct yamlpos_ctx *p, const struct scan *s, const struct yamlpos_cyaml_capture *c,
                         cyaml_err_t err) {
        const char *raw = c->message[0] ? c->message : cyaml_strerror(err);
        char msg[YAMLPOS_SHOWN_SIZE];

        if (err == CYAML_ERR_OOM)
                return -ENOMEM;
        /* libcyaml quotes the value raw: escape it like ours. */
        yamlpos_show_text(msg, raw, strlen(raw));
        for (enum key_id k = 0; k < _KEY_MAX; k++) {
                const struct yamlpos_value *v = &s->v[k];
                char choices[128];

                if (!v->present || !streq(c->field, key_name(k)))
                        continue;
                if (key_type(k) != CYAML_ENUM)
                        return yamlpos_fail_at(p, v->line, v->column, "%s: %s", key_name(k), msg);
                yamlpos_enum_choices(&config_fields[k], choices, sizeof(choices));
                return yamlpos_fail_at(p, v->line, v->column, "%s: expected %s, got '%s'", key_name(k), choices,
                                       v->shown);
        }
        return yamlpos_fail_at(p, s->root_line, s->root_column, "%s", msg);
}

static int load_with_schema(struct yamlpos_ctx *p, const char *buf, size_t len, const struct scan *s,
                            struct yaml_config **ret) {
        struct yamlpos_cyaml_capture capture = {};
        const cyaml_config_t cfg = {
                .log_fn = yamlpos_cyaml_capture_log,
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
static int apply_limit(struct yamlpos_ctx *p, enum key_id k, const struct yamlpos_value *v, const char *text,
                       parse_fn parse, int64_t none, const char *examples, int64_t *ret) {
        int64_t n;
        int r;

        if (v->null || streq(text, "none")) {
                *ret = none;
                return 0;
        }
        r = parse(text, &n);
        if (r == -ERANGE)
                return yamlpos_fail_at(p, v->line, v->column, "%s: '%s' is too large", key_name(k), v->shown);
        if (r < 0)
                return yamlpos_fail_at(p, v->line, v->column, "%s: invalid value '%s' (expected %s, or none)",
                               key_name(k), v->shown, examples);
        *ret = n;
        return 0;
}

/* Absolute, or "~" / "~/..." under $HOME. */
static int apply_parent(struct yamlpos_ctx *p, const struct yamlpos_value *v, const char *text, char **ret) {
        const char *home = getenv("HOME");
        char *s;

        if (v->null)
                return yamlpos_fail_at(p, v->line, v->column, "parent: expected a directory path");
        if (text[0] == '/')
                s = strdup(text);
        else if (streq(text, "~") || strncmp(text, "~/", 2) == 0) {
                if (!home || home[0] != '/')
                        return yamlpos_fail_at(p, v->line, v->column,
                                       "parent: cannot expand '~': $HOME is not an absolute path");
                if (asprintf(&s, "%s%s", home, text + 1) < 0)
                        s = NULL;
        } else
                return yamlpos_fail_at(p, v->line, v->column,
                               "parent: '%s' is not an absolute path (use /... or ~/...)", v->shown);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int apply_prefix(struct yamlpos_ctx *p, const struct yamlpos_value *v, const char *text, char **ret) {
        const char *reason = NULL;
        char *s;

        if (v->null)
                text = "";
        if (names_validate_prefix(text, &reason) < 0)
                return yamlpos_fail_at(p, v->line, v->column, "prefix: '%s' %s", v->shown,
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

static int apply_key(struct yamlpos_ctx *p, enum key_id k, const struct yamlpos_value *v,
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
                        return yamlpos_fail_at(p, v->line, v->column, "words: out of range");
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

static int apply_all(struct yamlpos_ctx *p, const struct scan *s, const struct yaml_config *y,
                     struct config *c) {
        for (size_t i = 0; i < s->n_order; i++) {
                enum key_id k = s->order[i];
                const struct yamlpos_value *v = &s->v[k];
                int r;

                if (!y || !loaded(k, y))
                        return yamlpos_fail_at(p, v->line, v->column, "%s: value could not be loaded", key_name(k));
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

static int parse_into(struct yamlpos_ctx *p, const char *buf, size_t len, struct config *c) {
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
        struct yamlpos_ctx p = { .path = display_path ? display_path : CONFIG_FILE_NAME };
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
        int r = yamlpos_read_fd(fd, CONFIG_MAX_SIZE, ret, ret_len);

        if (r == -EFBIG)
                return load_fail(l, r, "larger than %d KiB", CONFIG_MAX_SIZE / 1024);
        if (r < 0 && r != -ENOMEM) {
                errno = -r;
                return load_fail(l, r, "cannot read: %m");
        }
        return r;
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
