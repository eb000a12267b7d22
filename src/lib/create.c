/* SPDX-License-Identifier: MIT */
/*
 * Creation: trusted parent, mkdirat 0700, marker, register.  If registration
 * fails the directory is left in place and reported, never deleted: it may
 * already be in use by the caller's caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "dir.h"
#include "fault.h"
#include "fsutil.h"
#include "marker.h"
#include "names.h"
#include "platform.h"
#include "sweep.h"
#include "verify.h"

#define CREATE_ATTEMPTS 16

/* Options after defaults are applied (flag > config > built-in). */
struct new_settings {
        int64_t expires_in;        /* 0 = no time limit */
        bool remove_on_restart;
        bool keep_while_in_use;
        enum ephemdir_cleanup cleanup;
        int64_t max_size;
        enum ephemdir_name_style name_style;
        const char *prefix;
        int words;
};

static int validate_tags(ephemdir_ctx *ctx, const char *const *tags, size_t n) {
        if (n > EPHEMDIR_MAX_TAGS)
                return ctx_fail(ctx, -EINVAL, "too many tags (%zu, at most %d)", n, EPHEMDIR_MAX_TAGS);
        for (size_t i = 0; i < n; i++)
                if (!tags[i] || !names_tag_is_valid(tags[i]))
                        return ctx_fail(ctx, -EINVAL,
                                        "invalid tag '%s' (expected [a-z0-9][a-z0-9._-]{0,31})",
                                        tags[i] ? tags[i] : "");
        return 0;
}

/* Flag > config: every field the caller set replaces the config's value.
 * A next-sweep default from the config yields to an explicit lifetime or
 * restart policy (the flag wins); next-sweep asked for explicitly drops
 * the config's lifetime and restart defaults instead. */
static struct ephemdir_new_opts merge_options(const struct ephemdir_new_opts *flags,
                                              const struct ephemdir_new_opts *config) {
        struct ephemdir_new_opts m = *config;

        if (flags->lifetime)
                m.lifetime = flags->lifetime;
        if (flags->remove_on_restart)
                m.remove_on_restart = flags->remove_on_restart;
        if (flags->keep_while_in_use)
                m.keep_while_in_use = flags->keep_while_in_use;
        if (flags->cleanup)
                m.cleanup = flags->cleanup;
        if (flags->max_size)
                m.max_size = flags->max_size;
        if (flags->name_style)
                m.name_style = flags->name_style;
        if (flags->parent)
                m.parent = flags->parent;
        if (flags->prefix)
                m.prefix = flags->prefix;
        if (flags->words)
                m.words = flags->words;
        m.tags = flags->tags;
        m.n_tags = flags->n_tags;
        m.description = flags->description;
        m.origin = flags->origin;

        if (m.cleanup == EPHEMDIR_CLEANUP_NEXT_SWEEP) {
                if (!flags->cleanup && (flags->lifetime > 0 || flags->remove_on_restart == EPHEMDIR_YES))
                        m.cleanup = EPHEMDIR_CLEANUP_AUTO;
                else {
                        if (!flags->lifetime)
                                m.lifetime = 0;
                        if (!flags->remove_on_restart)
                                m.remove_on_restart = 0;
                }
        }
        return m;
}

static int settle_options(ephemdir_ctx *ctx, const struct ephemdir_new_opts *o, struct new_settings *s) {
        const char *reason;

        if (o->lifetime < 0 && o->lifetime != EPHEMDIR_FOREVER)
                return ctx_fail(ctx, -EINVAL, "invalid lifetime %lld", (long long) o->lifetime);
        if (o->max_size < 0 && o->max_size != EPHEMDIR_NO_SIZE_LIMIT)
                return ctx_fail(ctx, -EINVAL, "invalid max size %lld", (long long) o->max_size);

        s->cleanup = o->cleanup ? o->cleanup : EPHEMDIR_CLEANUP_AUTO;
        if (s->cleanup == EPHEMDIR_CLEANUP_NEXT_SWEEP) {
                /* next-sweep entries have no lifetime and no restart policy:
                 * combining them would make "due" mean two things. */
                if (o->lifetime > 0)
                        return ctx_fail(ctx, -EINVAL, "cleanup next-sweep cannot be combined with a lifetime");
                if (o->remove_on_restart == EPHEMDIR_YES)
                        return ctx_fail(ctx, -EINVAL,
                                        "cleanup next-sweep cannot be combined with remove_on_restart");
        }
        s->expires_in = o->lifetime > 0 ? o->lifetime : 0;
        s->remove_on_restart = s->cleanup == EPHEMDIR_CLEANUP_NEXT_SWEEP ? false
                               : o->remove_on_restart != EPHEMDIR_NO;
        s->keep_while_in_use = o->keep_while_in_use == EPHEMDIR_YES;
        s->max_size = o->max_size > 0 ? o->max_size : EPHEMDIR_NO_SIZE_LIMIT;
        s->name_style = o->name_style ? o->name_style : EPHEMDIR_NAME_SECURE;
        s->prefix = o->prefix ? o->prefix : "";
        s->words = o->words ? o->words : 2;

        if (names_validate_prefix(s->prefix, &reason) < 0)
                return ctx_fail(ctx, -EINVAL, "invalid prefix '%s': %s", s->prefix, reason);
        if (names_validate_words(s->words) < 0)
                return ctx_fail(ctx, -EINVAL, "invalid word count %d (expected %d..%d)", s->words,
                                NAMES_MIN_WORDS, NAMES_MAX_WORDS);
        if (o->description && !names_description_is_valid(o->description))
                return ctx_fail(ctx, -EINVAL, "invalid description (at most %d bytes, no control characters)",
                                EPHEMDIR_MAX_DESCRIPTION);
        return validate_tags(ctx, o->tags, o->n_tags);
}

