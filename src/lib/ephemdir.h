/* SPDX-License-Identifier: MIT */
/*
 * libephemdir — temporary directories that clean themselves up.
 *
 * This header is the whole public contract.  Conventions:
 *
 *  - Functions return 0 (or a documented non-negative value) on success and a
 *    negative errno-style code on failure.  The codes with a specific meaning:
 *      -ENOENT    the target is not tracked
 *      -ENOTUNIQ  a name prefix matches more than one tracked directory
 *      -EBUSY     the entry is being deleted, or is in use
 *      -ESTALE    the directory on disk is not the one ephemdir created
 *                 (replaced, or its marker is missing or altered)
 *      -EUCLEAN   the registry is corrupt (a copy was saved, nothing changed)
 *      -EPERM     a path failed the trust or deletion-guard checks
 *      -EINVAL    bad input (the message says which value)
 *    ephemdir_strerror() turns any of them into text.
 *  - Output parameters are prefixed ret_ and written only on success.
 *  - The library never prints.  It reports through the log callback given in
 *    struct ephemdir_ctx_opts, and per-call detail through ephemdir_last_error().
 *  - Option structs are "zero = unset": a field left 0/NULL takes the value
 *    from the user's config, then the built-in default.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ephemdir_ctx ephemdir_ctx;
typedef struct ephemdir_dir ephemdir_dir;

/* ---- errors and logging ------------------------------------------------- */

const char *ephemdir_strerror(int err);

enum ephemdir_log_level {
        EPHEMDIR_LOG_ERR = 3,
        EPHEMDIR_LOG_WARNING = 4,
        EPHEMDIR_LOG_NOTICE = 5,
        EPHEMDIR_LOG_INFO = 6,
        EPHEMDIR_LOG_DEBUG = 7,
};

typedef void (*ephemdir_log_fn)(int level, const char *message, void *userdata);

/* ---- context ------------------------------------------------------------ */

struct ephemdir_ctx_opts {
        /* Registry location.  NULL: $EPHEMDIR_DATA_DIR, else
         * $XDG_DATA_HOME/ephemdir, else ~/.local/share/ephemdir. */
        const char *data_dir;
        /* Config location.  NULL: $EPHEMDIR_CONFIG_DIR, else
         * $XDG_CONFIG_HOME/ephemdir, else ~/.config/ephemdir. */
        const char *config_dir;
        ephemdir_log_fn log;
        void *log_userdata;
};

/* Open (creating if needed, 0700) the data directory and its registry. */
int ephemdir_ctx_open(ephemdir_ctx **ret, const struct ephemdir_ctx_opts *opts);
void ephemdir_ctx_close(ephemdir_ctx *ctx);

/* Human-readable detail for the last failed call on this context ("" if none).
 * Valid until the next call on the context. */
const char *ephemdir_last_error(const ephemdir_ctx *ctx);

const char *ephemdir_ctx_data_dir(const ephemdir_ctx *ctx);

/* ---- creating ------------------------------------------------------------ */

enum ephemdir_tristate {
        EPHEMDIR_DEFAULT = 0,
        EPHEMDIR_YES = 1,
        EPHEMDIR_NO = 2,
};

enum ephemdir_cleanup {
        EPHEMDIR_CLEANUP_DEFAULT = 0,
        EPHEMDIR_CLEANUP_AUTO = 1,        /* due by lifetime / restart / size */
        EPHEMDIR_CLEANUP_NEXT_SWEEP = 2,  /* due at any explicit sweep */
};

enum ephemdir_name_style {
        EPHEMDIR_NAME_DEFAULT = 0,
        EPHEMDIR_NAME_AUTO = 1,    /* clean in an owner-private parent, else secure */
        EPHEMDIR_NAME_SECURE = 2,  /* adjective-animal-<16 hex> */
        EPHEMDIR_NAME_CLEAN = 3,   /* adjective-animal, owner-private parent only */
};

/* The words of ephemdir(1) and its files for these settings: "auto",
 * "next-sweep"; "auto", "secure", "clean".  NULL for DEFAULT (a request for
 * the default, not a value) or an unknown value. */
