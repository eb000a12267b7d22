/* SPDX-License-Identifier: MIT */
/*
 * In-use probe: is any process holding something at or below a managed
 * directory -- an open file or directory, a working directory, a root
 * directory, or a memory-mapped file?
 *
 * One inuse_scan() collects every (process, path) reference once and serves
 * a whole sweep's first look (the deletion path scans once more for each
 * batch of entries it has staged for deletion, see delete.c): every candidate is answered
 * by inuse_check() in O(log n) (the collected paths are sorted once; each
 * candidate is two binary searches).  Two backends fill the same snapshot:
 *
 * /proc (Linux; no lsof needed):
 *  - For each pid: fd/ (readlink of every fd), cwd, root, and maps (the
 *    path of every file-backed mapping; map_files/ would need
 *    CAP_CHECKPOINT_RESTORE to read, maps does not).  Targets that are not
 *    paths (socket:[..], pipe:[..], anon_inode:..) are ignored; a target
 *    ending in " (deleted)" is kept both as is and with the suffix stripped.
 *  - A process whose thread-group leader has exited while other threads run
 *    is inspected through one of its live threads.  Threads that unshared
 *    their fd table or cwd from the leader are not inspected separately.
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
 *
 * lsof (every other system; on Linux only through the test hook
 * EPHEMDIR_TEST_INUSE_PROBE=lsof -- see inuse-lsof.c for the threats):
 *  - One `lsof -n -P +c 0 -F0pcufn` run per snapshot, never one per
 *    directory.  lsof is taken only from /usr/sbin, /usr/bin, /sbin, /bin
 *    (PATH is ignored), each on a chain owned by root and writable by nobody
 *    else, the file too; it runs with PATH and LC_ALL=C.UTF-8 only, stdin
 *    and stderr on /dev/null, cwd "/", no other fds, and is killed with its
 *    helpers after 10 seconds.  lsof missing or untrusted, killed, exiting
 *    other than 0 or 1 (1: "nothing matched"), output that does not parse
 *    to its end, or output that does not list the scanning process itself:
 *    the snapshot is incomplete (UNKNOWN naming pid 0, "lsof").
 *  - The same entries are seen as through /proc (fds, cwd "cwd", root "rtd",
 *    program "txt", mappings "mem"/"DEL") and "own" is the effective uid
 *    lsof reports.  lsof runs without -w, so what it cannot read shows as an
 *    entry ("... (readlink: <error>)"): refused counts as hidden, vanished as
 *    nothing, anything else -- or an own process without a cwd entry at all
 *    -- as a gap, as in the /proc scan.  Notes lsof appends to names
 *    (" (deleted)", " (path dev=..)") are also cut off; "<mount point>
 *    (<device>)" means somewhere below the mount point.
 *  - lsof escapes unprintable bytes ("\n", "\x7f", "^A") but prints '^'
 *    and (in older versions) '\' as themselves, so a name is only trusted up
 *    to its first '\' or '^': a path starting with that prefix answers
 *    UNKNOWN (naming the holder), never FREE; its directory and above BUSY.
 *    With C.UTF-8 this is rare: only control characters, invalid UTF-8 and
 *    those two characters take a name there.
 *  - Not seen through lsof, unlike /proc: a process whose thread-group
 *    leader has exited while other threads run (Linux lsof leaves it out
 *    without a trace, as it does zombies, which hold nothing).
 *
 * Both:
 *  - Matching is by path as the kernel reports it relative to our root: an
 *    object reached through another bind mount of the same filesystem, or
 *    from another mount namespace, shows under a different path and is not
 *    matched.  Processes in pid namespaces we cannot see are not seen.
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

/* Scan once (/proc, or one lsof run).  Returns 0 with a snapshot, also an
 * incomplete one (no /proc, lsof failed, an own process unreadable): its
 * checks answer UNKNOWN.  -ENOMEM (or -EINVAL for ret NULL) otherwise;
 * callers must then treat every candidate as unknown.  Test hooks, in
 * builds with EPHEMDIR_TEST_HOOKS: EPHEMDIR_TEST_INUSE_FAIL=1 makes the
 * snapshot incomplete; EPHEMDIR_TEST_INUSE_PROBE=lsof picks the lsof
 * backend, EPHEMDIR_TEST_LSOF=<program> runs that instead of the system's
 * lsof (no trust checks: a fake), EPHEMDIR_TEST_LSOF_TIMEOUT_MS=<ms>
 * shortens its timeout. */
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
 * On UNKNOWN they name the process holding a path lsof could not print
 * exactly, else the first own process that could not be inspected, else
 * pid 0 and "" when the scan as a whole failed ("lsof" when lsof did).  Both untouched on FREE;
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
