/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "buildconf.h"
#include "ctx.h"
#include "fsutil.h"
#include "inuse.h"
#include "platform.h"
#include "registry.h"

static int open_data_dir(ephemdir_ctx *ctx, const char *explicit_dir) {
        int r = platform_data_dir(explicit_dir, &ctx->data_dir, &ctx->data_dir_source);
        if (r < 0)
                return ctx_fail(ctx, r, "cannot determine the data directory (is $HOME set?)");
        /* Created 0700 when missing; must be ours, private, and reached
         * without following a symlink anywhere on the way. */
        r = fs_mkdir_p_trusted(ctx->data_dir, ctx->uid, &ctx->data_dir_fd);
        if (r < 0)
                return ctx_fail(ctx, r, "data directory %s is unusable: %s", ctx->data_dir,
                                r == -EPERM ? "not private to you (owner or permissions)" :
                                r == -ELOOP ? "a symlink is on the way" : strerror(-r));
        return 0;
}

/* What every context has: who we are, where the log goes, the config dir. */
static int ctx_new(const struct ephemdir_ctx_opts *opts, ephemdir_ctx **ret) {
        ephemdir_ctx *ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return -ENOMEM;
        ctx->data_dir_fd = -1;
        ctx->uid = geteuid();
        ctx->log = opts->log;
        ctx->log_userdata = opts->log_userdata;
        if (platform_home())
                ctx->home = strdup(platform_home());
        *ret = ctx;
        return 0;
}

static int resolve_config_dir(ephemdir_ctx *ctx, const char *explicit_dir) {
        int r = platform_config_dir(explicit_dir, &ctx->config_dir, &ctx->config_dir_source);
        if (r < 0)
                return ctx_fail(ctx, r, "cannot determine the config directory (is $HOME set?)");
        return 0;
}

/* Closing a context that failed to open: callers report the reason, so
 * hand it to the log before it goes. */
static int ctx_open_failed(ephemdir_ctx *ctx, int r) {
        ctx_log(ctx, EPHEMDIR_LOG_ERR, "%s", ephemdir_last_error(ctx));
        ephemdir_ctx_close(ctx);
        return r;
}

int ctx_open_rules_only(ephemdir_ctx **ret, const struct ephemdir_ctx_opts *opts) {
        static const struct ephemdir_ctx_opts no_opts;
        ephemdir_ctx *ctx;

        int r = ctx_new(opts ? opts : &no_opts, &ctx);
        if (r < 0)
                return r;
        r = resolve_config_dir(ctx, opts ? opts->config_dir : NULL);
        if (r < 0)
                return ctx_open_failed(ctx, r);
        *ret = ctx;
        return 0;
}

int ephemdir_ctx_open(ephemdir_ctx **ret, const struct ephemdir_ctx_opts *opts) {
        static const struct ephemdir_ctx_opts no_opts;
        _cleanup_free_ char *reg_error = NULL;
        ephemdir_ctx *ctx;
        int r;

        if (!opts)
                opts = &no_opts;
        r = ctx_new(opts, &ctx);
        if (r < 0)
                return r;

        r = open_data_dir(ctx, opts->data_dir);
        if (r < 0)
                goto fail;
        r = resolve_config_dir(ctx, opts->config_dir);
        if (r < 0)
                goto fail;
        r = platform_boot_id(&ctx->boot_id, &ctx->boot_id_source);
        if (r < 0) {
                ctx_fail(ctx, r, "cannot read the boot id: %s", strerror(-r));
                goto fail;
        }
        r = registry_open(ctx->data_dir_fd, ctx->data_dir, &ctx->reg, &reg_error);
        if (r < 0) {
                ctx_fail(ctx, r, "%s", reg_error ? reg_error : strerror(-r));
                goto fail;
        }
        *ret = ctx;
        return 0;
fail:
        return ctx_open_failed(ctx, r);
}

void ephemdir_ctx_close(ephemdir_ctx *ctx) {
        if (!ctx)
                return;
        if (ctx->reg)
                registry_close(ctx->reg);
        safe_close(ctx->data_dir_fd);
        free(ctx->data_dir);
        free(ctx->config_dir);
        free(ctx->home);
        free(ctx->boot_id);
        config_done(&ctx->config);
        free(ctx->last_error);
        free(ctx);
}

int ctx_config(ephemdir_ctx *ctx, const struct config **ret) {
        _cleanup_free_ char *error = NULL, *warnings = NULL;

        if (!ctx->config_loaded) {
                int r = config_load(ctx->config_dir, ctx->uid, &ctx->config, &error, &warnings);
                if (r < 0)
                        return ctx_fail(ctx, r == -ENOMEM ? r : -EINVAL, "%s",
                                        error ? error : strerror(-r));
                for (char *line = warnings ? strtok(warnings, "\n") : NULL; line; line = strtok(NULL, "\n"))
                        ctx_log(ctx, EPHEMDIR_LOG_WARNING, "%s", line);
                ctx->config_loaded = true;
        }
        *ret = &ctx->config;
        return 0;
}

int ephemdir_doctor(ephemdir_ctx *ctx, struct ephemdir_doctor *ret) {
        uint64_t mnt;
        const char *method = NULL;

        if (fs_mount_id(ctx->data_dir_fd, &mnt, &method) < 0)
                method = NULL;
        *ret = (struct ephemdir_doctor) {
                .data_dir = ctx->data_dir,
                .data_dir_source = ctx->data_dir_source,
                .config_dir = ctx->config_dir,
                .config_dir_source = ctx->config_dir_source,
                .schema_version = registry_schema_version(ctx->reg),
                .mount_id_method = method,
                .boot_id = ctx->boot_id,
                .boot_id_source = ctx->boot_id_source,
                .test_hooks = EPHEMDIR_TEST_HOOKS,
        };
        struct inuse_snapshot *snap = NULL;
        if (inuse_scan(ctx->uid, &snap) == 0) {
                struct inuse_stats st;
                inuse_snapshot_stats(snap, &st);
                ret->inuse_complete = st.complete;
                ret->inuse_processes = st.processes;
                ret->inuse_hidden = st.hidden;
                inuse_snapshot_free(snap);
        }
        return 0;
}

const char *ephemdir_ctx_data_dir(const ephemdir_ctx *ctx) {
        return ctx->data_dir;
}