const char *ephemdir_cleanup_word(enum ephemdir_cleanup c);
const char *ephemdir_name_style_word(enum ephemdir_name_style s);

/* The reverse, exactly (case matters); -EINVAL for any other word.  ret may
 * be NULL to only check. */
int ephemdir_cleanup_from_word(const char *w, enum ephemdir_cleanup *ret);
int ephemdir_name_style_from_word(const char *w, enum ephemdir_name_style *ret);

/* Lifetime value meaning "no time limit" (distinct from 0 = unset). */
#define EPHEMDIR_FOREVER INT64_C(-1)
/* max_size value meaning "no size limit". */
#define EPHEMDIR_NO_SIZE_LIMIT INT64_C(-1)

#define EPHEMDIR_MAX_TAGS 16
#define EPHEMDIR_MAX_DESCRIPTION 256

struct ephemdir_new_opts {
        int64_t lifetime;                   /* seconds, EPHEMDIR_FOREVER, 0 = unset */
        enum ephemdir_tristate remove_on_restart;
        enum ephemdir_tristate keep_while_in_use;
        enum ephemdir_cleanup cleanup;
        int64_t max_size;                   /* bytes, EPHEMDIR_NO_SIZE_LIMIT, 0 = unset */
        enum ephemdir_name_style name_style;
        const char *parent;                 /* NULL: current directory */
        const char *prefix;                 /* prepended to the generated name */
        int words;                          /* 1..4, 0 = unset (2) */
        const char *const *tags;            /* n_tags entries */
        size_t n_tags;
        const char *description;
        const char *origin;                 /* NULL: "api" */
};

/* Create a directory (0700, with a .ephemdir marker) and track it.  Runs a
 * bounded lazy sweep of already-due entries first. */
int ephemdir_new(ephemdir_ctx *ctx, const struct ephemdir_new_opts *opts, ephemdir_dir **ret);

/* ---- handles ---------------------------------------------------------------
 * A handle remembers the marker id and row version it was made from: acting on
 * a stale handle fails with -ESTALE instead of touching a replacement. */

const char *ephemdir_dir_path(const ephemdir_dir *d);
const char *ephemdir_dir_name(const ephemdir_dir *d);
int64_t ephemdir_dir_created_at(const ephemdir_dir *d);
int64_t ephemdir_dir_expires_at(const ephemdir_dir *d);   /* 0: no time limit */

int ephemdir_dir_remove(ephemdir_dir *d);   /* delete now, stop tracking */
int ephemdir_dir_keep(ephemdir_dir *d);     /* stop tracking, keep on disk */
int ephemdir_dir_extend(ephemdir_dir *d, int64_t seconds);  /* from now; EPHEMDIR_FOREVER */
void ephemdir_dir_free(ephemdir_dir *d);

/* Scope end for EPHEMDIR_SCOPED handles: removes the directory unless it was
 * kept (by this handle or by anyone else first), then frees the handle. */
void ephemdir_dir_scope_end(ephemdir_dir **d);
#define EPHEMDIR_SCOPED __attribute__((cleanup(ephemdir_dir_scope_end)))

/* ---- by target (full path, exact name or unique name prefix) -------------
 * A NULL target means "the managed directory I stand in": the nearest
 * ancestor of the current directory that is an active entry whose inode and
 * marker verify.  Anything else fails closed (-ENOENT). */

int ephemdir_resolve(ephemdir_ctx *ctx, const char *target, ephemdir_dir **ret);
/* The most recently created tracked directory (-ENOENT when none). */
int ephemdir_last(ephemdir_ctx *ctx, ephemdir_dir **ret);
int ephemdir_remove(ephemdir_ctx *ctx, const char *target);
int ephemdir_keep(ephemdir_ctx *ctx, const char *target);
int ephemdir_extend(ephemdir_ctx *ctx, const char *target, int64_t seconds);

/* Retry an interrupted deletion (an entry being deleted, or parked in
 * recovery) through the same verified path; with forget, drop the registry
 * entry instead, touching neither the original nor the staging path.
 * -EALREADY when the target is not mid-deletion; -EBUSY while another
 * process is working on it. */
int ephemdir_recover(ephemdir_ctx *ctx, const char *target, bool forget);

