/* SPDX-License-Identifier: MIT */
/*
 * apply: reconcile declared directories (rules.d, rules.c) with the
 * registry.  It owns no filesystem logic of its own: creation goes through
 * create_directory(), removal through deletion_run(), identity through
 * verify_entry() -- the same paths `ephemdir new`, `rm` and `sweep` take.
 *
 * A rule's entry is the registry row whose origin is "rule:<name>".  Per rule:
 *   no entry            -> create (a path already taken is a conflict)
 *   entry, missing      -> forget the row, create fresh
 *   entry, replaced     -> conflict: never touched
 *   entry, policy moved -> update the row, keep the directory
 *   entry, due          -> delete, then create fresh if the rule says recreate
 * Entries whose rule is gone are orphans: they keep their last policy, are
 * never recreated, and are swept like any other entry when due.  But while
 * a rule file or rules dir could not be read (invalid, unreadable,
 * refused), a rule missing from the set may be declared there, with a
 * policy nobody can see: such entries are "held", left exactly as they are
 * (not even swept), and reported with the files at fault.
 *
 * --validate and --cat-config (ephemdir_apply_validate) only read rule
 * files: they run on a context without data dir or registry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "delete.h"
#include "dir.h"
#include "fsutil.h"
#include "platform.h"
#include "policy.h"
#include "rules.h"
#include "sweep.h"
#include "verify.h"

#define ORIGIN_PREFIX "rule:"

struct apply_run {
        ephemdir_ctx *ctx;
        unsigned flags;
        ephemdir_apply_fn cb;
        ephemdir_event_fn sweep_cb;
        void *userdata;
        struct sweep_sink sink;
        char last_block[256];    /* why the last rule deletion did not happen */
        struct ephemdir_apply_summary sum;
        struct entry *rows;
        size_t n_rows;
};

/* Deletions of rule directories report through apply's own events; keep
 * only the reason a deletion was held back, for the BLOCKED report. */
static void remember_block(const struct ephemdir_event *ev, void *userdata) {
        struct apply_run *run = userdata;

        if (ev->kind == EPHEMDIR_EVENT_REMOVED)
                return;
        snprintf(run->last_block, sizeof(run->last_block), "%s%s%s", ev->reason,
                 ev->detail && *ev->detail ? ": " : "", ev->detail ? ev->detail : "");
}

static bool dry(const struct apply_run *run) {
        return run->flags & EPHEMDIR_APPLY_DRY_RUN;
}

static void report(struct apply_run *run, enum ephemdir_apply_action action, const struct rule *rule,
                   const char *path, const char *fmt, ...) _printf_(5, 6);
static void report(struct apply_run *run, enum ephemdir_apply_action action, const struct rule *rule,
                   const char *path, const char *fmt, ...) {
        _cleanup_free_ char *detail = NULL;
        va_list ap;

        switch (action) {
        case EPHEMDIR_APPLY_CREATED: run->sum.created++; break;
        case EPHEMDIR_APPLY_RECREATED: run->sum.recreated++; break;
        case EPHEMDIR_APPLY_SWEPT: run->sum.swept++; break;
        case EPHEMDIR_APPLY_UPDATED: run->sum.updated++; break;
        case EPHEMDIR_APPLY_CONFLICT: run->sum.conflicts++; break;
        case EPHEMDIR_APPLY_ORPHAN: run->sum.orphans++; break;
        case EPHEMDIR_APPLY_BLOCKED: run->sum.blocked++; break;
        case EPHEMDIR_APPLY_INVALID: run->sum.invalid_files++; break;
        case EPHEMDIR_APPLY_FAILED: run->sum.failures++; break;
        default: break;
        }
        if (!run->cb)
                return;
        if (fmt) {
                va_start(ap, fmt);
                if (vasprintf(&detail, fmt, ap) < 0)
                        detail = NULL;
                va_end(ap);
        }
        struct ephemdir_apply_event ev = {
                .action = action,
                .dry_run = dry(run),
                .rule = rule ? rule->name : NULL,
                .file = rule ? rule->file : NULL,
                .path = path,
                .detail = detail,
        };
        run->cb(&ev, run->userdata);
}

static const char *rule_name_of(const struct entry *e) {
        if (!e->origin || strncmp(e->origin, ORIGIN_PREFIX, strlen(ORIGIN_PREFIX)) != 0)
                return NULL;
        return e->origin + strlen(ORIGIN_PREFIX);
}

