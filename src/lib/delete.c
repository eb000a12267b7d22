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
 *  5b. reprobe  keep_while_in_use in a sweep: an in-use scan started after
 *               the rename; in use -> renamed back (NOREPLACE), claim
 *               released, deferred; the name taken meanwhile -> parked.
 *               A sweep stages up to a batch of such trees (steps 1-5
 *               each, stage_entry()) and one scan judges them all
 *               (deletion_batch_flush()); then 6 + 7 (finish_staged()).
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
 * over the original path, where something new may stand by then; only an
 * untouched tree found in use by the re-probe is renamed back at all, and
 * only to a free name (RENAME_NOREPLACE).
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

/* keep_while_in_use is judged only in sweeps (an explicit rm is the user's
 * decision), and only for the entries that asked for it. */
static bool probes_in_use(const struct entry *e, const struct sweep_sink *sink) {
        return sink->check_in_use && e->keep_while_in_use;
}

/* What a probe said about one entry, and who it named. */
struct in_use_answer {
        enum inuse_verdict verdict;
        pid_t pid;
        char comm[INUSE_COMM_MAX];
};

/* Defer the entry: BLOCKED "in-use" or "in-use-unknown", -EBUSY. */
static int report_in_use(ephemdir_ctx *ctx, const struct entry *e, const struct in_use_answer *a,
                         struct sweep_sink *sink) {
        char detail[128];

        if (a->verdict == INUSE_BUSY)
                snprintf(detail, sizeof(detail), "in use by pid %d (%s)", (int) a->pid, a->comm);
        else
                snprintf(detail, sizeof(detail), "cannot tell whether it is in use (pid %d %s not inspectable); deferred",
                         (int) a->pid, a->comm);
        if (a->verdict == INUSE_UNKNOWN)
                ctx_log(ctx, EPHEMDIR_LOG_WARNING, "%s: %s", e->path, detail);
        emit(sink, EPHEMDIR_EVENT_BLOCKED, e, a->verdict == INUSE_BUSY ? "in-use" : "in-use-unknown", detail, -EBUSY);
        return -EBUSY;
}

/* The first probe, before any side effect, against the sweep's snapshot
 * (one scan per sweep, taken on first need): 0 when nothing holds anything
 * inside, -EBUSY (event emitted) when a process does or when that cannot be
 * known for sure.  Never delete on an unknown.  It can be seconds old, so a
 * "free" here is only a hint: the staged tree is judged again by a later
 * scan (staged_verdict) before anything is deleted. */
static int check_in_use(ephemdir_ctx *ctx, const struct entry *e, struct sweep_sink *sink) {
        struct in_use_answer a = { .verdict = INUSE_UNKNOWN };

        if (!probes_in_use(e, sink))
                return 0;
        if (!sink->inuse && inuse_scan(ctx->uid, &sink->inuse) < 0)
                sink->inuse = NULL;
        const char *paths[] = { e->path };
        if (sink->inuse)
                a.verdict = inuse_check(sink->inuse, paths, 1, &a.pid, a.comm);
        if (a.verdict == INUSE_FREE)
                return 0;
        return report_in_use(ctx, e, &a, sink);
}

/* A tree at its staging name, locked and claimed, waiting for the in-use
 * verdict of a scan taken after its rename (step 5b).  Owns everything. */
struct staged_deletion {
        struct entry e;                 /* deep copy; staging_path set */
        char claim_id[MARKER_ID_LEN + 1];
        char *staging_name;
        const char *reason, *stat_key;  /* static words */
        bool recovering;                /* from recovery: events say so */
        int parent_fd, dir_fd, lock_fd;
};

static void staged_done(struct staged_deletion *s) {
        safe_close(s->parent_fd);
        safe_close(s->dir_fd);
        free(s->staging_name);
        entry_done(&s->e);
        *s = (struct staged_deletion) { .parent_fd = -1, .dir_fd = -1, .lock_fd = -1 };
}