static int open_parent(ephemdir_ctx *ctx, const char *parent_opt, char **ret_parent,
                       int *ret_fd, enum trust_verdict *ret_verdict) {
        _cleanup_free_ char *cwd = NULL, *parent = NULL, *bad = NULL;
        int r;

        if (!parent_opt || parent_opt[0] != '/') {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return ctx_fail(ctx, negative_errno(), "cannot determine the current directory");
        }
        r = path_normalize(parent_opt ? parent_opt : ".", cwd, &parent);
        if (r < 0)
                return ctx_fail(ctx, -EINVAL, "invalid parent '%s'", parent_opt ? parent_opt : ".");
        r = fs_open_trusted_dir(parent, ctx->uid, ret_fd, ret_verdict, &bad);
        if (r == -EPERM || r == -ELOOP)
                return ctx_fail(ctx, -EPERM, "refusing parent %s: %s is %s", parent, bad ? bad : parent,
                                r == -ELOOP ? "a symlink" : "not owned and controlled by you or root");
        if (r < 0)
                return ctx_fail(ctx, r, "cannot open parent %s: %s", parent, strerror(-r));
        *ret_parent = TAKE_PTR(parent);
        return 0;
}

/* mkdirat under a fresh name; EEXIST means someone holds that name: pick
 * another rather than reuse anything that already exists. */
/* A name for this attempt: the exact name asked for (rules), with a random
 * token appended for the secure style, or a generated one. */
static int pick_name(const struct new_settings *s, const char *exact_name, bool with_token, char **ret) {
        char token[MARKER_ID_LEN + 1];

        if (!exact_name)
                return names_generate(s->prefix, s->words, with_token, ret);
        if (!with_token)
                return (*ret = strdup(exact_name)) ? 0 : -ENOMEM;
        int r = marker_new_id(token);
        if (r < 0)
                return r;
        return asprintf(ret, "%s-%.*s", exact_name, NAMES_TOKEN_HEX, token) < 0 ? -ENOMEM : 0;
}

static int make_directory(ephemdir_ctx *ctx, int parent_fd, const struct new_settings *s,
                          const char *exact_name, bool with_token, char **ret_name, int *ret_fd) {
        for (int attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
                _cleanup_free_ char *name = NULL;
                int r = pick_name(s, exact_name, with_token, &name);
                if (r < 0)
                        return ctx_fail(ctx, r, "generating a name: %s", strerror(-r));
                if (mkdirat(parent_fd, name, 0700) < 0) {
                        /* An exact clean name that exists is not ours to take. */
                        if (errno == EEXIST && exact_name && !with_token)
                                return ctx_fail(ctx, -EEXIST, "%s already exists in the parent", name);
                        if (errno == EEXIST)
                                continue;
                        return ctx_fail(ctx, negative_errno(), "creating %s: %m", name);
                }
                int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return ctx_fail(ctx, negative_errno(), "opening new directory %s: %m", name);
                /* umask may have narrowed 0700 further; never widened. */
                if (fchmod(fd, 0700) < 0) {
                        safe_close(fd);
                        return ctx_fail(ctx, negative_errno(), "chmod %s: %m", name);
                }
                *ret_name = TAKE_PTR(name);
                *ret_fd = fd;
                return 0;
        }
        return ctx_fail(ctx, -EEXIST, "no free name after %d attempts", CREATE_ATTEMPTS);
}

static int copy_tags(const char *const *tags, size_t n, char ***ret) {
        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        char **v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(v[i] = strdup(tags[i]))) {
                        for (size_t j = 0; j < i; j++)
                                free(v[j]);
                        free(v);
                        return -ENOMEM;
                }
        *ret = v;
        return 0;
}

