/* SPDX-License-Identifier: MIT */
/* The context every library call runs in, and its error/log plumbing. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "ephemdir.h"
#include "util.h"

#include "config.h"

struct registry;

struct ephemdir_ctx {
        char *data_dir;          /* normalized absolute path */
        const char *data_dir_source;
        int data_dir_fd;         /* verified: ours, 0700-ish, not a symlink */
        char *config_dir;
        const char *config_dir_source;
        struct registry *reg;

        uid_t uid;
        char *home;              /* normalized, may be NULL */
        char *boot_id;
        const char *boot_id_source;

        struct config config;    /* loaded on first use by ctx_config() */
        bool config_loaded;

        ephemdir_log_fn log;
        void *log_userdata;
        char *last_error;
};

/* A context for reading rule files only (ephemdir_apply_validate): uid,
 * home, config dir and the log, but no data dir and no registry, so nothing
 * there is opened, created or locked.  Only code that never touches
 * ctx->reg or ctx->data_dir_fd may be given it; close it as usual. */
int ctx_open_rules_only(ephemdir_ctx **ret, const struct ephemdir_ctx_opts *opts);

/* Record a human message for ephemdir_last_error() and return err. */
int ctx_fail(ephemdir_ctx *ctx, int err, const char *fmt, ...) _printf_(3, 4);
void ctx_clear_error(ephemdir_ctx *ctx);

void ctx_log(ephemdir_ctx *ctx, int level, const char *fmt, ...) _printf_(3, 4);

/* The user's config.yaml (loaded once; warnings go to the log).  -EINVAL
 * with "config.yaml:LINE:COL: ..." on ctx for a bad file. */
int ctx_config(ephemdir_ctx *ctx, const struct config **ret);
