/* SPDX-License-Identifier: MIT */
/*
 * Inside the in-use probe (not a public contract): the snapshot storage
 * every backend fills (inuse.c), and the lsof backend (inuse-lsof.c).  The
 * unit tests use it to feed the lsof parser and resolver directly.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "inuse.h"

/* ------------------------------------------------------------------------ */
/* Snapshot storage (inuse.c).  Adders return 0 or -ENOMEM.                 */

/* An empty, complete snapshot. */
int inuse_snapshot_new(struct inuse_snapshot **ret);
/* A process; *ret_index is what the path adders take as proc. */
int inuse_snapshot_add_proc(struct inuse_snapshot *s, pid_t pid, const char *comm, size_t *ret_index);
/* Process proc holds path[0, len) exactly.  Not absolute: ignored. */
int inuse_snapshot_add_path(struct inuse_snapshot *s, size_t proc, const char *path, size_t len);
/* Process proc holds a path of which only the beginning, prefix[0, len), is
 * known; more bytes follow.  Checks of the prefix's directory and above
 * answer BUSY; checks of anything starting with the whole prefix, UNKNOWN
 * (never FREE). */
int inuse_snapshot_add_inexact(struct inuse_snapshot *s, size_t proc, const char *prefix, size_t len);
/* Something could not be inspected: checks not BUSY answer UNKNOWN, naming
 * the first process marked (pid 0: the scan as a whole). */
void inuse_snapshot_mark_unknown(struct inuse_snapshot *s, pid_t pid, const char *comm);
/* An own process the kernel refuses to show: counted, not a gap. */
void inuse_snapshot_note_hidden(struct inuse_snapshot *s);
/* Done adding: sort for inuse_check(). */
void inuse_snapshot_seal(struct inuse_snapshot *s);

/* ------------------------------------------------------------------------ */
/* lsof backend (inuse-lsof.c)                                              */

/* Where lsof is looked for, in order (NULL-terminated).  PATH never is. */
extern const char *const inuse_lsof_system_dirs[];

struct inuse_lsof_opts {
        const char *program; /* run this instead (tests only); NULL: resolve from the system dirs */
        int timeout_ms;      /* <= 0: the default */
};

/* Run lsof once and fill s (not sealed).  Failures to run or to read it
 * mark s incomplete (as pid 0, "lsof"); < 0 only for -ENOMEM. */
int inuse_lsof_scan(struct inuse_snapshot *s, uid_t uid, const struct inuse_lsof_opts *opts);

/* Find "lsof" in the first of dirs (NULL-terminated) where it is trusted:
 * the directory and its whole chain root-owned and writable by nobody else
 * (a root-owned sticky intermediate such as /tmp is fine), the file a
 * regular, root-owned file nobody else can write.  Untrusted candidates are
 * skipped, symlinks too (never followed).  Returns an O_RDONLY|O_CLOEXEC fd
 * of the file and its path (malloc'd).  -ENOENT when there is none; when
 * the only candidates were refused, the first refusal (-EPERM untrusted,
 * -EACCES unreadable...). */
int inuse_lsof_resolve(const char *const *dirs, int *ret_fd, char **ret_path);

/* Parse the output of `lsof -F0pcufn` into s.  uid: whose processes count
 * as own (0: all).  self: the scanning process (skipped, and required to be
 * listed: proof that lsof could see us); lsof_pid: skipped.  Broken framing,
 * a missing self, an own process without a cwd entry or with an entry lsof
 * could not read (other than refused or vanished) mark s incomplete.
 * < 0 only for -ENOMEM. */
int inuse_lsof_parse(struct inuse_snapshot *s, const char *out, size_t len, uid_t uid,
                     pid_t self, pid_t lsof_pid);