static struct entry *find_entry(struct apply_run *run, const char *rule_name) {
        for (size_t i = 0; i < run->n_rows; i++) {
                const char *n = rule_name_of(&run->rows[i]);
                if (n && streq(n, rule_name))
                        return &run->rows[i];
        }
        return NULL;
}

/* The policy fields a rule dictates, as the registry stores them. */
static struct entry rule_policy(const struct rule *r, int64_t created_at) {
        return (struct entry) {
                .expires_at = r->lifetime > 0 ? created_at + r->lifetime : 0,
                .remove_on_restart = r->remove_on_restart,
                .keep_while_in_use = r->keep_while_in_use,
                .max_size = r->max_size > 0 ? r->max_size : EPHEMDIR_NO_SIZE_LIMIT,
        };
}

static bool policy_differs(const struct entry *e, const struct entry *p) {
        return e->expires_at != p->expires_at || e->remove_on_restart != p->remove_on_restart ||
               e->keep_while_in_use != p->keep_while_in_use || e->max_size != p->max_size;
}

/* Parent missing: create it 0700 when its chain is trusted (rules may
 * declare ~/scratch before it exists).  An existing parent is left as it is;
 * create_directory() checks its trust. */
static int ensure_parent(struct apply_run *run, const struct rule *rule) {
        _cleanup_close_ int fd = -1;

        int r = fs_open_trusted_dir(rule->parent, run->ctx->uid, &fd, NULL, NULL);
        if (r != -ENOENT || dry(run))
                return 0;
        r = fs_mkdir_p_trusted(rule->parent, run->ctx->uid, &fd);
        if (r < 0)
                report(run, EPHEMDIR_APPLY_FAILED, rule, rule->parent, "cannot create parent %s: %s",
                       rule->parent, strerror(-r));
        return r;
}

/* Something already stands at the declared path (clean names only: a
 * secure name is fresh every time). */
