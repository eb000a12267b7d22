/* SPDX-License-Identifier: MIT */
/* The one deletion path (see delete.c for the steps). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ctx.h"
#include "registry.h"

struct inuse_snapshot;
struct staged_deletion;

/* keep_while_in_use trees staged in a sweep, waiting for one shared in-use
 * scan (delete.c, step 5b).  cap bounds the fds they hold. */
struct deletion_batch {
        struct staged_deletion *items;
        size_t n, cap;
};

/* Where deletion events go; failures counts FAILED and PARKED events.
 * Sweeps set check_in_use: keep_while_in_use entries are then deferred
 * while a process holds anything inside.  inuse is the sweep's snapshot
 * for the first look (one scan, taken on first need, replaced by each newer
 * scan that found its trees free); every such entry about to be deleted is
 * judged again by a scan started after its rename (delete.c, step 5b): one
 * per batch when batch is set (flushed by the caller, at the latest before
 * the entries it passed are freed), else one per entry.  An explicit rm is
 * the user's decision and skips both. */
struct sweep_sink {
        ephemdir_event_fn cb;
        void *userdata;
        unsigned failures;
        bool check_in_use;
        struct inuse_snapshot *inuse;
        struct deletion_batch *batch;
};

/* Room for up to 128 staged trees (DELETION_BATCH_MAX), fewer under an
 * fd limit below 1024 (limit / 8).  -ENOMEM. */
int deletion_batch_init(struct deletion_batch *b);
void deletion_batch_done(struct deletion_batch *b);

/* One fresh in-use scan for the staged trees of sink->batch, then each is
 * deleted (free) or put back (in use, unknown) or parked (name taken). */
void deletion_batch_flush(ephemdir_ctx *ctx, struct sweep_sink *sink);

/* Free what a sweep accumulated in the sink (the in-use snapshot). */
void sweep_sink_done(struct sweep_sink *sink);

/* Delete an ACTIVE entry (already judged due, or removed on request).
 * reason: the event reason word; stat_key: counter to bump ("swept",
 * "removed").  0 = removed and untracked; -ENOENT missing, -ESTALE replaced,
 * -EBUSY claimed by someone else or changed concurrently, ... (message on
 * ctx).  The entry stays tracked on every failure.  With sink->batch, a
 * keep_while_in_use entry that got staged returns 0 at once: the flush
 * reports its outcome. */
int deletion_run(ephemdir_ctx *ctx, const struct entry *e, const char *reason,
                 const char *stat_key, struct sweep_sink *sink);

/* Finish or park an interrupted deletion (row DELETING, or RECOVERY with
 * reclaim = true for `ephemdir recover`).  -EBUSY while another process holds
 * the entry's lock. */
int deletion_recover(ephemdir_ctx *ctx, const struct entry *row, bool reclaim,
                     struct sweep_sink *sink);