/* keep every active entry carrying tag.  Returns the count kept. */
int ephemdir_keep_tag(ephemdir_ctx *ctx, const char *tag);

/* Forget tracked entries whose path is missing from disk.  Returns the count. */
int ephemdir_prune(ephemdir_ctx *ctx);

/* ---- listing ----------------------------------------------------------------*/

enum ephemdir_status {
        EPHEMDIR_STATUS_ACTIVE,         /* counting down */
        EPHEMDIR_STATUS_EXPIRING,       /* less than 15 minutes left */
        EPHEMDIR_STATUS_EXPIRED,        /* due at the next sweep */
        EPHEMDIR_STATUS_UNTIL_RESTART,
        EPHEMDIR_STATUS_UNTIL_SWEEP,
        EPHEMDIR_STATUS_KEPT,           /* tracked, no automatic cleanup */
        EPHEMDIR_STATUS_MISSING,
        EPHEMDIR_STATUS_REPLACED,
        EPHEMDIR_STATUS_LEGACY,
        EPHEMDIR_STATUS_DELETING,
        EPHEMDIR_STATUS_RECOVERY,
        EPHEMDIR_STATUS_UNAVAILABLE,
        EPHEMDIR_STATUS_BLOCKED,
        _EPHEMDIR_STATUS_MAX,
};

/* "active", "expiring", ... as used in JSON output. */
const char *ephemdir_status_word(enum ephemdir_status s);

struct ephemdir_info {
        char *path;
        char *name;
        char *parent;
        enum ephemdir_status status;
        bool exists;
        int64_t created_at;
        int64_t expires_at;            /* 0: none */
        int64_t remaining_seconds;     /* meaningful when expires_at != 0 */
        bool remove_on_restart;
        bool keep_while_in_use;
        enum ephemdir_cleanup cleanup;
        int64_t max_size;              /* EPHEMDIR_NO_SIZE_LIMIT: none */
        enum ephemdir_name_style name_style;
        char **tags;                   /* NULL-terminated */
        char *description;             /* may be NULL */
        char *origin;
        char *lifecycle_state;         /* "active", "deleting", "recovery" */
        char *staging_path;            /* NULL unless deleting/recovery */
        int staging_exists;            /* 1 present, 0 missing, -1 no staging path or unknown */
        /* keep_while_in_use entries: >0 the pid holding something inside,
         * 0 nothing seen, -1 cannot tell (deletion would be deferred). */
        int in_use_pid;
        char in_use_comm[17];
};

/* Allocated bytes under the tracked directory at path, measured after its
 * identity is verified, fd-relative, never across a mount, within a time and
 * entry budget: *ret_complete is false when the figure is a lower bound. */
int ephemdir_measure(ephemdir_ctx *ctx, const char *path, int64_t *ret_bytes, bool *ret_complete);

/* All tracked entries, oldest first.  Free with ephemdir_info_free_array. */
int ephemdir_list(ephemdir_ctx *ctx, struct ephemdir_info **ret_items, size_t *ret_n);
void ephemdir_info_free_array(struct ephemdir_info *items, size_t n);

/* ---- sweeping ---------------------------------------------------------------*/

enum ephemdir_sweep_flags {
        EPHEMDIR_SWEEP_DRY_RUN = 1 << 0,  /* report, change nothing */
        EPHEMDIR_SWEEP_FORCE = 1 << 1,    /* every tracked directory is due */
};

enum ephemdir_event_kind {
        EPHEMDIR_EVENT_REMOVED,       /* deleted and untracked */
        EPHEMDIR_EVENT_WOULD_REMOVE,  /* dry run */
        EPHEMDIR_EVENT_BLOCKED,       /* due, but not safe to delete now */
        EPHEMDIR_EVENT_PARKED,        /* moved to recovery */
        EPHEMDIR_EVENT_RECOVERED,     /* an interrupted deletion was finished */
        EPHEMDIR_EVENT_FAILED,
};

struct ephemdir_event {
        enum ephemdir_event_kind kind;
        const char *path;
        const char *name;
        const char *reason;   /* kebab-case id: expired, restarted, identity-changed, ... */
        const char *detail;   /* human text, may be NULL */
        int error;            /* negative errno for FAILED/BLOCKED, else 0 */
};

