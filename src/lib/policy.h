/* SPDX-License-Identifier: MIT */
/*
 * Policy: is an entry due, and why?  Pure functions of the entry, the clock
 * and the boot id: no filesystem access, so they are cheap and testable.
 */
#pragma once

#include <stdint.h>

#include "registry.h"

enum due_reason {
        DUE_EXPIRED = 1 << 0,     /* lifetime ran out */
        DUE_RESTARTED = 1 << 1,   /* boot id differs and remove_on_restart */
        DUE_NEXT_SWEEP = 1 << 2,  /* cleanup = next-sweep, explicit sweep */
        DUE_FORCED = 1 << 3,      /* sweep --force */
        DUE_OVER_SIZE = 1 << 4,   /* bigger than max_size (measured by the sweep, not here) */
};

enum policy_mode {
        POLICY_LAZY,       /* the bounded sweep inside `new`: never next-sweep */
        POLICY_EXPLICIT,   /* sweep, watch, apply, the scheduled service */
        POLICY_FORCE,      /* sweep --force: everything tracked is due */
};

struct policy_env {
        int64_t now;
        const char *boot_id;
        enum policy_mode mode;
};

/* Bitmask of due_reason; 0 = not due.  Legacy (marker-less) entries are never
 * due: ephemdir cannot prove it created them. Only ACTIVE entries are due. */
unsigned policy_due(const struct entry *e, const struct policy_env *env);

/* Word for the most significant reason in a mask: expired, restarted,
 * over-size, next-sweep, forced; NULL for 0. */
const char *policy_reason_word(unsigned reasons);

/* How long until expiry (<= 0 when past); 0 when there is no lifetime. */
int64_t policy_remaining(const struct entry *e, int64_t now);

#define POLICY_EXPIRING_SOON 900   /* 15 minutes: shown as "expiring" */

/* How much one max_size measurement may cost before it gives up with a
 * lower bound: one huge tree must not stall a sweep. */
#define POLICY_SIZE_MAX_ENTRIES 200000
#define POLICY_SIZE_MAX_USEC (2 * 1000 * 1000)