/* The in-use race: a process that opens a file or enters the directory
 * after the first probe's snapshot and before the rename would not be seen,
 * and the deletion would remove what it holds.  Once the tree sits at its
 * staging name, nothing can newly reach it by its path any more: whatever is
 * inside now already holds an fd, a cwd, a root or a mapping there, and any
 * scan started after the rename sees it.  So the verdict comes from such a
 * scan -- one per batch (below), since every tree of the batch was staged
 * before it started.  Both names are checked: Linux reports a held object
 * under its new name, an lsof elsewhere may still print the one it was
 * reached by.  fresh NULL: the scan failed, so unknown. */
static void staged_verdict(const struct inuse_snapshot *fresh, const struct staged_deletion *s,
                           struct in_use_answer *ret) {
        *ret = (struct in_use_answer) { .verdict = INUSE_UNKNOWN };
        if (!fresh)
                return;
        const char *paths[] = { s->e.staging_path, s->e.path };
        ret->verdict = inuse_check(fresh, paths, 2, &ret->pid, ret->comm);
}

/* The staged tree is in use (or may be): undo the stage, in the same parent,
 * never replacing anything -- a process of ours may have taken the original
 * name meanwhile.  Then the tree stays at its staging name and the entry is
 * parked ("name-taken"): nobody deletes it until `recover` (or a human)
 * decides.  0 when the entry is ACTIVE again at its original name; < 0
 * (event emitted) when parked. */
static int unstage(ephemdir_ctx *ctx, const struct staged_deletion *s, struct sweep_sink *sink) {
        const struct entry *staged = &s->e;
        const char *name = basename_of(staged->path);
        int r;

        if (renameat2(s->parent_fd, s->staging_name, s->parent_fd, name, RENAME_NOREPLACE) < 0) {
                r = negative_errno();
                ctx_fail(ctx, r, "%s is in use, but cannot be renamed back from %s: %s", staged->path,
                         staged->staging_path, r == -EEXIST ? "something else took its name" : strerror(-r));
                park(ctx, staged, s->claim_id, r == -EEXIST ? "name-taken" : "unstage-failed", sink);
                return r;
        }
        fault_point("after-unstage");

        /* The staging name was verified before the scan; if what came back
         * is not that object, where ours is cannot be proven. */
        r = verify_name_is(s->parent_fd, name, staged);
        if (r < 0) {
                ctx_fail(ctx, r, "the object renamed back to %s is not the verified directory", staged->path);
                park(ctx, staged, s->claim_id, "identity-changed", sink);
                return r;
        }
        /* On failure the row stays DELETING with the tree at its original
         * name: the next recovery pass releases the claim. */
        (void) registry_release_claim(ctx->reg, staged->id, s->claim_id, ENTRY_ACTIVE);
        return 0;
}

/* Put back (in use or unknown), deferred like the first probe. */
static int put_back(ephemdir_ctx *ctx, const struct staged_deletion *s, const struct in_use_answer *a,
                    struct sweep_sink *sink) {
        fault_point("after-reprobe");
        int r = unstage(ctx, s, sink);
        if (r < 0)
                return r;
        if (!s->recovering)
                return report_in_use(ctx, &s->e, a, sink);
        /* ACTIVE again: the sweep's candidate pass judges it like any other
         * (and defers it, naming the holder). */
        emit(sink, EPHEMDIR_EVENT_RECOVERED, &s->e, "claim-released", NULL, 0);
        return 0;
}

/* The finishing step: a with_verdict staged tree is deleted only on a FREE
 * answer, else put back; without (no keep_while_in_use probing) it is
 * deleted.  Consumes s, releases its lock. */
