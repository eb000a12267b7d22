/* SPDX-License-Identifier: MIT */
/*
 * explain: the decision trace for one entry.  It runs the same checks the
 * deletion path runs (verify.c, guard.c, policy.c), read-only, and records
 * each one with its outcome so a user can see why something is or is not
 * going away.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dir.h"
#include "dirsize.h"
#include "inuse.h"
#include "guard.h"
#include "platform.h"
#include "policy.h"
#include "verify.h"

struct trace {
        struct ephemdir_explanation *x;
        size_t cap;
        size_t n_reasons;
        size_t n_blockers;
        bool over_size;
        bool oom;
};

static void add_check(struct trace *t, const char *check, bool ok, const char *fmt, ...) _printf_(4, 5);
static void add_check(struct trace *t, const char *check, bool ok, const char *fmt, ...) {
        struct ephemdir_explanation *x = t->x;
        va_list ap;

        if (x->n_decision == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 16;
                struct ephemdir_check *v = realloc(x->decision, cap * sizeof(*v));
                if (!v) {
                        t->oom = true;
                        return;
                }
                x->decision = v;
                t->cap = cap;
        }
        struct ephemdir_check *c = &x->decision[x->n_decision++];
        c->check = check;
        c->ok = ok;
        va_start(ap, fmt);
        if (vasprintf(&c->detail, fmt, ap) < 0) {
                c->detail = NULL;
                t->oom = true;
        }
        va_end(ap);
}

static void add_word(struct trace *t, char ***v, size_t *n, const char *word) {
        for (size_t i = 0; i < *n; i++)
                if (streq((*v)[i], word))
                        return;
        char **nv = realloc(*v, (*n + 2) * sizeof(char *));
        if (!nv) {
                t->oom = true;
                return;
        }
        *v = nv;
        if (!(nv[*n] = strdup(word)))
                t->oom = true;
        else
                (*n)++;
        nv[*n] = NULL;
}

static void reason(struct trace *t, const char *word) {
        add_word(t, &t->x->reasons, &t->n_reasons, word);
}

static void blocker(struct trace *t, const char *word) {
        add_word(t, &t->x->blocked_by, &t->n_blockers, word);
}

static void check_lifecycle(struct trace *t, const struct entry *e) {
        add_check(t, "lifecycle", e->state == ENTRY_ACTIVE, "%s%s%s", entry_state_word(e->state),
                  e->staging_path ? ", staging path " : "", e->staging_path ? e->staging_path : "");
        if (e->state == ENTRY_DELETING)
                blocker(t, "being-deleted");
        else if (e->state == ENTRY_RECOVERY)
                blocker(t, "needs-recovery");
}

static void check_in_use(ephemdir_ctx *ctx, struct trace *t, const struct entry *e) {
        _cleanup_(inuse_snapshot_freep) struct inuse_snapshot *snap = NULL;
        char comm[INUSE_COMM_MAX] = "";
        const char *paths[] = { e->path };
        pid_t pid = 0;

        if (!e->keep_while_in_use)
                return;
        enum inuse_verdict v = inuse_scan(ctx->uid, &snap) < 0 ? INUSE_UNKNOWN
                                                             : inuse_check(snap, paths, 1, &pid, comm);
        if (v == INUSE_FREE)
                add_check(t, "in-use", true, "no process holds anything inside");
        else if (v == INUSE_BUSY) {
                add_check(t, "in-use", false, "in use by pid %d (%s)", (int) pid, comm);
                blocker(t, "in-use");
        } else {
                add_check(t, "in-use", false, "cannot tell (pid %d %s not inspectable): deletion is deferred",
                          (int) pid, comm);
                blocker(t, "in-use-unknown");
        }
}

static void check_size(struct trace *t, const struct entry *e, int dir_fd) {
        static const struct dirsize_budget budget = {
                .max_entries = POLICY_SIZE_MAX_ENTRIES,
                .max_usec = POLICY_SIZE_MAX_USEC,
        };
        struct dirsize_result res;

        if (e->max_size <= 0 || dirsize_measure(dir_fd, &budget, &res) < 0)
                return;
        bool over = dirsize_over_limit(&res, (uint64_t) e->max_size);
        t->x->size_bytes = (int64_t) res.bytes;
        t->x->size_complete = res.complete;
        add_check(t, "size", !over, "%s%llu bytes of at most %lld%s", res.complete ? "" : ">= ",
                  (unsigned long long) res.bytes, (long long) e->max_size,
                  res.complete ? "" : " (scan stopped at its budget)");
        if (over)
                t->over_size = true;
}

static void check_disk(ephemdir_ctx *ctx, struct trace *t, const struct entry *e) {
        _cleanup_close_ int dir_fd = -1;
        int r = guard_check(ctx, e->path);
        add_check(t, "deletion-guard", r == 0, "%s", r == 0 ? "not a protected path" : ephemdir_last_error(ctx));
        if (r < 0) {
                blocker(t, "deletion-guard");
                return;
        }
        r = verify_entry(ctx, e, 0, NULL, &dir_fd);
        const char *word = r < 0 ? verify_failure_word(r) : NULL;
        bool trusted = !word || !streq(word, "untrusted-path");
        add_check(t, "parent-trusted", trusted, "%s", trusted ? "parent chain is owned by you or root"
                                                             : ephemdir_last_error(ctx));
        bool exists = !word || !streq(word, "path-missing");
        if (trusted)
                add_check(t, "exists", exists, "%s", exists ? "the directory is on disk" : "path is missing");
        bool identity = !word || (!streq(word, "identity-changed") && !streq(word, "path-missing"));
        if (trusted && exists)
                add_check(t, "identity", identity, "%s",
                          identity ? "inode and marker id match the registry"
                                   : "inode or marker id differ: not the directory ephemdir created");
        bool mount = !word || (!streq(word, "mount-point") && !streq(word, "no-mount-id"));
        if (trusted && exists && identity)
                add_check(t, "mount", mount, "%s",
                          mount ? "same mount as its parent"
                                : streq(word, "mount-point") ? "the directory is a mount point"
                                                             : "mount ids cannot be read");
        if (word)
                blocker(t, word);
        ctx_clear_error(ctx);
        if (word)
                return;
        check_size(t, e, dir_fd);
        check_in_use(ctx, t, e);
}

static void check_policy(ephemdir_ctx *ctx, struct trace *t, const struct entry *e, int64_t now) {
        struct policy_env env = { .now = now, .boot_id = ctx->boot_id, .mode = POLICY_EXPLICIT };
        unsigned due = policy_due(e, &env);

        if (e->expires_at == 0)
                add_check(t, "lifetime", true, "no time limit");
        else if (due & DUE_EXPIRED)
                add_check(t, "lifetime", false, "expired %lld s ago", (long long) (now - e->expires_at));
        else
                add_check(t, "lifetime", true, "%lld s left", (long long) (e->expires_at - now));
        if (!e->remove_on_restart)
                add_check(t, "restart", true, "kept across restarts");
        else
                add_check(t, "restart", !(due & DUE_RESTARTED), "%s",
                          due & DUE_RESTARTED ? "the machine restarted since creation (boot id differs)"
                                              : "same boot as at creation");
        add_check(t, "cleanup", !(due & DUE_NEXT_SWEEP), "%s",
                  e->cleanup == EPHEMDIR_CLEANUP_NEXT_SWEEP ? "next-sweep: goes at the next explicit sweep"
                                                           : "auto");
        if (!e->marker_id)
                add_check(t, "marker", false, "legacy entry without a marker: never removed automatically");
        if (t->over_size)
                due |= DUE_OVER_SIZE;
        for (unsigned bit = 1; bit && bit <= DUE_OVER_SIZE; bit <<= 1)
                if (due & bit)
                        reason(t, policy_reason_word(bit));
        t->x->due = due != 0;
}

static enum ephemdir_status explained_status(const struct trace *t) {
        struct ephemdir_explanation *x = t->x;

        for (size_t i = 0; i < t->n_blockers; i++) {
                const char *b = x->blocked_by[i];
                /* In use only matters for something that would go now. */
                if (!x->due && (streq(b, "in-use") || streq(b, "in-use-unknown")))
                        continue;
                if (streq(b, "being-deleted"))
                        return EPHEMDIR_STATUS_DELETING;
                if (streq(b, "needs-recovery"))
                        return EPHEMDIR_STATUS_RECOVERY;
                if (streq(b, "path-missing"))
                        return EPHEMDIR_STATUS_MISSING;
                if (streq(b, "identity-changed"))
                        return EPHEMDIR_STATUS_REPLACED;
                if (streq(b, "untrusted-path") || streq(b, "inaccessible"))
                        return EPHEMDIR_STATUS_UNAVAILABLE;
                return EPHEMDIR_STATUS_BLOCKED;
        }
        return x->due ? EPHEMDIR_STATUS_EXPIRED : EPHEMDIR_STATUS_ACTIVE;
}

