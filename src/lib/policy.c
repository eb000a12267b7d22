/* SPDX-License-Identifier: MIT */
#include "policy.h"
#include "util.h"

unsigned policy_due(const struct entry *e, const struct policy_env *env) {
        unsigned reasons = 0;

        if (e->state != ENTRY_ACTIVE || !e->marker_id)
                return 0;
        if (env->mode == POLICY_FORCE)
                reasons |= DUE_FORCED;
        if (e->expires_at != 0 && e->expires_at <= env->now)
                reasons |= DUE_EXPIRED;
        /* A restart is a different boot id, never a clock step: a wall clock
         * moved back or forth with the same boot id is the same boot. */
        if (e->remove_on_restart && env->boot_id && !streq_ptr(e->boot_id, env->boot_id))
                reasons |= DUE_RESTARTED;
        if (e->cleanup == EPHEMDIR_CLEANUP_NEXT_SWEEP && env->mode != POLICY_LAZY)
                reasons |= DUE_NEXT_SWEEP;
        return reasons;
}

const char *policy_reason_word(unsigned reasons) {
        if (reasons & DUE_EXPIRED)
                return "expired";
        if (reasons & DUE_RESTARTED)
                return "restarted";
        if (reasons & DUE_OVER_SIZE)
                return "over-size";
        if (reasons & DUE_NEXT_SWEEP)
                return "next-sweep";
        if (reasons & DUE_FORCED)
                return "forced";
        return NULL;
}

int64_t policy_remaining(const struct entry *e, int64_t now) {
        if (e->expires_at == 0)
                return 0;
        return e->expires_at - now;
}
