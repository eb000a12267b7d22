/* SPDX-License-Identifier: MIT */
/*
 * Human-readable formatting for the CLI: time left, sizes, and making
 * untrusted strings (directory names, paths, descriptions) safe to print.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "1h 59m", "4m 59s", "2d 3h", "45s", "3w 2d": the most significant non-zero
 * unit (w d h m s) and the next smaller one when it is non-zero.  Values
 * <= 0 give "0s".  Always NUL-terminates (truncating) when n > 0. */
void format_remaining(int64_t seconds, char *buf, size_t n);

/* "512 B", "1.5 KiB", "2.0 GiB": binary units, one decimal rounded to
 * nearest.  Negative values get a leading '-'.  NUL-terminates when n > 0. */
void format_size(int64_t bytes, char *buf, size_t n);

/* Is s well-formed UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF), as JSON strings must be? */
bool format_is_utf8(const char *s);

/* malloc'd copy of s safe to write to a terminal: bytes < 0x20, 0x7f,
 * C1 controls (U+0080..U+009F, which some terminals obey as escapes) and
 * bytes that are not part of valid UTF-8 become "\xNN".  Backslash is kept
 * as is.  NULL with errno set on failure (ENOMEM; EINVAL for NULL s). */
char *format_escape(const char *s);

/* malloc'd copy of path with a leading home directory component replaced by
 * "~" ("/home/a/x" -> "~/x", "/home/a" -> "~", never "/home/ab" -> "~b").
 * Unchanged copy when home is NULL, relative or "/".  NULL with errno set on
 * failure (ENOMEM; EINVAL for NULL path). */
char *format_tilde(const char *path, const char *home);
