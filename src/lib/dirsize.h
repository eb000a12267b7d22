/* SPDX-License-Identifier: MIT */
/*
 * Size of a managed directory, for max_size: the disk space its objects
 * take (allocated blocks, st_blocks * 512), measured through dir fds only
 * and bounded so one huge tree cannot stall a sweep.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* 0 in a field means "no limit" for it; a NULL budget means no limits. */
struct dirsize_budget {
        uint64_t max_entries;   /* objects examined, the directory itself included */
        uint64_t max_usec;      /* CLOCK_MONOTONIC time */
};

struct dirsize_result {
        uint64_t bytes;         /* allocated bytes; a lower bound when !complete */
        uint64_t entries;       /* objects examined */
        bool complete;          /* false: budget exhausted, or something unreadable */
        bool crossed_mount_skipped; /* a mount point was found and not entered */
};

/* Sum st_blocks * 512 of everything under dir_fd, the directory itself
 * included.  fd-relative: openat(O_NOFOLLOW|O_DIRECTORY), fstatat
 * (AT_SYMLINK_NOFOLLOW); symlinks count as themselves.  A directory on
 * another filesystem or mount (st_dev or mount id differs, like
 * fs_remove_contents) is neither counted nor entered.  Hard links (nlink > 1)
 * count once per measurement.
 *
 * fds: at most DIRSIZE_MAX_OPEN_FDS at once, whatever the depth: each
 * directory is listed completely when entered (subdirectory names are kept
 * in memory), so ancestors beyond the limit are simply closed and re-entered
 * later via "..", their dev/ino/mount id re-checked.  Trees deeper than
 * RLIMIT_NOFILE are thus measured completely.  A subtree that cannot be
 * opened (EACCES, EMFILE) is left out and makes the result incomplete; an
 * ancestor that changed identity meanwhile (the tree moved) ends the walk,
 * incomplete.  Entries examined never exceed budget->max_entries, and the
 * names remembered are bounded by it too.
 *
 * Returns 0 with *ret filled, complete or not; -EINVAL for a bad fd or NULL
 * ret, -ENOMEM, -ENOTDIR, or the error of reading dir_fd's own identity
 * (-EOPNOTSUPP when no mount id can be read); *ret untouched then. */
int dirsize_measure(int dir_fd, const struct dirsize_budget *budget, struct dirsize_result *ret);

#define DIRSIZE_MAX_OPEN_FDS 16

/* The max_size rule: over the limit only when what was counted already
 * exceeds it.  An incomplete measurement ("≥ bytes") never counts as over on
 * the strength of what it did not see. */
static inline bool dirsize_over_limit(const struct dirsize_result *r, uint64_t max_bytes) {
        return r->bytes > max_bytes;
}
