/* SPDX-License-Identifier: MIT */
/*
 * Identity verification: is the thing at an entry's path still the directory
 * ephemdir created?  Answers with open fds so that every later step acts on
 * the verified object, not on whatever the name points to by then.
 */
#pragma once

#include <stdint.h>
#include <sys/stat.h>

#include "ctx.h"
#include "registry.h"

enum verify_flags {
        VERIFY_ALLOW_LEGACY = 1 << 0,   /* accept a marker-less (legacy) entry by inode */
        VERIFY_SKIP_GUARD = 1 << 1,     /* read-only callers (list) */
};

/* Open the entry's parent (trusted walk) and the directory itself
 * (O_NOFOLLOW), check dev/ino, that it is not a mount point, and the marker.
 *   -ENOENT     path (or its parent) is missing
 *   -ESTALE     replaced: another object, wrong inode, marker missing/altered
 *   -EXDEV      the directory is a mount point
 *   -EOPNOTSUPP no mount id can be read (so deletion could not be bounded)
 *   -EPERM      deletion guard or parent trust refused (message on ctx)
 *   -EACCES ... inaccessible
 * On success both fds are returned (either ret may be NULL). */
int verify_entry(ephemdir_ctx *ctx, const struct entry *e, unsigned flags,
                 int *ret_parent_fd, int *ret_dir_fd);

/* The checks of verify_entry() after the parent: parent_fd must come from
 * a trusted walk of the entry's parent (for callers that verify many
 * entries of one parent: list).  No deletion guard here. */
int verify_entry_in(const struct entry *e, unsigned flags, int parent_fd, int *ret_dir_fd);

/* The cheap check for listings: one statx of the entry's name in a trusted
 * parent_fd (whose mount id is parent_mnt_id).  The directory's dev, ino,
 * birth time and mount are checked; its marker is not read, so a directory
 * that passes this may still fail verify_entry_in().  Never a basis for
 * deletion.  0, -ENOENT, -ESTALE, -EXDEV (a mount point), or -EOPNOTSUPP
 * when the kernel reports no mount id (use verify_entry_in() then). */
int verify_identity_at(const struct entry *e, int parent_fd, uint64_t parent_mnt_id);

/* Birth time of a statx result in ns, 0 when the filesystem has none. */
int64_t verify_birth_ns(const struct statx *stx);

/* The name in parent_fd (not followed) is a directory with the entry's
 * dev, ino and birth time: 0, -ENOENT, or -ESTALE. */
int verify_name_is(int parent_fd, const char *name, const struct entry *e);

/* kebab-case word for a verify_entry() failure: path-missing, identity-changed,
 * mount-point, no-mount-id, untrusted-path, inaccessible. */
const char *verify_failure_word(int err);
