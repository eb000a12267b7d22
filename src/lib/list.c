/* SPDX-License-Identifier: MIT */
/* Listing: registry rows plus what the disk says about each of them. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "dirsize.h"
#include "fsutil.h"
#include "inuse.h"
#include "platform.h"
#include "policy.h"
#include "verify.h"

static const char *const status_words[_EPHEMDIR_STATUS_MAX] = {
        [EPHEMDIR_STATUS_ACTIVE] = "active",
        [EPHEMDIR_STATUS_EXPIRING] = "expiring",
        [EPHEMDIR_STATUS_EXPIRED] = "expired",
        [EPHEMDIR_STATUS_UNTIL_RESTART] = "until-restart",
        [EPHEMDIR_STATUS_UNTIL_SWEEP] = "until-sweep",
        [EPHEMDIR_STATUS_KEPT] = "kept",
        [EPHEMDIR_STATUS_MISSING] = "missing",
        [EPHEMDIR_STATUS_REPLACED] = "replaced",
        [EPHEMDIR_STATUS_LEGACY] = "legacy",
        [EPHEMDIR_STATUS_DELETING] = "deleting",
        [EPHEMDIR_STATUS_RECOVERY] = "recovery",
        [EPHEMDIR_STATUS_UNAVAILABLE] = "unavailable",
        [EPHEMDIR_STATUS_BLOCKED] = "blocked",
};

const char *ephemdir_status_word(enum ephemdir_status s) {
        if ((unsigned) s >= _EPHEMDIR_STATUS_MAX)
                return "unknown";
        return status_words[s];
}

/* Status from policy alone, for an entry whose directory verified. */
static enum ephemdir_status policy_status(const struct entry *e, const struct policy_env *env) {
        if (policy_due(e, env))
                return EPHEMDIR_STATUS_EXPIRED;
        if (e->cleanup == EPHEMDIR_CLEANUP_NEXT_SWEEP)
                return EPHEMDIR_STATUS_UNTIL_SWEEP;
        if (e->expires_at != 0)
                return policy_remaining(e, env->now) < POLICY_EXPIRING_SOON ? EPHEMDIR_STATUS_EXPIRING
                                                                             : EPHEMDIR_STATUS_ACTIVE;
        if (e->remove_on_restart)
                return EPHEMDIR_STATUS_UNTIL_RESTART;
        return EPHEMDIR_STATUS_KEPT;
}

/* For an entry mid-deletion: does anything stand at the original path, and
 * at the staging path?  (-1: cannot tell, e.g. untrusted parent.) */
static void probe_names(ephemdir_ctx *ctx, const struct entry *e, bool *ret_exists, int *ret_staging) {
        _cleanup_free_ char *parent = NULL, *name = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;

        *ret_exists = false;
        *ret_staging = -1;
        if (path_split(e->path, &parent, &name) < 0 ||
            fs_open_trusted_dir(parent, ctx->uid, &fd, NULL, NULL) < 0)
                return;
        *ret_exists = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (e->staging_path) {
                const char *slash = strrchr(e->staging_path, '/');
                *ret_staging = fstatat(fd, slash ? slash + 1 : e->staging_path, &st, AT_SYMLINK_NOFOLLOW) == 0;
        }
}

/* Entries mostly share a few parents: walk each trusted parent chain once
 * per listing instead of once per entry, and read its mount id once. */
struct parent_cache {
        char *path;
        int fd;         /* or a negative errno from the walk */
        uint64_t mnt_id;
        bool have_mnt_id;
};

static void parent_cache_done(struct parent_cache *c) {
        free(c->path);
        if (c->fd >= 0)
                safe_close(c->fd);
        *c = (struct parent_cache) { .fd = -EBADF };
}

static int cached_parent(ephemdir_ctx *ctx, struct parent_cache *c, const char *path) {
        _cleanup_free_ char *parent = NULL, *name = NULL;

        if (path_split(path, &parent, &name) < 0)
                return -EPERM;
        if (c->path && streq(c->path, parent))
                return c->fd;
        parent_cache_done(c);
        int r = fs_open_trusted_dir(parent, ctx->uid, &c->fd, NULL, NULL);
        if (r < 0)
                c->fd = r == -ELOOP ? -EPERM : r;
        else
                c->have_mnt_id = fs_mount_id(c->fd, &c->mnt_id, NULL) == 0;
        c->path = TAKE_PTR(parent);
        return c->fd;
}

