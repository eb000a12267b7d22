/* SPDX-License-Identifier: MIT */
/*
 * The deletion path.  Every removal (sweep, rm, scope end, apply) goes
 * through deletion_run(), which reads top to bottom:
 *
 *   1. verify   the name still is the directory we created (verify.c), before
 *               any side effect: parent chain trusted, inode, not a mount
 *               point, marker id
 *   2. lock     the entry's OS deletion lock (lock.c)
 *   3. claim    registry CAS: ACTIVE@version -> DELETING, claim id and staging
 *               path recorded durably *before* anything moves on disk
 *   4. recheck  the name still points at the object verified in step 1
 *   5. stage    renameat2(NOREPLACE) to .<name>.ephemdir-deleting-<claim> in
 *               the same parent, then check the staging name is our object
 *   6. delete   contents through dir fds only, never crossing a mount
 *               (fsutil.c), then rmdir the staging directory
 *   7. commit   delete the row iff it still holds our claim
 *
 * The lock is taken before the claim, not after: recovery takes over any
 * DELETING row whose lock is free, so a claim made without the lock already
 * held could be "recovered" by a second process while the first is still
 * working on it.
 *
 * A crash anywhere leaves the row DELETING with its lock released by the
 * kernel; deletion_recover() in the next sweep finishes it, or parks it in
 * RECOVERY when the situation is ambiguous.  Nothing is ever renamed back
 * over the original path, where something new may stand by then.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "fault.h"
#include "fsutil.h"
#include "guard.h"
#include "inuse.h"
#include "lock.h"
#include "marker.h"
#include "delete.h"
#include "rmtree.h"
#include "verify.h"

/* Staging names keep a readable piece of the original name; bounded so the
 * result stays under NAME_MAX whatever the original length. */
#define STAGING_NAME_KEEP 128

static void emit(struct sweep_sink *sink, enum ephemdir_event_kind kind, const struct entry *e,
                 const char *reason, const char *detail, int err) {
        if (kind == EPHEMDIR_EVENT_FAILED || kind == EPHEMDIR_EVENT_PARKED)
                sink->failures++;
        if (!sink->cb)
                return;
        struct ephemdir_event ev = {
                .kind = kind,
                .path = e->path,
                .name = e->name,
                .reason = reason,
                .detail = detail,
                .error = err,
        };
        sink->cb(&ev, sink->userdata);
}

static unsigned fd_budget(void) {
        struct rlimit rl;

        /* Leave most of the table to the caller; deep trees re-enter
         * ancestors through ".." instead of holding an fd per level. */
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return 64;
        rlim_t b = rl.rlim_cur / 4;
        return b < 8 ? 8 : b > 256 ? 256 : (unsigned) b;
}

static void fault_mid_delete(void) {
        fault_point("mid-delete");
}

static void fault_mid_parallel_delete(void) {
        fault_point("mid-parallel-delete");
}

static int staging_name_for(const char *name, const char *claim_id, char **ret) {
        if (asprintf(ret, ".%.*s.ephemdir-deleting-%s", STAGING_NAME_KEEP, name, claim_id) < 0)
                return -ENOMEM;
        return 0;
}

/* "/a/b" + "c" -> "/a/c"; "/b" + "c" -> "/c". */
static char *sibling_path(const char *path, const char *name) {
        const char *slash = strrchr(path, '/');
        char *s = NULL;

        if (asprintf(&s, "%.*s/%s", slash ? (int) (slash - path) : 0, path, name) < 0)
                return NULL;
        return s;
}