static bool path_taken(struct apply_run *run, const struct rule *rule, char **ret_path) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (asprintf(ret_path, "%s%s%s", rule->parent, streq(rule->parent, "/") ? "" : "/", rule->name) < 0) {
                *ret_path = NULL;
                return false;
        }
        if (rule->name_style != EPHEMDIR_NAME_CLEAN)
                return false;
        if (fs_open_trusted_dir(rule->parent, run->ctx->uid, &fd, NULL, NULL) < 0)
                return false;   /* create_directory() reports the parent problem */
        return fstatat(fd, rule->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int create_for_rule(struct apply_run *run, const struct rule *rule, bool fresh_after_sweep) {
        _cleanup_free_ char *origin = NULL, *path = NULL;
        enum ephemdir_apply_action done = fresh_after_sweep ? EPHEMDIR_APPLY_RECREATED : EPHEMDIR_APPLY_CREATED;
        struct entry e = {};

        if (path_taken(run, rule, &path)) {
                report(run, EPHEMDIR_APPLY_CONFLICT, rule, path,
                       "%s exists and is not tracked by ephemdir: left alone", path ? path : rule->name);
                return -EEXIST;
        }
        if (dry(run)) {
                report(run, done, rule, path, NULL);
                return 0;
        }
        int r = ensure_parent(run, rule);
        if (r < 0)
                return r;
        if (asprintf(&origin, ORIGIN_PREFIX "%s", rule->name) < 0)
                return -ENOMEM;
        struct ephemdir_new_opts o = {
                .lifetime = rule->lifetime > 0 ? rule->lifetime : EPHEMDIR_FOREVER,
                .remove_on_restart = rule->remove_on_restart ? EPHEMDIR_YES : EPHEMDIR_NO,
                .keep_while_in_use = rule->keep_while_in_use ? EPHEMDIR_YES : EPHEMDIR_NO,
                .cleanup = EPHEMDIR_CLEANUP_AUTO,
                .max_size = rule->max_size > 0 ? rule->max_size : EPHEMDIR_NO_SIZE_LIMIT,
                .name_style = rule->name_style,
                .parent = rule->parent,
                .tags = (const char *const *) rule->tags,
                .n_tags = rule->n_tags,
                .description = rule->description,
                .origin = origin,
        };
        r = create_directory(run->ctx, &o, rule->name, false, &e);
        if (r == -EEXIST) {
                report(run, EPHEMDIR_APPLY_CONFLICT, rule, path, "%s", ephemdir_last_error(run->ctx));
                return r;
        }
        if (r < 0) {
                report(run, EPHEMDIR_APPLY_FAILED, rule, path, "%s", ephemdir_last_error(run->ctx));
                return r;
        }
        report(run, done, rule, e.path, NULL);
        entry_done(&e);
        return 0;
}

static void update_policy(struct apply_run *run, const struct rule *rule, struct entry *e) {
        struct entry want = rule_policy(rule, e->created_at);

        if (!policy_differs(e, &want))
                return;
        if (!dry(run)) {
                int r = registry_set_policy(run->ctx->reg, e->id, e->version, &want, &e->version);
                if (r < 0) {
                        report(run, EPHEMDIR_APPLY_FAILED, rule, e->path, "updating the policy: %s",
                               registry_error(run->ctx->reg));
                        return;
                }
        }
        e->expires_at = want.expires_at;
        e->remove_on_restart = want.remove_on_restart;
        e->keep_while_in_use = want.keep_while_in_use;
        e->max_size = want.max_size;
        report(run, EPHEMDIR_APPLY_UPDATED, rule, e->path, "policy now from %s", rule->file);
}

/* A recreate: false rule whose directory was swept is "retired": without a
 * mark, the next run would see no entry and create it again.  The mark is a
 * registry value; setting recreate: true (or renaming the rule) lifts it. */
static int retired_key(const struct rule *rule, char **ret) {
        return asprintf(ret, "rule-retired:%s", rule->name) < 0 ? -ENOMEM : 0;
}

static bool rule_retired(struct apply_run *run, const struct rule *rule) {
        _cleanup_free_ char *key = NULL;
        int64_t v = 0;

        if (retired_key(rule, &key) < 0)
                return false;
        (void) registry_stat_get(run->ctx->reg, key, &v);
        if (v && rule->recreate && !dry(run)) {
                (void) registry_stat_set(run->ctx->reg, key, 0);
                return false;
        }
        return v != 0 && !rule->recreate;
}

static void retire_rule(struct apply_run *run, const struct rule *rule) {
        _cleanup_free_ char *key = NULL;

        if (retired_key(rule, &key) == 0)
                (void) registry_stat_set(run->ctx->reg, key, 1);
}

/* The rule's entry exists and is active: keep it, sweep it, or replace it. */
static void reconcile_existing(struct apply_run *run, const struct rule *rule, struct entry *e) {
        struct policy_env env = { .now = platform_now(), .boot_id = run->ctx->boot_id, .mode = POLICY_EXPLICIT };

        update_policy(run, rule, e);
        int r = verify_entry(run->ctx, e, 0, NULL, NULL);
        if (r == -ENOENT) {
                /* Removed by hand: the declaration says it should exist. */
                if (!dry(run) && registry_forget(run->ctx->reg, e->id, e->version) < 0) {
                        report(run, EPHEMDIR_APPLY_FAILED, rule, e->path, "%s", registry_error(run->ctx->reg));
                        return;
                }
                (void) create_for_rule(run, rule, false);
                return;
        }
        if (r == -ESTALE) {
                report(run, EPHEMDIR_APPLY_CONFLICT, rule, e->path,
                       "%s is not the directory ephemdir created: left alone", e->path);
                return;
        }
        if (r < 0) {
                report(run, EPHEMDIR_APPLY_BLOCKED, rule, e->path, "%s: %s", verify_failure_word(r),
                       ephemdir_last_error(run->ctx));
                return;
        }

        unsigned due = policy_due(e, &env);
        if (!due && sweep_over_size(run->ctx, e))
                due |= DUE_OVER_SIZE;
        if (!due)
                return;
        if (dry(run)) {
                report(run, rule->recreate ? EPHEMDIR_APPLY_RECREATED : EPHEMDIR_APPLY_SWEPT, rule, e->path,
                       "%s", policy_reason_word(due));
                return;
        }
        run->last_block[0] = 0;
        r = deletion_run(run->ctx, e, policy_reason_word(due), "swept", &run->sink);
        if (r < 0) {
                report(run, EPHEMDIR_APPLY_BLOCKED, rule, e->path, "due (%s) but not removed: %s",
                       policy_reason_word(due), *run->last_block ? run->last_block : ephemdir_last_error(run->ctx));
                return;
        }
        if (!rule->recreate) {
                retire_rule(run, rule);
                report(run, EPHEMDIR_APPLY_SWEPT, rule, e->path, "%s", policy_reason_word(due));
                return;
        }
        (void) create_for_rule(run, rule, true);
}

static void reconcile_rule(struct apply_run *run, const struct rule *rule) {
        struct entry *e = find_entry(run, rule->name);

        if (!e) {
                if (!rule_retired(run, rule))
                        (void) create_for_rule(run, rule, false);
                return;
        }
        if (e->state != ENTRY_ACTIVE) {
                report(run, EPHEMDIR_APPLY_BLOCKED, rule, e->path, "%s",
                       e->state == ENTRY_DELETING ? "being deleted" : "interrupted deletion: see ephemdir recover");
                return;
        }
        reconcile_existing(run, rule, e);
}

static bool rule_declared(const struct rule_set *set, const char *name) {
        for (size_t i = 0; i < set->n_rules; i++)
                if (streq(set->rules[i].name, name))
                        return true;
        return false;
}

/* An entry made for a rule that is not in the set, while some file or dir
 * could not be read: that rule may be declared there (sweep_skip_fn). */
static bool entry_held(const struct entry *e, const void *userdata) {
        const struct rule_set *set = userdata;
        const char *name = rule_name_of(e);

        return set->n_unread > 0 && name && !rule_declared(set, name);
}

/* "a, b, c" (NULL on ENOMEM). */
static char *join_list(char *const *v, size_t n) {
        size_t len = 1;
        char *s, *p;

        for (size_t i = 0; i < n; i++)
                len += strlen(v[i]) + 2;
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = '\0';
        for (size_t i = 0; i < n; i++)
                p = stpcpy(stpcpy(p, i ? ", " : ""), v[i]);
        return s;
}

/* Entries whose rule is not declared: orphans, or held while the set is
 * incomplete -- an invalid file means "unknown", not "rule deleted". */
static void report_undeclared(struct apply_run *run, const struct rule_set *set) {
        _cleanup_free_ char *unread = set->n_unread ? join_list(set->unread, set->n_unread) : NULL;

        for (size_t i = 0; i < run->n_rows; i++) {
                const char *name = rule_name_of(&run->rows[i]);
                if (!name || rule_declared(set, name))
                        continue;
                if (set->n_unread > 0)
                        report(run, EPHEMDIR_APPLY_HELD, NULL, run->rows[i].path,
                               "rule %s may be declared in %s, which could not be read: left as it is "
                               "until %s", name, unread ? unread : "a rule file",
                               set->n_unread > 1 ? "they are fixed" : "that is fixed");
                else
                        report(run, EPHEMDIR_APPLY_ORPHAN, NULL, run->rows[i].path,
                               "rule %s is gone: kept with its last policy, never recreated", name);
        }
}

static void emit(struct apply_run *run, const struct ephemdir_apply_event *ev) {
        if (run->cb)
                run->cb(ev, run->userdata);
}

static const char *base_name(const char *path) {
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

/* A mask, with the files it keeps from being read: why a rule that is
 * written down somewhere is not applied. */
static void report_mask(struct apply_run *run, const struct rule_mask *m) {
        _cleanup_free_ char *hidden = m->n_hidden ? join_list(m->hidden, m->n_hidden) : NULL;
        _cleanup_free_ char *detail = NULL;

        if (asprintf(&detail, "a symlink to /dev/null; %s%s",
                     m->n_hidden ? "not read: " : "no file of that name below it", hidden ? hidden : "") < 0)
                detail = NULL;
        emit(run, &(struct ephemdir_apply_event) { .action = EPHEMDIR_APPLY_MASKED, .file = m->path,
                                                   .detail = detail });
}

/* Files and masks in reading order (each list is in order of file name),
 * then what went wrong. */
static void report_files(struct apply_run *run, const struct rule_set *set) {
        size_t f = 0, m = 0;

        while (f < set->n_files || m < set->n_masks) {
                if (m == set->n_masks ||
                    (f < set->n_files && strcmp(base_name(set->files[f]), base_name(set->masks[m].path)) < 0))
                        emit(run, &(struct ephemdir_apply_event) { .action = EPHEMDIR_APPLY_FILE,
                                                                   .file = set->files[f++] });
                else
                        report_mask(run, &set->masks[m++]);
        }
        for (size_t i = 0; i < set->n_warnings; i++)
                report(run, EPHEMDIR_APPLY_WARNING, NULL, NULL, "%s", set->warnings[i]);
        for (size_t i = 0; i < set->n_errors; i++)
                report(run, EPHEMDIR_APPLY_INVALID, NULL, NULL, "%s", set->errors[i]);
}

static int load_rules(ephemdir_ctx *ctx, const char *const *dirs, size_t n_dirs, unsigned flags,
                      struct rule_set *ret) {
        char **defaults = NULL;
        size_t n_defaults = 0;
        bool system = flags & EPHEMDIR_APPLY_SYSTEM;
        int r;

        if (!dirs) {
                r = rules_default_dirs(ctx->config_dir, system, &defaults, &n_defaults);
                if (r < 0)
                        return ctx_fail(ctx, r, "cannot build the rules search path");
                dirs = (const char *const *) defaults;
                n_dirs = n_defaults;
        }
        r = rules_load(dirs, n_dirs, system ? 0 : ctx->uid, system, ret);
        for (size_t i = 0; i < n_defaults; i++)
                free(defaults[i]);
        free(defaults);
        if (r < 0)
                return ctx_fail(ctx, r, "reading rule files: %s", strerror(-r));
        return 0;
}

/* Read and report the rule files, nothing else: ctx may have no registry. */
static int validate(ephemdir_ctx *ctx, const char *const *rules_dirs, size_t n_rules_dirs, unsigned flags,
                    ephemdir_apply_fn cb, void *userdata, struct ephemdir_apply_summary *ret) {
        struct apply_run run = { .ctx = ctx, .flags = flags, .cb = cb, .userdata = userdata };
        struct rule_set set = {};

        ctx_clear_error(ctx);
        int r = load_rules(ctx, rules_dirs, n_rules_dirs, flags, &set);
        if (r < 0)
                return r;
        report_files(&run, &set);
        rule_set_done(&set);
        if (ret)
                *ret = run.sum;
        return 0;
}

int ephemdir_apply_validate(const struct ephemdir_ctx_opts *opts, const char *const *rules_dirs,
                            size_t n_rules_dirs, unsigned flags, ephemdir_apply_fn cb, void *userdata,
                            struct ephemdir_apply_summary *ret) {
        ephemdir_ctx *ctx;

        int r = ctx_open_rules_only(&ctx, opts);
        if (r < 0)
                return r;
        r = validate(ctx, rules_dirs, n_rules_dirs, flags, cb, userdata, ret);
        if (r < 0)   /* the context, and its message, go with this call */
                ctx_log(ctx, EPHEMDIR_LOG_ERR, "%s", ephemdir_last_error(ctx));
        ephemdir_ctx_close(ctx);
        return r;
}

/* The rules, then (unless RULES_ONLY) every other due entry: one timer
 * keeps everything clean, ad-hoc entries too.  Held entries stay out of
 * both. */
static int reconcile(struct apply_run *run, const struct rule_set *set) {
        ephemdir_ctx *ctx = run->ctx;

        int r = registry_list_all(ctx->reg, &run->rows, &run->n_rows);
        if (r < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        for (size_t i = 0; i < set->n_rules; i++)
                reconcile_rule(run, &set->rules[i]);
        report_undeclared(run, set);
        entry_free_array(run->rows, run->n_rows);
        run->rows = NULL;
        run->n_rows = 0;
        sweep_sink_done(&run->sink);
        run->sum.failures += run->sink.failures;
        if (run->flags & EPHEMDIR_APPLY_RULES_ONLY)
                return 0;
        r = sweep_explicit(ctx, dry(run), entry_held, set, run->sweep_cb, run->userdata);
        if (r < 0)
                return r;
        run->sum.sweep_failures = r;
        return 0;
}

int ephemdir_apply(ephemdir_ctx *ctx, const char *const *rules_dirs, size_t n_rules_dirs, unsigned flags,
                   ephemdir_apply_fn cb, ephemdir_event_fn sweep_cb, void *userdata,
                   struct ephemdir_apply_summary *ret) {
        struct apply_run run = {
                .ctx = ctx,
                .flags = flags,
                .cb = cb,
                .sweep_cb = sweep_cb,
                .userdata = userdata,
                /* Rule directories are reported as swept/recreated by apply
                 * itself, not a second time as sweep events. */
                .sink = { .cb = remember_block, .check_in_use = true },
        };
        run.sink.userdata = &run;
        struct rule_set set = {};

        if (flags & EPHEMDIR_APPLY_VALIDATE)
                return validate(ctx, rules_dirs, n_rules_dirs, flags, cb, userdata, ret);
        ctx_clear_error(ctx);
        int r = load_rules(ctx, rules_dirs, n_rules_dirs, flags, &set);
        if (r < 0)
                return r;
        report_files(&run, &set);
        r = reconcile(&run, &set);
        rule_set_done(&set);
        if (r < 0)
                return r;
        if (ret)
                *ret = run.sum;
        return 0;
}
