/* SPDX-License-Identifier: MIT */
/*
 * The registry: one SQLite database (registry.db) in the data directory, one
 * row per tracked directory.  Every write is a single short transaction;
 * compare-and-swap on (state, version) is how concurrent processes agree on
 * who may act on an entry.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "ephemdir.h"

enum entry_state {
        ENTRY_ACTIVE,
        ENTRY_DELETING,   /* claimed: claim_id and staging_path are set */
        ENTRY_RECOVERY,   /* parked: ambiguous, needs `ephemdir recover` */
};

struct entry {
        int64_t id;
        char *path;                 /* absolute, normalized */
        char *name;                 /* last component of path */
        char *parent;               /* absolute, normalized */
        char *marker_id;            /* 32 lowercase hex; NULL = legacy (no marker) */
        uint64_t dev;
        uint64_t ino;
        int64_t birth_ns;           /* statx birth time in ns; 0 = unknown.  Inode numbers
                                     * are reused at once on ext4: dev+ino alone cannot tell
                                     * a recreated directory from ours. */
        int64_t created_at;         /* epoch seconds */
        int64_t expires_at;         /* epoch seconds; 0 = no time limit */
        char *boot_id;              /* boot id at creation */
        bool remove_on_restart;
        bool keep_while_in_use;
        enum ephemdir_cleanup cleanup;         /* AUTO or NEXT_SWEEP */
        int64_t max_size;           /* bytes; EPHEMDIR_NO_SIZE_LIMIT = none */
        enum ephemdir_name_style name_style;   /* SECURE or CLEAN */
        char **tags;                /* NULL-terminated; NULL = none */
        char *description;          /* NULL = none */
        char *origin;               /* "cli", "api", "rule:<file>:<name>" */
        enum entry_state state;
        char *claim_id;             /* NULL unless DELETING/RECOVERY */
        char *staging_path;         /* NULL unless DELETING/RECOVERY */
        int64_t version;            /* bumped by every update */
};

void entry_done(struct entry *e);                   /* frees members, zeroes */
void entry_free_array(struct entry *v, size_t n);
int entry_copy(const struct entry *src, struct entry *ret);
const char *entry_state_word(enum entry_state s);   /* active|deleting|recovery */

struct registry;

/* Open or create <data_dir>/registry.db.  data_dir_fd is the verified data
 * directory; data_dir_path is its absolute path (SQLite needs a name).  The
 * database file is opened without following symlinks and must be a regular
 * file owned by the caller.  Corrupt / not-a-database: copies the bytes to
 * registry.db.corrupt-<UTC timestamp>, leaves the file in place, returns
 * -EUCLEAN.  On failure *ret_error (if non-NULL) gets a malloc'd message. */
int registry_open(int data_dir_fd, const char *data_dir_path,
                  struct registry **ret, char **ret_error);
void registry_close(struct registry *r);

/* Last error text (for -EUCLEAN and SQLite failures); never NULL. */
const char *registry_error(const struct registry *r);

int registry_schema_version(struct registry *r);

/* Insert e (id and version are assigned and written back into e). */
int registry_insert(struct registry *r, struct entry *e);

/* Lookups fill *ret; -ENOENT when absent. */
int registry_get_by_id(struct registry *r, int64_t id, struct entry *ret);
int registry_get_by_path(struct registry *r, const char *path, struct entry *ret);
int registry_get_by_name(struct registry *r, const char *name, struct entry *ret);
/* Most recently created active entry. */
int registry_get_last(struct registry *r, struct entry *ret);

/* Entries whose name starts with prefix (index range scan), at most limit
 * (limit 0 = no limit).  *ret_n may be 0. */
int registry_find_by_prefix(struct registry *r, const char *prefix, size_t limit,
                            struct entry **ret, size_t *ret_n);

/* Every entry, oldest first. */
int registry_list_all(struct registry *r, struct entry **ret, size_t *ret_n);

/* Entries in a given state (DELETING / RECOVERY), oldest first. */
int registry_list_by_state(struct registry *r, enum entry_state state,
                           struct entry **ret, size_t *ret_n);

/* Index-selected ACTIVE candidates that may be due: expires_at <= now, or
 * remove_on_restart with boot_id != current_boot_id, or (include_next_sweep)
 * cleanup = next-sweep, or (include_sized) max_size set.  Only ids above
 * after_id, in id (= creation) order, at most limit (0 = no limit).  The
 * caller's policy makes the final decision. */
int registry_due_candidates(struct registry *r, int64_t now, const char *current_boot_id,
                            bool include_next_sweep, bool include_sized, int64_t after_id,
                            size_t limit, struct entry **ret, size_t *ret_n);

/* CAS ACTIVE(version) -> DELETING with claim_id and staging_path; bumps the
 * version.  -ESTALE if the row changed or is gone (a keep/extend won). */
int registry_claim(struct registry *r, int64_t id, int64_t version,
                   const char *claim_id, const char *staging_path);

/* For a row holding claim_id: move to state (ACTIVE clears the claim). */
int registry_release_claim(struct registry *r, int64_t id, const char *claim_id,
                           enum entry_state state);

/* For a RECOVERY row: take a fresh claim (recover).  -ESTALE if changed. */
int registry_reclaim(struct registry *r, int64_t id, int64_t version,
                     const char *claim_id);

/* Delete the row iff it still holds claim_id (deletion commit). */
int registry_commit_delete(struct registry *r, int64_t id, const char *claim_id);

/* Delete the row iff it is ACTIVE at version (keep / prune); -ESTALE else. */
int registry_forget(struct registry *r, int64_t id, int64_t version);
/* Delete the row whatever its state (recover --forget). */
int registry_forget_any(struct registry *r, int64_t id, int64_t version);

/* CAS update of expires_at on an ACTIVE row; bumps version, writes the new
 * version to *ret_version.  -ESTALE if changed or not ACTIVE. */
int registry_set_expiry(struct registry *r, int64_t id, int64_t version,
                        int64_t expires_at, int64_t *ret_version);

/* CAS update of the policy fields (expires_at, remove_on_restart,
 * keep_while_in_use, max_size) of an ACTIVE row from *policy; bumps the
 * version.  -ESTALE if changed or not ACTIVE.  (apply: a rule changed.) */
int registry_set_policy(struct registry *r, int64_t id, int64_t version, const struct entry *policy,
                        int64_t *ret_version);

int registry_count(struct registry *r, int64_t *ret);

/* Monotonic counters (created, removed, kept, swept, ...). */
int registry_stat_add(struct registry *r, const char *key, int64_t delta);
int registry_stat_get(struct registry *r, const char *key, int64_t *ret);
/* Plain values kept beside the counters (the lazy sweep's cursor). */
int registry_stat_set(struct registry *r, const char *key, int64_t value);
