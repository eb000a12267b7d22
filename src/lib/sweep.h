/* SPDX-License-Identifier: MIT */
#pragma once

#include "ctx.h"
#include "registry.h"

/* max_size: is the verified directory bigger than its limit?  Measured
 * fd-relative within a budget, never across a mount; an incomplete
 * measurement counts only when its lower bound is already over. */
bool sweep_over_size(ephemdir_ctx *ctx, const struct entry *e);

/* True: the sweep leaves e alone, whatever its policy says. */
typedef bool (*sweep_skip_fn)(const struct entry *e, const void *userdata);

/* ephemdir_sweep() without flags or with only the dry run, leaving alone
 * the entries skip (if non-NULL) picks: apply holds back the entries whose
 * rule may be declared in a rule file it could not read.  Interrupted
 * deletions are still finished (that decision was taken before).  The
 * number of failures, or < 0. */
int sweep_explicit(ephemdir_ctx *ctx, bool dry_run, sweep_skip_fn skip, const void *skip_data,
                   ephemdir_event_fn cb, void *userdata);

/* The bounded sweep run by ephemdir_new(): a few index-selected due entries,
 * never next-sweep ones, errors only logged. */
void sweep_lazy(ephemdir_ctx *ctx);
