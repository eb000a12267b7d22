/* SPDX-License-Identifier: MIT */
/*
 * Sweeps: pick candidates (registry indexes), decide (policy.c), and hand
 * each due entry to the one deletion path (delete.c).
 */
#include <errno.h>

#include "delete.h"
#include "dirsize.h"
#include "platform.h"
#include "policy.h"
#include "sweep.h"
#include "verify.h"

/* Few enough that `new` stays O(log n) whatever the backlog. */
#define LAZY_SWEEP_LIMIT 4

static void recovery_pass(ephemdir_ctx *ctx, struct sweep_sink *sink) {
        struct entry *rows = NULL;
        size_t n = 0;

        if (registry_list_by_state(ctx->reg, ENTRY_DELETING, &rows, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                (void) deletion_recover(ctx, &rows[i], false, sink);
        /* Before the candidate pass: what is put back is judged there. */
        deletion_batch_flush(ctx, sink);
        entry_free_array(rows, n);
}

/* The lazy sweep looks at a few candidates per call, resuming after the
 * last one it looked at: always starting from the oldest would let a handful
 * of blocked entries (missing, replaced) hide every other due entry. */
#define LAZY_CURSOR "lazy-sweep-cursor"

static int lazy_candidates(ephemdir_ctx *ctx, int64_t now, size_t limit,
                           struct entry **ret, size_t *ret_n) {
        int64_t cursor = 0;
        int r;

        (void) registry_stat_get(ctx->reg, LAZY_CURSOR, &cursor);
        r = registry_due_candidates(ctx->reg, now, ctx->boot_id, false, false, cursor, limit, ret, ret_n);
        if (r == 0 && *ret_n == 0 && cursor > 0) {
                entry_free_array(*ret, *ret_n);
                r = registry_due_candidates(ctx->reg, now, ctx->boot_id, false, false, 0, limit, ret, ret_n);
        }
        if (r == 0)
                (void) registry_stat_set(ctx->reg, LAZY_CURSOR, *ret_n ? (*ret)[*ret_n - 1].id : 0);
        return r;
}

static int candidates(ephemdir_ctx *ctx, enum policy_mode mode, int64_t now, size_t limit,
                      struct entry **ret, size_t *ret_n) {
        if (mode == POLICY_FORCE)
                return registry_list_by_state(ctx->reg, ENTRY_ACTIVE, ret, ret_n);
        if (mode == POLICY_LAZY)
                return lazy_candidates(ctx, now, limit, ret, ret_n);
        return registry_due_candidates(ctx->reg, now, ctx->boot_id, true, true, 0, limit, ret, ret_n);
}

/* max_size: measured fd-relative on the verified directory, never across a
 * mount, within a budget.  An incomplete measurement is a lower bound, so it
 * only counts once that bound already exceeds the limit.  Explicit sweeps
 * only: `new` must not walk trees. */
bool sweep_over_size(ephemdir_ctx *ctx, const struct entry *e) {
        static const struct dirsize_budget budget = {
                .max_entries = POLICY_SIZE_MAX_ENTRIES,
                .max_usec = POLICY_SIZE_MAX_USEC,
        };
        _cleanup_close_ int dir_fd = -1;
        struct dirsize_result res;

        if (e->max_size <= 0 || e->state != ENTRY_ACTIVE || !e->marker_id)
                return false;
        if (verify_entry(ctx, e, 0, NULL, &dir_fd) < 0) {
                ctx_clear_error(ctx);
                return false;   /* the deletion path reports why, if it is due otherwise */
        }
        if (dirsize_measure(dir_fd, &budget, &res) < 0)
                return false;
        return dirsize_over_limit(&res, (uint64_t) e->max_size);
}

static void preview(ephemdir_ctx *ctx, const struct entry *e, const char *reason,
                    struct sweep_sink *sink) {
        _cleanup_close_ int dir_fd = -1;
        struct ephemdir_event ev = { .path = e->path, .name = e->name, .reason = reason };

        int r = verify_entry(ctx, e, 0, NULL, &dir_fd);
        if (r < 0) {
                ev.kind = EPHEMDIR_EVENT_BLOCKED;
                ev.reason = verify_failure_word(r);
                ev.detail = ephemdir_last_error(ctx);
                ev.error = r;
        } else
                ev.kind = EPHEMDIR_EVENT_WOULD_REMOVE;
        if (sink->cb)
                sink->cb(&ev, sink->userdata);
}

/* sweep_skip_fn of ephemdir_sweep_tag: userdata is the tag. */
static bool lacks_tag(const struct entry *e, const void *userdata) {
        const char *tag = userdata;

        for (char **t = e->tags; t && *t; t++)
                if (streq(*t, tag))
                        return false;
        return true;
}

static int sweep_with(ephemdir_ctx *ctx, enum policy_mode mode, bool dry_run, size_t limit,
                      sweep_skip_fn skip, const void *skip_data, struct sweep_sink *sink) {
        struct policy_env env = { .now = platform_now(), .boot_id = ctx->boot_id, .mode = mode };
        struct deletion_batch batch;
        struct entry *rows = NULL;
        size_t n = 0;

        /* keep_while_in_use trees are judged after their rename by one scan
         * per batch, not one per tree (delete.c, step 5b). */
        int r = deletion_batch_init(&batch);
        if (r < 0)
                return ctx_fail(ctx, r, "out of memory");
        sink->batch = &batch;
        if (!dry_run && mode != POLICY_LAZY)
                recovery_pass(ctx, sink);

        r = candidates(ctx, mode, env.now, limit, &rows, &n);
        if (r < 0) {
                sink->batch = NULL;
                deletion_batch_done(&batch);
                sweep_sink_done(sink);
                return ctx_fail(ctx, r, "reading the registry: %s", registry_error(ctx->reg));
        }

        for (size_t i = 0; i < n; i++) {
                if (skip && skip(&rows[i], skip_data))
                        continue;
                unsigned due = policy_due(&rows[i], &env);
                if (mode == POLICY_EXPLICIT && !due && sweep_over_size(ctx, &rows[i]))
                        due |= DUE_OVER_SIZE;
                if (!due)
                        continue;
                const char *reason = policy_reason_word(due);
                if (dry_run)
                        preview(ctx, &rows[i], reason, sink);
                else
                        (void) deletion_run(ctx, &rows[i], reason, "swept", sink);
        }
        deletion_batch_flush(ctx, sink);
        sink->batch = NULL;
        deletion_batch_done(&batch);
        entry_free_array(rows, n);
        sweep_sink_done(sink);
        return 0;
}

int ephemdir_sweep_tag(ephemdir_ctx *ctx, unsigned flags, const char *tag, ephemdir_event_fn cb,
                       void *userdata) {
        struct sweep_sink sink = { .cb = cb, .userdata = userdata, .check_in_use = true };
        enum policy_mode mode = flags & EPHEMDIR_SWEEP_FORCE ? POLICY_FORCE : POLICY_EXPLICIT;

        ctx_clear_error(ctx);
        int r = sweep_with(ctx, mode, flags & EPHEMDIR_SWEEP_DRY_RUN, 0, tag ? lacks_tag : NULL, tag, &sink);
        if (r < 0)
                return r;
        return (int) sink.failures;
}

int sweep_explicit(ephemdir_ctx *ctx, bool dry_run, sweep_skip_fn skip, const void *skip_data,
                   ephemdir_event_fn cb, void *userdata) {
        struct sweep_sink sink = { .cb = cb, .userdata = userdata, .check_in_use = true };

        ctx_clear_error(ctx);
        int r = sweep_with(ctx, POLICY_EXPLICIT, dry_run, 0, skip, skip_data, &sink);
        if (r < 0)
                return r;
        return (int) sink.failures;
}

int ephemdir_sweep(ephemdir_ctx *ctx, unsigned flags, ephemdir_event_fn cb, void *userdata) {
        return ephemdir_sweep_tag(ctx, flags, NULL, cb, userdata);
}

static void log_lazy_event(const struct ephemdir_event *ev, void *userdata) {
        ephemdir_ctx *ctx = userdata;

        if (ev->kind == EPHEMDIR_EVENT_REMOVED)
                ctx_log(ctx, EPHEMDIR_LOG_INFO, "swept %s (%s)", ev->path, ev->reason);
        else if (ev->kind == EPHEMDIR_EVENT_FAILED || ev->kind == EPHEMDIR_EVENT_PARKED)
                ctx_log(ctx, EPHEMDIR_LOG_WARNING, "sweeping %s: %s", ev->path,
                        ev->detail ? ev->detail : ev->reason);
}

void sweep_lazy(ephemdir_ctx *ctx) {
        struct sweep_sink sink = { .cb = log_lazy_event, .userdata = ctx, .check_in_use = true };

        (void) sweep_with(ctx, POLICY_LAZY, false, LAZY_SWEEP_LIMIT, NULL, NULL, &sink);
        ctx_clear_error(ctx);
}
