/* SPDX-License-Identifier: MIT */
/* The one deletion path (see delete.c for the steps). */
#pragma once

#include <stdbool.h>

#include "ctx.h"
#include "registry.h"

struct inuse_snapshot;

/* Where deletion events go; failures counts FAILED and PARKED events.
 * Sweeps set check_in_use: keep_while_in_use entries are then deferred
 * while a process holds anything inside.  inuse is the sweep's snapshot
 * for the first look (one scan, taken on first need, replaced by each newer
 * scan that found a tree free); every such entry actually deleted is
 * probed again with a fresh scan after its rename (delete.c, step 5b).  An
 * explicit rm is the user's decision and skips both. */
struct sweep_sink {
        ephemdir_event_fn cb;
        void *userdata;
        unsigned failures;
        bool check_in_use;
        struct inuse_snapshot *inuse;
};

/* Free what a sweep accumulated in the sink (the in-use snapshot). */
void sweep_sink_done(struct sweep_sink *sink);

/* Delete an ACTIVE entry (already judged due, or removed on request).
 * reason: the event reason word; stat_key: counter to bump ("swept",
 * "removed").  0 = removed and untracked; -ENOENT missing, -ESTALE replaced,
 * -EBUSY claimed by someone else or changed concurrently, ... (message on
 * ctx).  The entry stays tracked on every failure. */
int deletion_run(ephemdir_ctx *ctx, const struct entry *e, const char *reason,
                 const char *stat_key, struct sweep_sink *sink);

/* Finish or park an interrupted deletion (row DELETING, or RECOVERY with
 * reclaim = true for `ephemdir recover`).  -EBUSY while another process holds
 * the entry's lock. */
int deletion_recover(ephemdir_ctx *ctx, const struct entry *row, bool reclaim,
                     struct sweep_sink *sink);
