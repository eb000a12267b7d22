/* SPDX-License-Identifier: MIT */
/*
 * Handles and target operations: remove, keep, extend, prune.  A handle
 * pins an identity (row id + marker id); every action re-reads the row and
 * acts only if it is still that identity, so a stale handle can never touch
 * a replacement created later at the same path.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "delete.h"
#include "dir.h"
#include "lock.h"
#include "marker.h"
#include "platform.h"
#include "verify.h"

int dir_new_handle(ephemdir_ctx *ctx, struct entry *e, ephemdir_dir **ret) {
        ephemdir_dir *d = calloc(1, sizeof(*d));
        if (!d) {
                entry_done(e);
                return -ENOMEM;
        }
        d->ctx = ctx;
        d->e = *e;
        *e = (struct entry) {};
        *ret = d;
        return 0;
}

const char *ephemdir_dir_path(const ephemdir_dir *d) {
        return d->e.path;
}
const char *ephemdir_dir_name(const ephemdir_dir *d) {
        return d->e.name;
}
int64_t ephemdir_dir_created_at(const ephemdir_dir *d) {
        return d->e.created_at;
}
int64_t ephemdir_dir_expires_at(const ephemdir_dir *d) {
        return d->e.expires_at;
}

void ephemdir_dir_free(ephemdir_dir *d) {
        if (!d)
                return;
        entry_done(&d->e);
        free(d);
}

/* The current row for a pinned identity: -ENOENT when it is gone (removed,
 * kept), -ESTALE when the row now describes something else. */
static int reload(ephemdir_ctx *ctx, const struct entry *pinned, struct entry *ret) {
        struct entry now = {};

        int r = registry_get_by_id(ctx->reg, pinned->id, &now);
        if (r < 0)
                return r;
        if (!streq_ptr(now.marker_id, pinned->marker_id) || !streq(now.path, pinned->path)) {
                entry_done(&now);
                return -ESTALE;
        }
        *ret = now;
        return 0;
}

static int busy_error(ephemdir_ctx *ctx, const struct entry *e) {
        if (e->state == ENTRY_DELETING)
                return ctx_fail(ctx, -EBUSY, "%s is being deleted", e->path);
        return ctx_fail(ctx, -EBUSY, "%s has an interrupted deletion; see `ephemdir recover %s`",
                        e->path, e->name);
}

static int remove_entry(ephemdir_ctx *ctx, const struct entry *e) {
        struct sweep_sink sink = {};

        if (e->state != ENTRY_ACTIVE)
                return busy_error(ctx, e);
        int r = deletion_run(ctx, e, "removed", "removed", &sink);
        if (r == -ENOENT)
                return ctx_fail(ctx, r, "%s is missing from disk (still tracked; `ephemdir prune` forgets it)",
                                e->path);
        if (r == -ESTALE)
                return ctx_fail(ctx, r, "%s is not the directory ephemdir created (replaced or marker changed); left alone",
                                e->path);
        if (r == -EBUSY)
                return ctx_fail(ctx, r, "%s changed or is being deleted by another process", e->path);
        return r;
}

/* keep: forget the row (CAS, so it cannot race a claim), then drop our
 * marker from the directory if it is still the one we created. */
