/* SPDX-License-Identifier: MIT */
#pragma once

#include "ctx.h"
#include "registry.h"

/* max_size: is the verified directory bigger than its limit?  Measured
 * fd-relative within a budget, never across a mount; an incomplete
 * measurement counts only when its lower bound is already over. */
bool sweep_over_size(ephemdir_ctx *ctx, const struct entry *e);

/* The bounded sweep run by ephemdir_new(): a few index-selected due entries,
 * never next-sweep ones, errors only logged. */
void sweep_lazy(ephemdir_ctx *ctx);
