/* SPDX-License-Identifier: MIT */
/*
 * The fd-bound recursive delete: the one way the core removes a tree.  It
 * walks with directory fds only (fsutil.h's identity and child-opening
 * primitives), never follows a symlink, never crosses a mount, and notices
 * when a directory it is in gets moved or replaced.  Big trees can be shared
 * among worker threads (fs_remove_contents_opts); small ones never are.
 */
#pragma once

#include <stdint.h>

struct rm_stats {
        uint64_t files;
        uint64_t dirs;
        unsigned workers;   /* threads started besides the caller's (0: it did all alone) */
};

/* Delete everything inside the directory open at dir_fd (not the directory
 * itself), through dir fds only: openat(O_NOFOLLOW|O_DIRECTORY), unlinkat.
 * Iterative with an explicit stack; at most max_open_fds fds are open at
 * once (ancestors are re-entered via ".." and their dev/ino re-checked), so
 * trees deeper than RLIMIT_NOFILE still go.  Never crosses a mount: a
 * directory on another mount stops the walk with -EXDEV and is left alone.
 * A directory whose identity changes under it fails with -ESTALE.
 * max_open_fds must be at least 4 (-EINVAL otherwise).  stats may be NULL;
 * it is zeroed first and counts what was removed, also when failing.
 * A directory on another mount or with an unreadable mount id (-EOPNOTSUPP)
 * is never entered.  fault_mid_delete is called after the first unlink (a
 * hook for crash tests; may be NULL). */
int fs_remove_contents(int dir_fd, unsigned max_open_fds, struct rm_stats *stats,
                       void (*fault_mid_delete)(void));

/* Entries the caller's thread removes alone before fs_remove_contents_opts
 * starts any worker: a small tree is deleted without a single thread
 * created, and a big one pays the start of a thread only once there is
 * clearly enough work to share. */
#define RM_WORKERS_AFTER 2048

/* Smallest directory (st_size) worth handing over to another thread.  A
 * hand-over costs a wake-up of that thread, a few syscalls, and the
 * scheduler's placement of it (on a VM it often lands on the waker's CPU
 * when it only ever runs briefly), so a directory of a few dozen entries is
 * cheaper to walk where it is found.  A directory's size says how many
 * entries it holds: 20 bytes an entry on tmpfs (1024: about 50), the summed
 * names on btrfs, a block of 4096 or more on ext4 (every directory
 * qualifies there, where deletion waits for the disk anyway); a filesystem
 * that reports 0 gets no hand-over at all.  A small directory holding big
 * ones loses nothing: the walk descends into it and hands those over.  The
 * size only ever decides who deletes a directory, never whether. */
#define RM_OFFER_MIN_DIR_SIZE 1024

struct rm_opts {
        unsigned max_open_fds;       /* for the whole deletion, every thread included; >= 4 */
        unsigned max_workers;        /* threads besides the caller's; 0: single-threaded */
        uint64_t workers_after;      /* see RM_WORKERS_AFTER */
        uint64_t offer_min_size;     /* see RM_OFFER_MIN_DIR_SIZE; 0: any directory */
        void (*fault_mid_delete)(void);
        /* Called once, on the caller's thread, at its first removal after it
         * handed a subtree to another thread: a hook for crash tests of a
         * deletion shared among threads.  May be NULL. */
        void (*fault_while_shared)(void);
};

/* Workers for a deletion on this machine: one thread per CPU we may run on,
 * the caller's included, at most 4 in all; 0 with a single CPU. */
unsigned fs_remove_default_workers(void);

/* fs_remove_contents, with independent subtrees deleted in parallel by up
 * to opts->max_workers threads, once the caller's thread has removed
 * opts->workers_after entries alone.  A subdirectory (of at least
 * opts->offer_min_size) is handed over only when a thread is idle to take
 * it (a worker, or a walker waiting for the subtrees it handed over, which
 * helps meanwhile), and only as the fds the walk opened and verified: the
 * directory and a duplicate of its parent.
 * The taker empties it with the same walk (same mount, dev/ino and ".."
 * checks) within its own part of max_open_fds, so that all threads together
 * never exceed it, then removes it after checking its name still refers to
 * it.  The fd budget caps the workers: each needs a share of at least 5
 * fds, and the caller's walk keeps at least one share; too small a budget
 * means none.  Results are those of fs_remove_contents: the first error of
 * any thread wins (the others stop at their next entry), stats (summed
 * over all threads) count exactly what was removed, and fault_mid_delete
 * runs once, on the caller's thread, after its first unlink (before any
 * worker exists when workers_after >= 1).  stats->workers says how many
 * threads were started.  All of them have finished when this returns. */
int fs_remove_contents_opts(int dir_fd, const struct rm_opts *opts, struct rm_stats *stats);