static void fill_status(struct trace *t, const struct entry *e, int64_t now) {
        struct ephemdir_explanation *x = t->x;

        x->status = explained_status(t);
        if (x->status != EPHEMDIR_STATUS_ACTIVE)
                return;
        /* Same words as list, for a directory that is fine and not due. */
        if (e->cleanup == EPHEMDIR_CLEANUP_NEXT_SWEEP)
                x->status = EPHEMDIR_STATUS_UNTIL_SWEEP;
        else if (e->expires_at)
                x->status = e->expires_at - now < POLICY_EXPIRING_SOON ? EPHEMDIR_STATUS_EXPIRING
                                                                       : EPHEMDIR_STATUS_ACTIVE;
        else if (e->remove_on_restart)
                x->status = EPHEMDIR_STATUS_UNTIL_RESTART;
        else
                x->status = EPHEMDIR_STATUS_KEPT;
}

void ephemdir_explanation_free(struct ephemdir_explanation *x) {
        if (!x)
                return;
        free(x->path);
        free(x->name);
        for (char **v = x->reasons; v && *v; v++)
                free(*v);
        free(x->reasons);
        for (char **v = x->blocked_by; v && *v; v++)
                free(*v);
        free(x->blocked_by);
        for (size_t i = 0; i < x->n_decision; i++)
                free(x->decision[i].detail);
        free(x->decision);
        free(x);
}