static int finish_staged(ephemdir_ctx *ctx, struct staged_deletion *s, bool with_verdict,
                         const struct in_use_answer *a, struct sweep_sink *sink) {
        bool free_to_go = !with_verdict || a->verdict == INUSE_FREE;
        int r;

        if (free_to_go)
                r = delete_staged(ctx, &s->e, s->claim_id, s->parent_fd, s->dir_fd, s->staging_name,
                                  s->stat_key, sink);
        else
                r = put_back(ctx, s, a, sink);
        bool deleted = free_to_go && r == 0;
        entry_lock_release(ctx, s->e.id, TAKE_FD(s->lock_fd), deleted);
        if (deleted) {
                if (s->recovering)
                        emit(sink, EPHEMDIR_EVENT_RECOVERED, &s->e, "interrupted-deletion", NULL, 0);
                else {
                        emit(sink, EPHEMDIR_EVENT_REMOVED, &s->e, s->reason, NULL, 0);
                        ctx_log(ctx, EPHEMDIR_LOG_DEBUG, "removed %s (%s)", s->e.path, s->reason);
                }
        }
        staged_done(s);
        return r;
}

/* Batches bound the staged trees held open at once: three fds each (parent,
 * tree, lock), so a batch of rlim/8 takes at most 3/8 of the fd table, and
 * rmtree's budget (fd_budget, a quarter) fits beside it.  Each batch costs
 * one scan (tens of ms), so batches are made as big as that allows. */
#define DELETION_BATCH_MAX 128

static size_t batch_capacity(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return DELETION_BATCH_MAX;
        rlim_t c = rl.rlim_cur / 8;
        return c < 1 ? 1 : c > DELETION_BATCH_MAX ? DELETION_BATCH_MAX : (size_t) c;
}

int deletion_batch_init(struct deletion_batch *b) {
        *b = (struct deletion_batch) { .cap = batch_capacity() };
        b->items = calloc(b->cap, sizeof(*b->items));
        return b->items ? 0 : -ENOMEM;
}

void deletion_batch_done(struct deletion_batch *b) {
        free(b->items);
        *b = (struct deletion_batch) {};
}

/* One scan for every staged tree of the batch, started after the last of
 * their renames.  A scan that found them all free replaces the sweep's
 * first-look snapshot (it is newer, and the trees it was taken around are
 * gone); one that found any held is dropped: it names those trees under
 * their staging names, which are about to be undone. */
void deletion_batch_flush(ephemdir_ctx *ctx, struct sweep_sink *sink) {
        struct deletion_batch *b = sink->batch;
        struct inuse_snapshot *fresh = NULL;
        bool all_free = true;

        if (!b || b->n == 0)
                return;
        fault_point("before-batch-scan");
        if (inuse_scan(ctx->uid, &fresh) < 0)
                fresh = NULL;
        for (size_t i = 0; i < b->n; i++) {
                struct in_use_answer a;
                staged_verdict(fresh, &b->items[i], &a);
                all_free = all_free && a.verdict == INUSE_FREE;
                (void) finish_staged(ctx, &b->items[i], true, &a, sink);
        }
        b->n = 0;
        if (fresh && all_free) {
                if (sink->inuse)
                        inuse_snapshot_free(sink->inuse);
                sink->inuse = fresh;
        } else if (fresh)
                inuse_snapshot_free(fresh);
}

/* Step 5b for a staged tree that keeps while in use: into the sink's batch
 * (0; its outcome is reported when the batch is flushed, at the latest by
 * the caller), or, without a batch, its own fresh scan right away. */
static int probe_then_finish(ephemdir_ctx *ctx, struct staged_deletion *s, struct sweep_sink *sink) {
        struct deletion_batch *b = sink->batch;

        if (b) {
                b->items[b->n++] = *s;
                *s = (struct staged_deletion) { .parent_fd = -1, .dir_fd = -1, .lock_fd = -1 };
                if (b->n == b->cap)
                        deletion_batch_flush(ctx, sink);
                return 0;
        }
        struct inuse_snapshot *fresh = NULL;
        struct in_use_answer a;
        if (inuse_scan(ctx->uid, &fresh) < 0)
                fresh = NULL;
        staged_verdict(fresh, s, &a);
        if (fresh)
                inuse_snapshot_free(fresh);
        return finish_staged(ctx, s, true, &a, sink);
}

