/* SPDX-License-Identifier: MIT */
/*
 * The .ephemdir marker: a small regular file whose content is the entry's
 * random 128-bit id.  It is what proves a directory is the one we created.
 */
#pragma once

#define MARKER_NAME ".ephemdir"
#define MARKER_ID_LEN 32   /* hex characters */

/* Fresh random id, MARKER_ID_LEN hex chars + NUL. */
int marker_new_id(char ret[MARKER_ID_LEN + 1]);

/* Create the marker in dir_fd (O_EXCL|O_NOFOLLOW, 0600) and fsync it. */
int marker_write(int dir_fd, const char *marker_id);

/* Read the marker in dir_fd.  Opened O_NOFOLLOW|O_NONBLOCK: a symlink, FIFO,
 * device or oversized file is -ESTALE, as is a missing marker. */
int marker_read(int dir_fd, char ret[MARKER_ID_LEN + 1]);

/* 0 when the marker in dir_fd holds exactly marker_id, -ESTALE otherwise. */
int marker_verify(int dir_fd, const char *marker_id);
