/* SPDX-License-Identifier: MIT */
/*
 * Per-entry OS deletion locks: flock() on <data_dir>/locks/<id>.lock.  A
 * lock held means some process is deleting (or recovering) that entry right
 * now; the kernel drops it if that process dies, which is how recovery tells
 * an abandoned claim from a live one.
 */
#pragma once

#include <stdint.h>

#include "ctx.h"

/* Non-blocking: -EBUSY when another process holds it. */
int entry_lock_try(ephemdir_ctx *ctx, int64_t id, int *ret_fd);

/* Release; when the entry is gone for good, also unlink the lock file (while
 * still holding it, so a waiter that opened the old file finds the row gone). */
void entry_lock_release(ephemdir_ctx *ctx, int64_t id, int fd, bool entry_gone);