static int keep_entry(ephemdir_ctx *ctx, const struct entry *e) {
        _cleanup_close_ int dir_fd = -1;

        if (e->state != ENTRY_ACTIVE)
                return busy_error(ctx, e);
        int r = registry_forget(ctx->reg, e->id, e->version);
        if (r == -ESTALE)
                return ctx_fail(ctx, -EBUSY, "%s changed concurrently (being deleted?); not kept", e->path);
        if (r < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        (void) registry_stat_add(ctx->reg, "kept", 1);
        if (verify_entry(ctx, e, VERIFY_SKIP_GUARD, NULL, &dir_fd) == 0)
                (void) unlinkat(dir_fd, MARKER_NAME, 0);
        ctx_clear_error(ctx);
        return 0;
}

static int extend_entry(ephemdir_ctx *ctx, struct entry *e, int64_t seconds) {
        int64_t expires_at;

        if (seconds <= 0 && seconds != EPHEMDIR_FOREVER)
                return ctx_fail(ctx, -EINVAL, "invalid lifetime %lld", (long long) seconds);
        if (e->state != ENTRY_ACTIVE)
                return busy_error(ctx, e);
        if (e->cleanup == EPHEMDIR_CLEANUP_NEXT_SWEEP && seconds != EPHEMDIR_FOREVER)
                return ctx_fail(ctx, -EINVAL, "%s is cleaned at the next sweep; it has no lifetime to extend",
                                e->path);
        expires_at = seconds == EPHEMDIR_FOREVER ? 0 : platform_now() + seconds;
        int r = registry_set_expiry(ctx->reg, e->id, e->version, expires_at, &e->version);
        if (r == -ESTALE)
                return ctx_fail(ctx, -EBUSY, "%s changed concurrently (being deleted?); not extended", e->path);
        if (r < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        e->expires_at = expires_at;
        return 0;
}

int ephemdir_dir_remove(ephemdir_dir *d) {
        struct entry cur = {};

        ctx_clear_error(d->ctx);
        int r = reload(d->ctx, &d->e, &cur);
        if (r < 0)
                return ctx_fail(d->ctx, r, "%s is no longer tracked by this handle", d->e.path);
        r = remove_entry(d->ctx, &cur);
        entry_done(&cur);
        if (r == 0)
                d->done = true;
        return r;
}

int ephemdir_dir_keep(ephemdir_dir *d) {
        struct entry cur = {};

        ctx_clear_error(d->ctx);
        int r = reload(d->ctx, &d->e, &cur);
        if (r < 0)
                return ctx_fail(d->ctx, r, "%s is no longer tracked by this handle", d->e.path);
        r = keep_entry(d->ctx, &cur);
        entry_done(&cur);
        if (r == 0)
                d->done = true;
        return r;
}

int ephemdir_dir_extend(ephemdir_dir *d, int64_t seconds) {
        struct entry cur = {};

        ctx_clear_error(d->ctx);
        int r = reload(d->ctx, &d->e, &cur);
        if (r < 0)
                return ctx_fail(d->ctx, r, "%s is no longer tracked by this handle", d->e.path);
        r = extend_entry(d->ctx, &cur, seconds);
        if (r == 0) {
                d->e.expires_at = cur.expires_at;
                d->e.version = cur.version;
        }
        entry_done(&cur);
        return r;
}

void ephemdir_dir_scope_end(ephemdir_dir **dp) {
        ephemdir_dir *d = *dp;

        if (!d)
                return;
        /* Kept (here or by anyone else first) means the row is gone: then
         * remove finds nothing and does nothing. */
        if (!d->done)
                (void) ephemdir_dir_remove(d);
        ephemdir_dir_free(d);
        *dp = NULL;
}

/* ---- by target --------------------------------------------------------- */

int ephemdir_resolve(ephemdir_ctx *ctx, const char *target, ephemdir_dir **ret) {
        struct entry e = {};

        ctx_clear_error(ctx);
        int r = resolve_entry(ctx, target, &e);
        if (r < 0)
                return r;
        return dir_new_handle(ctx, &e, ret);
}

int ephemdir_last(ephemdir_ctx *ctx, ephemdir_dir **ret) {
        struct entry e = {};

        ctx_clear_error(ctx);
        int r = registry_get_last(ctx->reg, &e);
        if (r == -ENOENT)
                return ctx_fail(ctx, r, "no tracked directories");
        if (r < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        return dir_new_handle(ctx, &e, ret);
}

static int with_target(ephemdir_ctx *ctx, const char *target,
                       int (*op)(ephemdir_ctx *, struct entry *, int64_t), int64_t arg) {
        struct entry e = {};

        ctx_clear_error(ctx);
        int r = resolve_entry(ctx, target, &e);
        if (r < 0)
                return r;
        r = op(ctx, &e, arg);
        entry_done(&e);
        return r;
}

static int op_remove(ephemdir_ctx *ctx, struct entry *e, int64_t unused) {
        return remove_entry(ctx, e);
}
static int op_keep(ephemdir_ctx *ctx, struct entry *e, int64_t unused) {
        return keep_entry(ctx, e);
}

int ephemdir_remove(ephemdir_ctx *ctx, const char *target) {
        return with_target(ctx, target, op_remove, 0);
}
int ephemdir_keep(ephemdir_ctx *ctx, const char *target) {
        return with_target(ctx, target, op_keep, 0);
}
int ephemdir_extend(ephemdir_ctx *ctx, const char *target, int64_t seconds) {
        return with_target(ctx, target, extend_entry, seconds);
}

static int forget_interrupted(ephemdir_ctx *ctx, const struct entry *e) {
        _cleanup_close_ int lock_fd = -1;

        /* Under the deletion lock: a process mid-deletion keeps its entry. */
        int r = entry_lock_try(ctx, e->id, &lock_fd);
        if (r == -EBUSY)
                return ctx_fail(ctx, r, "%s is being deleted by another process right now", e->path);
        if (r < 0)
                return ctx_fail(ctx, r, "locking %s: %s", e->path, strerror(-r));
        r = registry_forget_any(ctx->reg, e->id, e->version);
        entry_lock_release(ctx, e->id, TAKE_FD(lock_fd), r == 0);
        if (r < 0)
                return ctx_fail(ctx, r == -ESTALE ? -EBUSY : r, "%s changed concurrently; not forgotten", e->path);
        ctx_log(ctx, EPHEMDIR_LOG_NOTICE, "forgot %s (staging path %s left as it is)", e->path,
                e->staging_path ? e->staging_path : "-");
        return 0;
}

static int recover_entry(ephemdir_ctx *ctx, struct entry *e, int64_t forget) {
        struct sweep_sink sink = {};
        struct entry after = {};

        if (e->state == ENTRY_ACTIVE)
                return ctx_fail(ctx, -EALREADY, "%s is not mid-deletion; nothing to recover", e->path);
        if (forget)
                return forget_interrupted(ctx, e);

        int r = deletion_recover(ctx, e, true, &sink);
        if (r == -EBUSY)
                return ctx_fail(ctx, r, "%s is being deleted by another process right now", e->path);
        if (r < 0)
                return *ephemdir_last_error(ctx) ? r : ctx_fail(ctx, r, "recovering %s: %s", e->path, strerror(-r));

        /* Interrupted before the rename: the claim was released and the
         * directory verified; finish the deletion that was asked for. */
        r = registry_get_by_id(ctx->reg, e->id, &after);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        r = after.state == ENTRY_ACTIVE ? deletion_run(ctx, &after, "recovered", "removed", &sink)
                                        : ctx_fail(ctx, -EBUSY, "%s is still parked", e->path);
        entry_done(&after);
        return r;
}

int ephemdir_recover(ephemdir_ctx *ctx, const char *target, bool forget) {
        return with_target(ctx, target, recover_entry, forget);
}

int ephemdir_keep_tag(ephemdir_ctx *ctx, const char *tag) {
        struct entry *rows = NULL;
        size_t n = 0;
        int count = 0, r;

        ctx_clear_error(ctx);
        r = registry_list_by_state(ctx->reg, ENTRY_ACTIVE, &rows, &n);
        if (r < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        for (size_t i = 0; i < n && r >= 0; i++) {
                bool tagged = false;
                for (char **t = rows[i].tags; t && *t; t++)
                        tagged = tagged || streq(*t, tag);
                if (!tagged)
                        continue;
                r = keep_entry(ctx, &rows[i]);
                if (r == 0)
                        count++;
        }
        entry_free_array(rows, n);
        return r < 0 ? r : count;
}

int ephemdir_prune(ephemdir_ctx *ctx) {
        struct entry *rows = NULL;
        size_t n = 0;
        int count = 0;

        ctx_clear_error(ctx);
        int r = registry_list_by_state(ctx->reg, ENTRY_ACTIVE, &rows, &n);
        if (r < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        for (size_t i = 0; i < n; i++) {
                /* Only a verified absence counts: an unreadable parent is not "missing". */
                if (verify_entry(ctx, &rows[i], VERIFY_SKIP_GUARD | VERIFY_ALLOW_LEGACY, NULL, NULL) != -ENOENT)
                        continue;
                if (registry_forget(ctx->reg, rows[i].id, rows[i].version) == 0) {
                        ctx_log(ctx, EPHEMDIR_LOG_INFO, "forgot missing %s", rows[i].path);
                        count++;
                }
        }
        entry_free_array(rows, n);
        ctx_clear_error(ctx);
        return count;
}
