/* SPDX-License-Identifier: MIT */
/* The one deletion path (see delete.c for the steps). */
#pragma once

#include <stdbool.h>

#include "ctx.h"
#include "registry.h"

/* Where deletion events go; failures counts FAILED and PARKED events. */
struct sweep_sink {
        ephemdir_event_fn cb;
        void *userdata;
        unsigned failures;
};

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
