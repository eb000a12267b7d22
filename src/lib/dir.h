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

/* Create, mark and register a directory from fully merged options (no
 * config is applied here).  exact_name: use that name (rules) instead of a
 * generated one; with the secure style a random token is appended, with the
 * clean style an existing name is -EEXIST.  lazy_sweep: run the bounded
 * sweep first (ephemdir_new).  On success *ret is the registered entry. */
int create_directory(ephemdir_ctx *ctx, const struct ephemdir_new_opts *opts, const char *exact_name,
                     bool lazy_sweep, struct entry *ret);

/* Find an entry by target: full path (contains '/' or is "." / ".."),
 * exact name, or unique name prefix.  -ENOENT, -ENOTUNIQ (candidates on ctx). */
int resolve_entry(ephemdir_ctx *ctx, const char *target, struct entry *ret);