/* A listing checks identity with one statx per entry (dev, ino, birth time,
 * mount): at 10,000 entries, opening each directory and reading its marker
 * was most of the listing's time.  The marker is read (in full, as a
 * deletion would) only when asked: for entries that are due. */
static int verify_cached(ephemdir_ctx *ctx, struct parent_cache *c, const struct entry *e, bool with_marker) {
        int fd = cached_parent(ctx, c, e->path);
        if (fd < 0)
                return fd;
        if (c->have_mnt_id && !with_marker) {
                int r = verify_identity_at(e, fd, c->mnt_id);
                if (r != -EOPNOTSUPP)
                        return r;
        }
        return verify_entry_in(e, VERIFY_SKIP_GUARD | VERIFY_ALLOW_LEGACY, fd, NULL);
}

static bool status_is_due(enum ephemdir_status s) {
        return s == EPHEMDIR_STATUS_EXPIRED || s == EPHEMDIR_STATUS_UNTIL_SWEEP;
}

static enum ephemdir_status entry_status(ephemdir_ctx *ctx, struct parent_cache *pc, const struct entry *e,
                                         const struct policy_env *env, bool *ret_exists, int *ret_staging) {
        *ret_exists = true;
        *ret_staging = -1;
        if (e->state != ENTRY_ACTIVE) {
                probe_names(ctx, e, ret_exists, ret_staging);
                return e->state == ENTRY_DELETING ? EPHEMDIR_STATUS_DELETING : EPHEMDIR_STATUS_RECOVERY;
        }

        enum ephemdir_status due = e->marker_id ? policy_status(e, env) : EPHEMDIR_STATUS_LEGACY;
        /* What the next sweep acts on gets the marker check too, so an entry
         * the sweep would refuse shows as replaced rather than as due. */
        int r = verify_cached(ctx, pc, e, status_is_due(due));
        switch (r) {
        case 0:
                return due;
        case -ENOENT:
        case -ENOTDIR:
                *ret_exists = false;
                return EPHEMDIR_STATUS_MISSING;
        case -ESTALE:
                return EPHEMDIR_STATUS_REPLACED;
        case -EXDEV:
        case -EOPNOTSUPP:
                return EPHEMDIR_STATUS_BLOCKED;
        default:
                return EPHEMDIR_STATUS_UNAVAILABLE;
        }
}

static char *strdup_or_null(const char *s, bool *oom) {
        if (!s)
                return NULL;
        char *c = strdup(s);
        if (!c)
                *oom = true;
        return c;
}

static void info_done(struct ephemdir_info *i) {
        free(i->path);
        free(i->name);
        free(i->parent);
        for (char **t = i->tags; t && *t; t++)
                free(*t);
        free(i->tags);
        free(i->description);
        free(i->origin);
        free(i->lifecycle_state);
        free(i->staging_path);
}

/* The info of one registry row; its strings move from e to the info. */
static int fill_info(ephemdir_ctx *ctx, struct parent_cache *pc, struct entry *e,
                     const struct policy_env *env, struct ephemdir_info *i) {
        bool oom = false;

        *i = (struct ephemdir_info) {
                .created_at = e->created_at,
                .expires_at = e->expires_at,
                .remaining_seconds = policy_remaining(e, env->now),
                .remove_on_restart = e->remove_on_restart,
                .keep_while_in_use = e->keep_while_in_use,
                .cleanup = e->cleanup,
                .max_size = e->max_size,
                .name_style = e->name_style,
        };
        i->status = entry_status(ctx, pc, e, env, &i->exists, &i->staging_exists);
        i->lifecycle_state = strdup_or_null(entry_state_word(e->state), &oom);
        if (oom) {
                info_done(i);
                return -ENOMEM;
        }
        i->path = TAKE_PTR(e->path);
        i->name = TAKE_PTR(e->name);
        i->parent = TAKE_PTR(e->parent);
        i->tags = TAKE_PTR(e->tags);
        i->description = TAKE_PTR(e->description);
        i->origin = TAKE_PTR(e->origin);
        i->staging_path = TAKE_PTR(e->staging_path);
        return 0;
}

