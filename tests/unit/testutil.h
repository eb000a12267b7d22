/* SPDX-License-Identifier: MIT */
/* Shared fixtures for the unit tests: private temp dirs, trees, children. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* mkdtemp under /tmp ("/tmp/ephemdir-test-XXXXXX"), mode 0700; aborts the
 * test on failure.  Returns a malloc'd absolute path. */
char *tu_mkdtemp(void);

/* rm -rf through the shell-free nftw; for fixture teardown only. */
void tu_rm_rf(const char *path);

/* Write a file with the given content (path-based: fixtures only). */
void tu_write_file(const char *path, const char *content);

/* asprintf that aborts on failure. */
char *tu_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool tu_is_root(void);

/* A uid that is another user as far as path goes: not ours, not root's
 * (trusted everywhere), not path's owner.  nobody's where that qualifies,
 * else the next one up from ours that does: whoever runs the tests, and
 * whether or not nobody exists or is 65534. */
uid_t tu_foreign_uid(const char *path);

bool tu_exists(const char *path);

/* How many fds this process has open (to catch a leak across a call). */
unsigned tu_count_open_fds(void);

/* Root counts every process as its own, so on a shared host any process
 * with an unreadable entry (another test's tree deeper than PATH_MAX)
 * rightly makes every in-use answer UNKNOWN.  As root, run() therefore runs
 * in a new pid + mount namespace with its own /proc (unless
 * INUSE_TEST_NO_NAMESPACE is set, or no namespace can be made).  Returns
 * the process exit status to use. */
int tu_run_with_private_proc(int (*run)(void));

/* Real holders, for the in-use tests: a forked child runs hold(path) (true
 * if it could take what it holds), names itself TU_HOLDER_COMM, reports on a
 * pipe and then waits to be killed by tu_reap(), or dies with its parent
 * (no orphans when a test fails).  Spawning fails the test unless hold()
 * succeeded.  Returns the child's pid. */
#define TU_HOLDER_COMM "inuse-holder"
typedef bool (*tu_hold_fn)(const char *path);
pid_t tu_spawn_holder(tu_hold_fn hold, const char *path);
/* The same, but then the child's leader thread exits: hold() must have
 * started a thread that keeps the process alive. */
pid_t tu_spawn_holder_leader_exits(tu_hold_fn hold, const char *path);
/* SIGKILL a holder and wait for it. */
void tu_reap(pid_t pid);

/* What a holder can take: an fd kept open, its cwd, its root (chroot: root
 * only), or a shared mapping whose fd is closed again. */
bool tu_hold_open(const char *path);
bool tu_hold_cwd(const char *path);
bool tu_hold_root(const char *path);
bool tu_hold_mapping_only(const char *path);

/* The test process itself holds dir (open, and as its cwd) and file (open
 * and mapped) from tu_self_hold_begin() to tu_self_hold_end(), which goes
 * back to the previous cwd. */
struct tu_self_holdings {
        int dir_fd, file_fd, cwd_fd;
        void *map;
};
void tu_self_hold_begin(struct tu_self_holdings *h, const char *dir, const char *file);
void tu_self_hold_end(struct tu_self_holdings *h);

/* Milliseconds from a to b. */
double tu_elapsed_ms(const struct timespec *a, const struct timespec *b);
