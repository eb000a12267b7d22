/* SPDX-License-Identifier: MIT */
/*
 * In-use probe (Linux, /proc): is any process holding something at or below
 * a managed directory -- an open file or directory, a working directory, a
 * root directory, or a memory-mapped file?  No lsof needed.
 *
 * One inuse_scan() reads /proc once and serves a whole sweep: every
 * candidate is then answered by inuse_check() in O(log n) (the collected
 * paths are sorted once; each candidate is two binary searches).
 *
 * What is seen, and what is not:
 *  - For each pid: fd/ (readlink of every fd), cwd, root, and maps (the
 *    path of every file-backed mapping; map_files/ would need
 *    CAP_CHECKPOINT_RESTORE to read, maps does not).  Targets that are not
 *    paths (socket:[..], pipe:[..], anon_inode:..) are ignored; a target
 *    ending in " (deleted)" is kept both as is and with the suffix stripped.
 *  - A process whose thread-group leader has exited while other threads run
 *    is inspected through one of its live threads.  Threads that unshared
 *    their fd table or cwd from the leader are not inspected separately.
 *  - Matching is by path as the kernel reports it relative to our root: an
 *    object reached through another bind mount of the same filesystem, or
 *    from another mount namespace, shows under a different path and is not
 *    matched.  Processes in pid namespaces we cannot see are not seen.
 *  - "Own" processes are those with any of real/effective/saved/fs uid equal
 *    to the uid given to inuse_scan() (for uid 0: every process).  An own
 *    process whose entries cannot be read for any reason other than the
 *    process vanishing or the kernel refusing access makes the snapshot
 *    incomplete, and an incomplete snapshot answers UNKNOWN wherever it does
 *    not know BUSY.  A refusal (EACCES/EPERM) is how the kernel hides
 *    non-dumpable processes (ssh-agent, setuid programs) from their own user
 *    and, in sandboxes, some processes even from root: those are outside
 *    what the probe can see, like other users' processes, and only counted
 *    (inuse_stats.hidden).
 *  - Processes of other users that we cannot read are ignored: we cannot
 *    see them (managed directories are created 0700, so they only get in
 *    if the owner let them).  Those we can read are matched.
 *  - The scanning process itself is skipped entirely (a sweep holds dir fds
 *    of its candidates, and may be run from inside one).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define INUSE_COMM_MAX 17 /* TASK_COMM_LEN (16) + NUL */

struct inuse_snapshot;

/* Scan /proc once.  Returns 0 with a snapshot, also an incomplete one (no
 * /proc, an own process unreadable): its checks answer UNKNOWN.  -ENOMEM
 * (or -EINVAL for ret NULL) otherwise; callers must then treat every
 * candidate as unknown.  Test hook: in builds with EPHEMDIR_TEST_HOOKS,
 * EPHEMDIR_TEST_INUSE_FAIL=1 makes the snapshot incomplete. */
int inuse_scan(uid_t uid, struct inuse_snapshot **ret);
void inuse_snapshot_free(struct inuse_snapshot *s);
static inline void inuse_snapshot_freep(struct inuse_snapshot **s) {
        if (*s)
                inuse_snapshot_free(*s);
}

enum inuse_verdict {
        INUSE_FREE,     /* nothing seen holding anything inside, scan complete */
        INUSE_BUSY,     /* a process holds something inside */
        INUSE_UNKNOWN,  /* not provably free: never delete */
};

/* Is anything at or below any of the given absolute, normalized paths held
 * (the managed directory and its staging path)?  Whole components: /a/b
 * matches /a/b and /a/b/c, not /a/bc.  BUSY wins over an incomplete scan.
 * On BUSY, *ret_pid and ret_comm name the holder (lowest-sorting match).
 * On UNKNOWN they name the first own process that could not be inspected,
 * or pid 0 and "" when the scan as a whole failed.  Both untouched on FREE;
 * either may be NULL.  A relative or empty path answers UNKNOWN. */
enum inuse_verdict inuse_check(const struct inuse_snapshot *s, const char *const *paths,
                               size_t n_paths, pid_t *ret_pid, char ret_comm[INUSE_COMM_MAX]);

struct inuse_stats {
        size_t processes;       /* processes inspected (own pid excluded) */
        size_t paths;           /* path references collected */
        size_t uninspectable;   /* own processes that could not be read (scan incomplete) */
        size_t hidden;          /* own processes the kernel refuses to show (non-dumpable,
                                 * or beyond root's reach in a sandbox): not gaps */
        bool complete;
};

void inuse_snapshot_stats(const struct inuse_snapshot *s, struct inuse_stats *ret);

/* Word for logs and explain: "free", "in-use", "unknown". */
const char *inuse_verdict_word(enum inuse_verdict v);