/* Steps 1-5: on 0, *s holds the verified staged tree, its claim and lock. */
static int stage_entry(ephemdir_ctx *ctx, const struct entry *e, struct sweep_sink *sink,
                       struct staged_deletion *s) {
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
         * Cheap first look (the sweep's snapshot); a process that gets in
         * after it is caught by the scan after the rename (step 5b). */
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
        fault_point("before-stage");
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

        r = entry_copy(&staged, &s->e);
        if (r < 0) {
                /* Left DELETING, staged: the next recovery pass decides. */
                return r;
        }
        memcpy(s->claim_id, claim_id, sizeof(claim_id));
        s->staging_name = TAKE_PTR(staging_name);
        s->parent_fd = TAKE_FD(parent_fd);
        s->dir_fd = TAKE_FD(dir_fd);
        s->lock_fd = TAKE_FD(lock_fd);
        return 0;
}

int deletion_run(ephemdir_ctx *ctx, const struct entry *e, const char *reason,
                 const char *stat_key, struct sweep_sink *sink) {
        struct staged_deletion s = { .reason = reason, .stat_key = stat_key,
                                     .parent_fd = -1, .dir_fd = -1, .lock_fd = -1 };
        int r;

        r = stage_entry(ctx, e, sink, &s);
        if (r < 0)
                return r;
        s.reason = reason;
        s.stat_key = stat_key;
        /* 5b. keep_while_in_use: judged again, now that the tree is out of
         * reach by its path; 6 + 7 follow from finish_staged(). */
        if (probes_in_use(e, sink))
                return probe_then_finish(ctx, &s, sink);
        return finish_staged(ctx, &s, false, NULL, sink);
}

/* Recovery for a DELETING/RECOVERY row whose lock we hold.  Cases:
 *   staging is our object          -> finish deleting it (original untouched);
 *                                     in a sweep, a keep_while_in_use tree in
 *                                     use is first renamed back (or parked)
 *   staging is something else      -> park: not ours to delete
 *   no staging, original verifies  -> crashed before the rename: release the
 *                                     claim; normal policy decides again
 *   no staging, no original        -> the tree was gone before the commit:
 *                                     commit now
 *   no staging, other object there -> park: ambiguous */
static int recover_locked(ephemdir_ctx *ctx, const struct entry *e, int *lock_fd, struct sweep_sink *sink) {
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
                /* A crash after the rename left the tree staged, possibly
                 * before the re-probe ran, or after it found the tree in use:
                 * finishing blindly would delete under a holder.  Same check
                 * as a fresh deletion (a scan started now, under our lock,
                 * with the tree staged: batched like one); in use, the stage
                 * is undone and the normal policy decides again (and defers
                 * it).  The staged tree and our lock go with it (*lock_fd -1). */
                if (probes_in_use(e, sink)) {
                        struct staged_deletion st = { .stat_key = "swept", .recovering = true,
                                                      .parent_fd = -1, .dir_fd = -1, .lock_fd = -1 };
                        r = entry_copy(e, &st.e);
                        st.staging_name = strdup(staging_name);
                        if (r < 0 || !st.staging_name) {
                                staged_done(&st);
                                return -ENOMEM;
                        }
                        snprintf(st.claim_id, sizeof(st.claim_id), "%s", e->claim_id);
                        st.parent_fd = TAKE_FD(parent_fd);
                        st.dir_fd = TAKE_FD(dir_fd);
                        st.lock_fd = TAKE_FD(*lock_fd);
                        return probe_then_finish(ctx, &st, sink);
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
        r = recover_locked(ctx, &e, &lock_fd, sink);
        if (lock_fd < 0) {
                /* Handed to the in-use check with the staged tree. */
                entry_done(&e);
                return r;
        }
        struct entry after = {};
        bool gone = registry_get_by_id(ctx->reg, e.id, &after) == -ENOENT;
        entry_done(&after);
        entry_lock_release(ctx, e.id, TAKE_FD(lock_fd), gone);
        entry_done(&e);
        return r;
}