typedef void (*ephemdir_event_fn)(const struct ephemdir_event *ev, void *userdata);

/* Finish or park interrupted deletions, then delete every due entry.
 * Returns the number of entries that failed (0 = clean sweep) or a negative
 * error if the sweep could not run at all. */
int ephemdir_sweep(ephemdir_ctx *ctx, unsigned flags, ephemdir_event_fn cb, void *userdata);
/* The same, limited to entries carrying tag (NULL: all). */
int ephemdir_sweep_tag(ephemdir_ctx *ctx, unsigned flags, const char *tag, ephemdir_event_fn cb,
                       void *userdata);

/* ---- declarative rules (rules.d, ephemdir-apply) -------------------------------*/

enum ephemdir_apply_flags {
        EPHEMDIR_APPLY_DRY_RUN = 1 << 0,     /* report what would change, change nothing */
        EPHEMDIR_APPLY_RULES_ONLY = 1 << 1,  /* skip the sweep of all other due entries */
        EPHEMDIR_APPLY_VALIDATE = 1 << 2,    /* only read and check the rule files */
        EPHEMDIR_APPLY_SYSTEM = 1 << 3,      /* system scope: /etc, /run, /usr/lib rules.d */
};

enum ephemdir_apply_action {
        EPHEMDIR_APPLY_FILE,         /* an effective rule file, in order (path in .file) */
        EPHEMDIR_APPLY_CREATED,
        EPHEMDIR_APPLY_RECREATED,    /* swept because due, then created fresh */
        EPHEMDIR_APPLY_SWEPT,        /* due and removed (recreate: false) */
        EPHEMDIR_APPLY_UPDATED,      /* the rule's policy changed; the directory stays */
        EPHEMDIR_APPLY_CONFLICT,     /* something not ours stands at the declared path */
        EPHEMDIR_APPLY_ORPHAN,       /* tracked from a rule that no longer exists */
        EPHEMDIR_APPLY_BLOCKED,      /* due, but not safe to delete now */
        EPHEMDIR_APPLY_INVALID,      /* a rule file was skipped: detail is FILE:LINE:COL: message */
        EPHEMDIR_APPLY_WARNING,
        EPHEMDIR_APPLY_FAILED,
        EPHEMDIR_APPLY_MASKED,       /* a file name masked (.file: the symlink; .detail: what it hides),
                                      * in reading order among the FILE events */
        EPHEMDIR_APPLY_HELD,         /* its rule may be in a file that could not be read: left as it is */
};

struct ephemdir_apply_event {
        enum ephemdir_apply_action action;
        bool dry_run;                /* "would be" rather than "was" */
        const char *rule;            /* may be NULL */
        const char *file;            /* the rule file, may be NULL */
        const char *path;            /* the directory, may be NULL */
        const char *detail;          /* human text, may be NULL */
};

typedef void (*ephemdir_apply_fn)(const struct ephemdir_apply_event *ev, void *userdata);

struct ephemdir_apply_summary {
        unsigned created, recreated, swept, updated, conflicts, orphans, blocked, invalid_files, failures;
        int sweep_failures;          /* from the sweep of other entries */
};

/* Reconcile the rule files in rules_dirs (highest priority first; NULL: the
 * default search path of the scope) against the registry: create what is
 * declared and absent, sweep what is due (recreating it when the rule says
 * so), update changed policies, report conflicts and orphans, then (unless
 * RULES_ONLY) sweep every other due entry through the same deletion path.
 * Invalid files are skipped whole.  While a rule file or rules directory
 * could not be read (invalid, unreadable, refused), an entry whose rule is
 * not in the files read is HELD instead of ORPHAN: its rule may be in that
 * file, so it is not swept either.  Sweep events go to sweep_cb.  With
 * VALIDATE, the same as ephemdir_apply_validate() on ctx. */
int ephemdir_apply(ephemdir_ctx *ctx, const char *const *rules_dirs, size_t n_rules_dirs, unsigned flags,
                   ephemdir_apply_fn cb, ephemdir_event_fn sweep_cb, void *userdata,
                   struct ephemdir_apply_summary *ret);

