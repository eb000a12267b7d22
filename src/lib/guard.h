/* SPDX-License-Identifier: MIT */
#pragma once

#include "ctx.h"

/* The deletion guard: -EPERM (with a message on ctx) when path is not a
 * normalized absolute path, or is "/", $HOME, the data or config directory,
 * or an ancestor of any of them.  Checked on every removal path, including
 * forced sweeps and entries from a hand-edited registry. */
int guard_check(ephemdir_ctx *ctx, const char *path);
