/* SPDX-License-Identifier: MIT */
/* Shared fixtures for the unit tests: private temp dirs, trees, children. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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
bool tu_exists(const char *path);

/* Root counts every process as its own, so on a shared host any process
 * with an unreadable entry (another test's tree deeper than PATH_MAX)
 * rightly makes every in-use answer UNKNOWN.  As root, run() therefore runs
 * in a new pid + mount namespace with its own /proc (unless
 * INUSE_TEST_NO_NAMESPACE is set, or no namespace can be made).  Returns
 * the process exit status to use. */
int tu_run_with_private_proc(int (*run)(void));
