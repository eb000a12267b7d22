/* SPDX-License-Identifier: MIT */
/*
 * Filesystem primitives of the fd-safe core.  Nothing here hands a built path
 * string to a path-taking syscall: paths are walked component by component
 * from "/" with openat(O_NOFOLLOW), and every later step is relative to a
 * directory fd whose identity has been checked.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The recursive delete moved to its own module; declared here too for the
 * callers that always found it in this header. */
#include "rmtree.h"

/* Lexically normalize path (absolute, or relative to cwd when not NULL):
 * collapse "//", drop ".", resolve ".." textually.  Result is absolute, no
 * trailing slash (except "/").  -EINVAL for empty input or relative input
 * without cwd, or a NUL-free but control-character-laden one is fine. */
int path_normalize(const char *path, const char *cwd, char **ret);

/* Split a normalized absolute path into parent and last component. "/" has
 * no last component: -EINVAL. Both outputs malloc'd. */
int path_split(const char *path, char **ret_parent, char **ret_name);

/* True when `ancestor` equals `path` or is one of its ancestors (both normalized). */
bool path_is_ancestor_or_self(const char *ancestor, const char *path);

enum trust_verdict {
        TRUST_PRIVATE,       /* owned by us, nobody else can create entries in it */
        TRUST_SHARED_STICKY, /* root-owned sticky, like /tmp */
};

/* Walk the normalized absolute path from "/" without following symlinks and
 * return an O_DIRECTORY fd of its last component.  Every component must be a
 * directory owned by uid or root; a component writable by group/others must
 * be sticky and root-owned.  The final directory must be owned by uid and
 * not group/other-writable (TRUST_PRIVATE), or root-owned sticky
 * (TRUST_SHARED_STICKY).  Failures: -ENOENT/-ENOTDIR as found, -ELOOP for a
 * symlink component, -EPERM for a trust violation; *ret_bad_component (if
 * non-NULL) then gets a malloc'd copy of the offending prefix path. */
int fs_open_trusted_dir(const char *path, uid_t uid, int *ret_fd,
                        enum trust_verdict *ret_verdict, char **ret_bad_component);

/* The same walk for a directory that is only read from, such as a rules.d:
 * the components on the way are judged as above, but the final directory
 * must be owned by uid or root and not be writable by group or others (a
 * sticky one included).  A symbolic link on the way is followed (40 at
 * most) when it is owned by uid or root: it sits in a directory already
 * found trusted, so nobody else could have made it; its target is walked
 * with the same checks, "." and ".." included.  Any other link: -ELOOP.
 * On failure, *ret_bad_component names the component at fault in the path
 * as walked (links replaced by their targets).  On -EPERM, *ret_bad_stat
 * (if non-NULL) gets the stat of the refused component, for the message. */
int fs_open_trusted_read_dir(const char *path, uid_t uid, int *ret_fd, char **ret_bad_component,
                             struct stat *ret_bad_stat);

/* Like fs_open_trusted_dir, but creates missing components 0700 first
 * (mkdir -p for the data and config dirs). */
int fs_mkdir_p_trusted(const char *path, uid_t uid, int *ret_fd);

/* Mount id of the object behind fd: statx(STATX_MNT_ID), else the mnt_id
 * line of /proc/self/fdinfo/<fd>.  -EOPNOTSUPP when neither works (callers
 * then refuse to delete).  *ret_method (if non-NULL): "statx" or "fdinfo". */
int fs_mount_id(int fd, uint64_t *ret, const char **ret_method);

/* Testing only: 0 = normal; 1 = skip statx (force the fdinfo fallback);
 * 2 = skip both, so every mount-id lookup fails with -EOPNOTSUPP.  Either
 * level only makes lookups fail closed or take the slower equivalent path. */
void fs_mount_id_force_fallback(int level);
/* Testing only (used by fs_mount_id): the "mnt_id:" value of fdinfo text;
 * -ENOENT without such a line, -EINVAL/-ERANGE when malformed. */
int fs_fdinfo_parse_mnt_id(const char *text, uint64_t *ret);

/* fstat(fd) is the object (dev, ino) names?  -ESTALE when not. */
int fs_verify_same(int fd, uint64_t dev, uint64_t ino);

/* Open name in dir_fd as a directory without following symlinks, and check
 * it is on the same mount as dir_fd.  -EXDEV when it is a mount point. */
int fs_open_child_dir(int dir_fd, const char *name, int *ret_fd);

/* What the deletion walk (rmtree.c) checks every directory against: the
 * device and inode it is, and the mount it is on; plus its size, a hint of
 * how many entries it holds (0 when unknown), never used for a decision
 * about what to delete. */
struct fs_dir_identity {
        uint64_t dev;   /* encoded like st_dev */
        uint64_t ino;
        uint64_t mnt;   /* mount id */
        uint64_t size;  /* st_size */
};

/* Identity of the directory open at fd: one statx, or fstat plus the
 * mount-id fallback.  -ENOTDIR for a non-directory; -EOPNOTSUPP when no
 * mount id can be read (then nothing may be deleted below it). */
int fs_dir_identity(int fd, struct fs_dir_identity *ret);

/* openat(dir_fd, name, O_RDONLY|O_DIRECTORY|O_NOFOLLOW) and check the result
 * is on the device and mount `expect` names (st_dev catches another
 * filesystem, the mount id a bind mount of the same one).  Returns the fd,
 * or -EXDEV (nothing stays open), -ELOOP/-ENOTDIR, -ENOENT, ...; *ret_id
 * (if non-NULL) gets the child's identity. */
int fs_open_child_on_mount(int dir_fd, const char *name, const struct fs_dir_identity *expect,
                           struct fs_dir_identity *ret_id);
