/* SPDX-License-Identifier: MIT */
#pragma once

#include "ctx.h"
#include "registry.h"

struct ephemdir_dir {
        ephemdir_ctx *ctx;
        struct entry e;      /* as of creation/resolution: id + marker id pin the identity */
        bool done;           /* removed or kept through this handle */
};

/* Wrap an entry (ownership of its members moves into the handle). */
int dir_new_handle(ephemdir_ctx *ctx, struct entry *e, ephemdir_dir **ret);

/* Find an entry by target: full path (contains '/' or is "." / ".."),
 * exact name, or unique name prefix.  -ENOENT, -ENOTUNIQ (candidates on ctx). */
int resolve_entry(ephemdir_ctx *ctx, const char *target, struct entry *ret);
