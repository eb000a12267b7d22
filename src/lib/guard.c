/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "fsutil.h"
#include "guard.h"

static bool is_normalized_absolute(const char *path) {
        _cleanup_free_ char *norm = NULL;

        if (!path || path[0] != '/')
                return false;
        if (path_normalize(path, NULL, &norm) < 0)
                return false;
        return streq(norm, path);
}

int guard_check(ephemdir_ctx *ctx, const char *path) {
        const struct {
                const char *what;
                const char *dir;
        } protected[] = {
                { "the home directory", ctx->home },
                { "the ephemdir data directory", ctx->data_dir },
                { "the ephemdir config directory", ctx->config_dir },
        };

        /* A hand-edited registry could hold "/home/me/../me": refuse anything
         * that is not already in canonical form instead of guessing. */
        if (!is_normalized_absolute(path))
                return ctx_fail(ctx, -EPERM, "deletion guard: '%s' is not a normalized absolute path",
                                path ? path : "(null)");
        if (streq(path, "/"))
                return ctx_fail(ctx, -EPERM, "deletion guard: refusing to delete the filesystem root");

        for (size_t i = 0; i < ELEMENTSOF(protected); i++) {
                if (!protected[i].dir)
                        continue;
                if (path_is_ancestor_or_self(path, protected[i].dir))
                        return ctx_fail(ctx, -EPERM,
                                        "deletion guard: refusing %s: it is %s or one of its ancestors",
                                        path, protected[i].what);
        }
        /* The registry and the deletion locks live in the data directory. */
        if (path_is_ancestor_or_self(ctx->data_dir, path))
                return ctx_fail(ctx, -EPERM, "deletion guard: refusing %s: it is inside the data directory",
                                path);
        return 0;
}