/* Empty, NULL-terminated word lists so callers can always iterate. */
static int init_lists(struct trace *t) {
        t->x->reasons = calloc(1, sizeof(char *));
        t->x->blocked_by = calloc(1, sizeof(char *));
        return t->x->reasons && t->x->blocked_by ? 0 : -ENOMEM;
}

int ephemdir_explain(ephemdir_ctx *ctx, const char *target, struct ephemdir_explanation **ret) {
        struct entry e = {};
        int64_t now = platform_now();

        ctx_clear_error(ctx);
        int r = resolve_entry(ctx, target, &e);
        if (r < 0)
                return r;

        struct ephemdir_explanation *x = calloc(1, sizeof(*x));
        struct trace t = { .x = x };
        if (!x || init_lists(&t) < 0) {
                entry_done(&e);
                ephemdir_explanation_free(x);
                return -ENOMEM;
        }
        x->path = strdup(e.path);
        x->name = strdup(e.name);
        x->size_bytes = -1;
        x->max_size_bytes = e.max_size;
        x->expires_at = e.expires_at;
        x->remaining_seconds = policy_remaining(&e, now);

        add_check(&t, "tracked", true, "origin %s, created at %lld", e.origin, (long long) e.created_at);
        check_lifecycle(&t, &e);
        if (e.state == ENTRY_ACTIVE)
                check_disk(ctx, &t, &e);
        check_policy(ctx, &t, &e, now);
        fill_status(&t, &e, now);
        x->destructive_allowed = x->due && t.n_blockers == 0;
        entry_done(&e);

        if (t.oom || !x->path || !x->name) {
                ephemdir_explanation_free(x);
                return -ENOMEM;
        }
        *ret = x;
        return 0;
}

int ephemdir_stats(ephemdir_ctx *ctx, struct ephemdir_stats *ret) {
        struct ephemdir_stats s = {};
        int r;

        ctx_clear_error(ctx);
        if ((r = registry_stat_get(ctx->reg, "created", &s.created)) < 0 ||
            (r = registry_stat_get(ctx->reg, "swept", &s.swept)) < 0 ||
            (r = registry_stat_get(ctx->reg, "removed", &s.removed)) < 0 ||
            (r = registry_stat_get(ctx->reg, "kept", &s.kept)) < 0 ||
            (r = registry_count(ctx->reg, &s.tracked)) < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        *ret = s;
        return 0;
}