static int fill_entry(ephemdir_ctx *ctx, const struct ephemdir_new_opts *o, const struct new_settings *s,
                      const char *parent, const char *name, const char *marker_id,
                      enum ephemdir_name_style style, const struct statx *stx, struct entry *e) {
        int64_t now = platform_now();

        *e = (struct entry) {
                .dev = (uint64_t) makedev(stx->stx_dev_major, stx->stx_dev_minor),
                .ino = stx->stx_ino,
                .birth_ns = verify_birth_ns(stx),
                .created_at = now,
                .expires_at = s->expires_in ? now + s->expires_in : 0,
                .remove_on_restart = s->remove_on_restart,
                .keep_while_in_use = s->keep_while_in_use,
                .cleanup = s->cleanup,
                .max_size = s->max_size,
                .name_style = style,
                .state = ENTRY_ACTIVE,
        };
        if (asprintf(&e->path, "%s%s%s", parent, streq(parent, "/") ? "" : "/", name) < 0) {
                e->path = NULL;
                return -ENOMEM;
        }
        e->name = strdup(name);
        e->parent = strdup(parent);
        e->marker_id = strdup(marker_id);
        e->boot_id = strdup(ctx->boot_id);
        e->origin = strdup(o->origin ? o->origin : "api");
        e->description = o->description ? strdup(o->description) : NULL;
        if (!e->name || !e->parent || !e->marker_id || !e->boot_id || !e->origin ||
            (o->description && !e->description))
                return -ENOMEM;
        return copy_tags(o->tags, o->n_tags, &e->tags);
}

int create_directory(ephemdir_ctx *ctx, const struct ephemdir_new_opts *opts, const char *exact_name,
                     bool lazy_sweep, struct entry *ret) {
        _cleanup_free_ char *parent = NULL, *name = NULL;
        _cleanup_close_ int parent_fd = -1, dir_fd = -1;
        char marker_id[MARKER_ID_LEN + 1];
        enum trust_verdict verdict;
        struct new_settings s = {};
        struct entry e = {};
        struct statx stx;
        int r;

        r = settle_options(ctx, opts, &s);
        if (r < 0)
                return r;
        r = open_parent(ctx, opts->parent, &parent, &parent_fd, &verdict);
        if (r < 0)
                return r;

        /* Clean names are guessable: only where nobody else can create entries. */
        enum ephemdir_name_style style = s.name_style;
        if (style == EPHEMDIR_NAME_AUTO)
                style = verdict == TRUST_PRIVATE ? EPHEMDIR_NAME_CLEAN : EPHEMDIR_NAME_SECURE;
        if (style == EPHEMDIR_NAME_CLEAN && verdict != TRUST_PRIVATE)
                return ctx_fail(ctx, -EINVAL, "clean names need an owner-private parent; %s is shared", parent);

        if (lazy_sweep)
                sweep_lazy(ctx);

        r = make_directory(ctx, parent_fd, &s, exact_name, style == EPHEMDIR_NAME_SECURE, &name, &dir_fd);
        if (r < 0)
                return r;
        r = marker_new_id(marker_id);
        if (r >= 0)
                r = marker_write(dir_fd, marker_id);
        if (r >= 0 && statx(dir_fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO | STATX_BTIME, &stx) < 0)
                r = negative_errno();
        if (r < 0)
                return ctx_fail(ctx, r, "created %s/%s but could not write its marker: %s (left in place)",
                                parent, name, strerror(-r));

        r = fill_entry(ctx, opts, &s, parent, name, marker_id, style, &stx, &e);
        if (r >= 0)
                r = registry_insert(ctx->reg, &e);
        if (r < 0) {
                ctx_fail(ctx, r, "created %s but could not register it: %s (left in place)",
                         e.path ? e.path : name, r == -ENOMEM ? strerror(ENOMEM) : registry_error(ctx->reg));
                entry_done(&e);
                return r;
        }
        fault_point("after-register");
        (void) registry_stat_add(ctx->reg, "created", 1);
        ctx_log(ctx, EPHEMDIR_LOG_INFO, "created %s", e.path);
        *ret = e;
        return 0;
}

int ephemdir_new(ephemdir_ctx *ctx, const struct ephemdir_new_opts *opts, ephemdir_dir **ret) {
        static const struct ephemdir_new_opts no_opts;
        const struct config *cfg;
        struct entry e = {};

        ctx_clear_error(ctx);
        int r = ctx_config(ctx, &cfg);
        if (r < 0)
                return r;
        struct ephemdir_new_opts merged = merge_options(opts ? opts : &no_opts, &cfg->defaults);
        r = create_directory(ctx, &merged, NULL, true, &e);
        if (r < 0)
                return r;
        if (!ret) {
                entry_done(&e);
                return 0;
        }
        return dir_new_handle(ctx, &e, ret);
}
