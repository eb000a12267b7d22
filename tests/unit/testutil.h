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