static const char *basename_of(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

/* Park an entry that needs a human: the claim stays recorded, the staging
 * path is kept, and nothing more is touched until `ephemdir recover`. */
static void park(ephemdir_ctx *ctx, const struct entry *e, const char *claim_id,
                 const char *reason, struct sweep_sink *sink) {
        (void) registry_release_claim(ctx->reg, e->id, claim_id, ENTRY_RECOVERY);
        ctx_log(ctx, EPHEMDIR_LOG_WARNING, "%s: parked for recovery (%s)", e->path, reason);
        emit(sink, EPHEMDIR_EVENT_PARKED, e, reason, ephemdir_last_error(ctx), -EBUSY);
}

/* Steps 6 and 7, shared by a fresh deletion and by recovery: dir_fd is the
 * verified staged directory, staging_name its name in parent_fd. */
static int delete_staged(ephemdir_ctx *ctx, const struct entry *e, const char *claim_id,
                         int parent_fd, int dir_fd, const char *staging_name,
                         const char *stat_key, struct sweep_sink *sink) {
        int r;

        /* Big trees are shared among worker threads, small ones never start
         * one (rmtree.h); the crash hook still fires on this thread. */
        struct rm_opts rm = {
                .max_open_fds = fd_budget(),
                .max_workers = fs_remove_default_workers(),
                .workers_after = RM_WORKERS_AFTER,
                .offer_min_size = RM_OFFER_MIN_DIR_SIZE,
                .fault_mid_delete = fault_mid_delete,
                .fault_while_shared = fault_mid_parallel_delete,
        };
        r = fs_remove_contents_opts(dir_fd, &rm, NULL);
        if (r == -EXDEV || r == -ESTALE) {
                ctx_fail(ctx, r, "%s inside %s", r == -EXDEV ? "a mount point stands" :
                         "a directory was moved or replaced", e->staging_path ? e->staging_path : e->path);
                park(ctx, e, claim_id, r == -EXDEV ? "mount-point" : "identity-changed", sink);
                return r;
        }
        if (r < 0) {
                /* Left DELETING: the next sweep's recovery pass retries. */
                ctx_fail(ctx, r, "deleting contents of %s: %s", staging_name, strerror(-r));
                emit(sink, EPHEMDIR_EVENT_FAILED, e, "delete-failed", ephemdir_last_error(ctx), r);
                return r;
        }

        /* The staging name must still be our (now empty) directory. */
        r = verify_name_is(parent_fd, staging_name, e);
        if (r == 0 && unlinkat(parent_fd, staging_name, AT_REMOVEDIR) < 0)
                r = negative_errno();
        if (r < 0 && r != -ENOENT) {
                ctx_fail(ctx, r, "removing staging directory %s: %s", staging_name, strerror(-r));
                emit(sink, EPHEMDIR_EVENT_FAILED, e, "delete-failed", ephemdir_last_error(ctx), r);
                return r;
        }

        fault_point("before-commit");
        r = registry_commit_delete(ctx->reg, e->id, claim_id);
        if (r < 0) {
                ctx_fail(ctx, r, "committing deletion of %s: %s", e->path, registry_error(ctx->reg));
                emit(sink, EPHEMDIR_EVENT_FAILED, e, "commit-failed", ephemdir_last_error(ctx), r);
                return r;
        }
        (void) registry_stat_add(ctx->reg, stat_key, 1);
        return 0;
}

void sweep_sink_done(struct sweep_sink *sink) {
        if (sink->inuse)
                inuse_snapshot_free(sink->inuse);
        sink->inuse = NULL;
}

/* keep_while_in_use: 0 when nothing holds anything inside, -EBUSY (event
 * emitted) when a process does or when that cannot be known for sure.
 * Never delete on an unknown. */
static int check_in_use(ephemdir_ctx *ctx, const struct entry *e, struct sweep_sink *sink) {
        char comm[INUSE_COMM_MAX] = "";
        pid_t pid = 0;
        char detail[128];

        if (!sink->check_in_use || !e->keep_while_in_use)
                return 0;
        if (!sink->inuse && inuse_scan(ctx->uid, &sink->inuse) < 0)
                sink->inuse = NULL;
        const char *paths[] = { e->path };
        enum inuse_verdict v = sink->inuse ? inuse_check(sink->inuse, paths, 1, &pid, comm) : INUSE_UNKNOWN;
        if (v == INUSE_FREE)
                return 0;
        if (v == INUSE_BUSY)
                snprintf(detail, sizeof(detail), "in use by pid %d (%s)", (int) pid, comm);
        else
                snprintf(detail, sizeof(detail), "cannot tell whether it is in use (pid %d %s not inspectable); deferred",
                         (int) pid, comm);
        if (v == INUSE_UNKNOWN)
                ctx_log(ctx, EPHEMDIR_LOG_WARNING, "%s: %s", e->path, detail);
        emit(sink, EPHEMDIR_EVENT_BLOCKED, e, v == INUSE_BUSY ? "in-use" : "in-use-unknown", detail, -EBUSY);
        return -EBUSY;
}

int deletion_run(ephemdir_ctx *ctx, const struct entry *e, const char *reason,
                 const char *stat_key, struct sweep_sink *sink) {
        _cleanup_close_ int parent_fd = -1, dir_fd = -1, lock_fd = -1;
        _cleanup_free_ char *staging_name = NULL, *staging_path = NULL;
        char claim_id[MARKER_ID_LEN + 1];
        int r;

        /* 1. verify, with no side effect yet */
        r = verify_entry(ctx, e, 0, &parent_fd, &dir_fd);
        if (r < 0) {
                emit(sink, EPHEMDIR_EVENT_BLOCKED, e, verify_failure_word(r), ephemdir_last_error(ctx), r);
                return r;
        }

        /* keep_while_in_use: a process holding something inside defers it.
         * (A file opened between this check and the rename is not seen; the
         * deletion then removes its name, as rm -rf would.) */
        r = check_in_use(ctx, e, sink);
        if (r < 0)
                return r;

        /* 2. lock */
        r = entry_lock_try(ctx, e->id, &lock_fd);
        if (r < 0) {
                emit(sink, EPHEMDIR_EVENT_BLOCKED, e, "being-deleted", NULL, r);
                return r == -EBUSY ? -EBUSY : r;
        }

        /* 3. claim: durable intent before anything moves */
        r = marker_new_id(claim_id);
        if (r < 0)
                return r;
        r = staging_name_for(e->name, claim_id, &staging_name);
        if (r < 0)
                return r;
        staging_path = sibling_path(e->path, staging_name);
        if (!staging_path)
                return -ENOMEM;
        r = registry_claim(ctx->reg, e->id, e->version, claim_id, staging_path);
        if (r < 0) {
                /* A keep/extend (or another sweep) committed first: it wins. */
                entry_lock_release(ctx, e->id, TAKE_FD(lock_fd), false);
                emit(sink, EPHEMDIR_EVENT_BLOCKED, e, "changed-concurrently", NULL, -EBUSY);
                return -EBUSY;
        }
        fault_point("after-claim");

        /* 4. recheck: the name must still be the object verified in step 1 */
        r = verify_name_is(parent_fd, basename_of(e->path), e);
        if (r == 0)
                r = marker_verify(dir_fd, e->marker_id);
        if (r < 0) {
                (void) registry_release_claim(ctx->reg, e->id, claim_id, ENTRY_ACTIVE);
                entry_lock_release(ctx, e->id, TAKE_FD(lock_fd), false);
                emit(sink, EPHEMDIR_EVENT_BLOCKED, e, verify_failure_word(r), NULL, r);
                return r;
        }

        /* 5. stage: same parent, so same filesystem; NOREPLACE so we never
         * clobber whatever might sit at the staging name. */
        if (renameat2(parent_fd, basename_of(e->path), parent_fd, staging_name, RENAME_NOREPLACE) < 0) {
                r = negative_errno();
                (void) registry_release_claim(ctx->reg, e->id, claim_id, ENTRY_ACTIVE);
                entry_lock_release(ctx, e->id, TAKE_FD(lock_fd), false);
                ctx_fail(ctx, r, "renaming %s to its staging name: %s", e->path, strerror(-r));
                emit(sink, EPHEMDIR_EVENT_FAILED, e, "stage-failed", ephemdir_last_error(ctx), r);
                return r;
        }
        fault_point("after-rename");

        /* Between the recheck and the rename the name could have been swapped
         * (by a process of ours: only we can write the parent, or in a sticky
         * dir only we can rename our entries).  If what we staged is not the
         * verified object, it is not ours to delete. */
        struct entry staged = *e;
        staged.staging_path = staging_path;
        r = verify_name_is(parent_fd, staging_name, e);
        if (r < 0) {
                ctx_fail(ctx, r, "the object renamed to %s is not the verified directory", staging_path);
                park(ctx, &staged, claim_id, "identity-changed", sink);
                entry_lock_release(ctx, e->id, TAKE_FD(lock_fd), false);
                return -ESTALE;
        }

        /* 6 + 7 */
        r = delete_staged(ctx, &staged, claim_id, parent_fd, dir_fd, staging_name, stat_key, sink);
        entry_lock_release(ctx, e->id, TAKE_FD(lock_fd), r == 0);
        if (r < 0)
                return r;
        emit(sink, EPHEMDIR_EVENT_REMOVED, e, reason, NULL, 0);
        ctx_log(ctx, EPHEMDIR_LOG_DEBUG, "removed %s (%s)", e->path, reason);
        return 0;
}

/* Recovery for a DELETING/RECOVERY row whose lock we hold.  Cases:
 *   staging is our object          -> finish deleting it (original untouched)
 *   staging is something else      -> park: not ours to delete
 *   no staging, original verifies  -> crashed before the rename: release the
 *                                     claim; normal policy decides again
 *   no staging, no original        -> the tree was gone before the commit:
 *                                     commit now
 *   no staging, other object there -> park: ambiguous */
static int recover_locked(ephemdir_ctx *ctx, const struct entry *e, struct sweep_sink *sink) {
        _cleanup_free_ char *parent = NULL, *name = NULL, *bad = NULL;
        _cleanup_close_ int parent_fd = -1, dir_fd = -1;
        const char *staging_name;
        int r;

        r = guard_check(ctx, e->path);
        if (r < 0) {
                emit(sink, EPHEMDIR_EVENT_BLOCKED, e, "untrusted-path", ephemdir_last_error(ctx), r);
                return r;
        }
        r = path_split(e->path, &parent, &name);
        if (r < 0 || !e->staging_path)
                return -EUCLEAN;
        staging_name = basename_of(e->staging_path);

        r = fs_open_trusted_dir(parent, ctx->uid, &parent_fd, NULL, &bad);
        if (r < 0) {
                ctx_fail(ctx, r, "cannot open parent %s of %s", bad ? bad : parent, e->path);
                emit(sink, EPHEMDIR_EVENT_BLOCKED, e, verify_failure_word(r), ephemdir_last_error(ctx), r);
                return r;
        }

        r = verify_name_is(parent_fd, staging_name, e);
        if (r == 0) {
                r = fs_open_child_dir(parent_fd, staging_name, &dir_fd);
                if (r == 0)
                        r = verify_name_is(parent_fd, staging_name, e);
                if (r < 0) {
                        ctx_fail(ctx, r, "staging directory %s cannot be verified", e->staging_path);
                        park(ctx, e, e->claim_id, r == -EXDEV ? "mount-point" : "identity-changed", sink);
                        return r;
                }
                r = delete_staged(ctx, e, e->claim_id, parent_fd, dir_fd, staging_name, "swept", sink);
                if (r == 0)
                        emit(sink, EPHEMDIR_EVENT_RECOVERED, e, "interrupted-deletion", NULL, 0);
                return r;
        }
        if (r == -ESTALE) {
                ctx_fail(ctx, r, "%s is not the directory that was being deleted", e->staging_path);
                park(ctx, e, e->claim_id, "identity-changed", sink);
                return r;
        }
        if (r != -ENOENT)
                return r;

        r = verify_name_is(parent_fd, name, e);
        if (r == 0) {
                r = registry_release_claim(ctx->reg, e->id, e->claim_id, ENTRY_ACTIVE);
                if (r == 0)
                        emit(sink, EPHEMDIR_EVENT_RECOVERED, e, "claim-released", NULL, 0);
                return r;
        }
        if (r == -ENOENT) {
                r = registry_commit_delete(ctx->reg, e->id, e->claim_id);
                if (r == 0) {
                        (void) registry_stat_add(ctx->reg, "swept", 1);
                        emit(sink, EPHEMDIR_EVENT_RECOVERED, e, "interrupted-deletion", NULL, 0);
                }
                return r;
        }
        ctx_fail(ctx, r, "%s now holds another object and no staging directory exists", e->path);
        park(ctx, e, e->claim_id, "identity-changed", sink);
        return r;
}

int deletion_recover(ephemdir_ctx *ctx, const struct entry *row, bool reclaim, struct sweep_sink *sink) {
        _cleanup_close_ int lock_fd = -1;
        struct entry e = {};
        int r;

        r = entry_lock_try(ctx, row->id, &lock_fd);
        if (r < 0)
                return r;   /* someone is working on it right now */

        /* Re-read under the lock: another process may have finished it. */
        r = registry_get_by_id(ctx->reg, row->id, &e);
        if (r < 0) {
                entry_lock_release(ctx, row->id, TAKE_FD(lock_fd), r == -ENOENT);
                return r == -ENOENT ? 0 : r;
        }
        if (reclaim && e.state == ENTRY_RECOVERY) {
                char claim_id[MARKER_ID_LEN + 1];
                r = marker_new_id(claim_id);
                if (r == 0)
                        r = registry_reclaim(ctx->reg, e.id, e.version, claim_id);
                entry_done(&e);
                if (r == 0)
                        r = registry_get_by_id(ctx->reg, row->id, &e);
                if (r < 0) {
                        entry_lock_release(ctx, row->id, TAKE_FD(lock_fd), false);
                        return r;
                }
        }
        /* Without a reclaim, act only on the very claim the caller saw. */
        bool same_claim = reclaim || streq_ptr(e.claim_id, row->claim_id);
        if (e.state != ENTRY_DELETING || !same_claim) {
                entry_done(&e);
                entry_lock_release(ctx, row->id, TAKE_FD(lock_fd), false);
                return 0;
        }
        r = recover_locked(ctx, &e, sink);
        struct entry after = {};
        bool gone = registry_get_by_id(ctx->reg, e.id, &after) == -ENOENT;
        entry_done(&after);
        entry_lock_release(ctx, e.id, TAKE_FD(lock_fd), gone);
        entry_done(&e);
        return r;
}