int ephemdir_measure(ephemdir_ctx *ctx, const char *path, int64_t *ret_bytes, bool *ret_complete) {
        static const struct dirsize_budget budget = {
                .max_entries = POLICY_SIZE_MAX_ENTRIES,
                .max_usec = POLICY_SIZE_MAX_USEC,
        };
        _cleanup_close_ int dir_fd = -1;
        struct dirsize_result res;
        struct entry e = {};

        ctx_clear_error(ctx);
        int r = registry_get_by_path(ctx->reg, path, &e);
        if (r < 0)
                return ctx_fail(ctx, r, "%s is not tracked", path);
        r = e.state == ENTRY_ACTIVE ? verify_entry(ctx, &e, VERIFY_SKIP_GUARD, NULL, &dir_fd) : -EBUSY;
        entry_done(&e);
        if (r < 0)
                return r;
        r = dirsize_measure(dir_fd, &budget, &res);
        if (r < 0)
                return r;
        *ret_bytes = (int64_t) res.bytes;
        *ret_complete = res.complete;
        return 0;
}

void ephemdir_info_free_array(struct ephemdir_info *items, size_t n) {
        for (size_t i = 0; i < n; i++)
                info_done(&items[i]);
        free(items);
}

/* One /proc scan for the whole listing, and only when some entry asks for
 * in-use protection. */
static void fill_in_use(ephemdir_ctx *ctx, struct ephemdir_info *items, size_t n) {
        _cleanup_(inuse_snapshot_freep) struct inuse_snapshot *snap = NULL;
        bool scanned = false;

        for (size_t i = 0; i < n; i++) {
                struct ephemdir_info *it = &items[i];
                if (!it->keep_while_in_use || !it->exists || streq(it->lifecycle_state, "deleting"))
                        continue;
                if (!scanned) {
                        scanned = true;
                        if (inuse_scan(ctx->uid, &snap) < 0)
                                snap = NULL;
                }
                const char *paths[] = { it->path };
                pid_t pid = 0;
                enum inuse_verdict v = snap ? inuse_check(snap, paths, 1, &pid, it->in_use_comm) : INUSE_UNKNOWN;
                it->in_use_pid = v == INUSE_BUSY ? (int) pid : v == INUSE_UNKNOWN ? -1 : 0;
                if (v != INUSE_BUSY)
                        it->in_use_comm[0] = 0;
        }
}

int ephemdir_list(ephemdir_ctx *ctx, struct ephemdir_info **ret_items, size_t *ret_n) {
        /* As a scheduled sweep would judge, minus next-sweep entries, which
         * are shown as waiting for it rather than as overdue. */
        struct policy_env env = { .now = platform_now(), .boot_id = ctx->boot_id, .mode = POLICY_LAZY };
        struct entry *rows = NULL;
        size_t n = 0;

        ctx_clear_error(ctx);
        int r = registry_list_all(ctx->reg, &rows, &n);
        if (r < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        struct ephemdir_info *items = calloc(n ? n : 1, sizeof(*items));
        if (!items) {
                entry_free_array(rows, n);
                return -ENOMEM;
        }
        struct parent_cache pc = { .fd = -EBADF };
        for (size_t i = 0; i < n; i++) {
                r = fill_info(ctx, &pc, &rows[i], &env, &items[i]);
                if (r < 0) {
                        parent_cache_done(&pc);
                        ephemdir_info_free_array(items, i);
                        entry_free_array(rows, n);
                        return r;
                }
        }
        parent_cache_done(&pc);
        entry_free_array(rows, n);
        fill_in_use(ctx, items, n);
        ctx_clear_error(ctx);
        *ret_items = items;
        *ret_n = n;
        return 0;
}