/* Only read and check the rule files (--validate, --cat-config), without a
 * context: the data directory and its registry are not opened, created or
 * locked, so this works before ephemdir ever ran and whatever state the
 * registry is in.  opts: config_dir and the log as for ephemdir_ctx_open()
 * (data_dir is not used); NULL for the defaults.  flags: SYSTEM is used,
 * the others are ignored.  Reports FILE and MASKED events in reading
 * order, then WARNING and INVALID ones; *ret counts invalid_files.  A
 * failure (no config directory can be determined, -ENOMEM) is also logged
 * at EPHEMDIR_LOG_ERR. */
int ephemdir_apply_validate(const struct ephemdir_ctx_opts *opts, const char *const *rules_dirs,
                            size_t n_rules_dirs, unsigned flags, ephemdir_apply_fn cb, void *userdata,
                            struct ephemdir_apply_summary *ret);

/* ---- explaining ---------------------------------------------------------------*/

struct ephemdir_check {
        const char *check;   /* tracked, lifecycle, deletion-guard, parent-trusted, exists,
                              * identity, mount, lifetime, restart, cleanup, size, in-use */
        bool ok;             /* false: this check blocks deletion or makes it due */
        char *detail;        /* human text */
};

struct ephemdir_explanation {
        char *path;
        char *name;
        enum ephemdir_status status;
        bool due;                    /* policy says it should go at the next sweep */
        bool destructive_allowed;    /* due and nothing blocks: a sweep would delete it now */
        char **reasons;              /* NULL-terminated: expired, restarted, next-sweep, over-size */
        char **blocked_by;           /* NULL-terminated: path-missing, identity-changed, ... */
        struct ephemdir_check *decision;
        size_t n_decision;
        int64_t size_bytes;          /* -1: not measured */
        bool size_complete;          /* false: size_bytes is a lower bound */
        int64_t max_size_bytes;      /* EPHEMDIR_NO_SIZE_LIMIT: none */
        int64_t expires_at;          /* 0: none */
        int64_t remaining_seconds;
};

/* Why is (or isn't) this directory due, and what would stop its deletion? */
int ephemdir_explain(ephemdir_ctx *ctx, const char *target, struct ephemdir_explanation **ret);
void ephemdir_explanation_free(struct ephemdir_explanation *x);

/* ---- statistics ---------------------------------------------------------------*/

struct ephemdir_stats {
        int64_t created;    /* directories created, ever */
        int64_t swept;      /* removed by sweeps */
        int64_t removed;    /* removed on request (rm, scope end) */
        int64_t kept;       /* made permanent */
        int64_t tracked;    /* currently tracked */
};
int ephemdir_stats(ephemdir_ctx *ctx, struct ephemdir_stats *ret);

/* ---- diagnostics --------------------------------------------------------------*/

/* Where things are and which mechanisms this system offers.  Strings stay
 * valid while the context is open. */
struct ephemdir_doctor {
        const char *data_dir;
        const char *data_dir_source;     /* option, EPHEMDIR_DATA_DIR, XDG_DATA_HOME, default */
        const char *config_dir;
        const char *config_dir_source;
        int schema_version;
        const char *mount_id_method;     /* statx, fdinfo, or NULL: deletion impossible */
        const char *boot_id;
        const char *boot_id_source;      /* /proc/sys/kernel/random/boot_id, test-hook */
        bool test_hooks;                 /* built with -Dtest_hooks=true */
        bool inuse_complete;             /* the in-use probe can see all your processes */
        size_t inuse_processes;          /* processes it inspected */
        size_t inuse_hidden;             /* yours the kernel hides (non-dumpable) */
};
int ephemdir_doctor(ephemdir_ctx *ctx, struct ephemdir_doctor *ret);

/* ---- parsers ------------------------------------------------------------------*/

/* "90", "30m", "1h30m", "7d", "2w" -> seconds (> 0). */
int ephemdir_parse_duration(const char *s, int64_t *ret_seconds);
/* "4096", "512K", "2GiB", "1.5G", "500MB" -> bytes (> 0). */
int ephemdir_parse_size(const char *s, int64_t *ret_bytes);

#ifdef __cplusplus
}
#endif
