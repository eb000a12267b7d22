/* SPDX-License-Identifier: MIT */
/* Targets: a full path, an exact name, or a unique name prefix. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dir.h"
#include "fsutil.h"
#include "verify.h"

/* How many candidates an ambiguity message lists. */
#define AMBIGUOUS_SHOWN 8

static bool looks_like_path(const char *target) {
        return strchr(target, '/') || streq(target, ".") || streq(target, "..");
}

static int resolve_path(ephemdir_ctx *ctx, const char *target, struct entry *ret) {
        _cleanup_free_ char *cwd = NULL, *path = NULL;

        if (target[0] != '/') {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return ctx_fail(ctx, negative_errno(), "cannot determine the current directory");
        }
        if (path_normalize(target, cwd, &path) < 0)
                return ctx_fail(ctx, -EINVAL, "invalid path '%s'", target);
        int r = registry_get_by_path(ctx->reg, path, ret);
        if (r == -ENOENT)
                return ctx_fail(ctx, r, "%s is not tracked", path);
        if (r < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        return 0;
}

static int ambiguous(ephemdir_ctx *ctx, const char *target, struct entry *rows, size_t n) {
        _cleanup_free_ char *list = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&list, &len);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n && i < AMBIGUOUS_SHOWN; i++)
                fprintf(f, "\n  %s  %s", rows[i].name, rows[i].path);
        if (n > AMBIGUOUS_SHOWN)
                fprintf(f, "\n  ... and %zu more", n - AMBIGUOUS_SHOWN);
        fclose(f);
        return ctx_fail(ctx, -ENOTUNIQ, "'%s' matches %zu tracked directories:%s", target, n,
                        list ? list : "");
}

/* The nearest ancestor of the current directory (itself included) that is
 * an active entry and verifies as ours.  Fails closed: a marker file alone
 * proves nothing (anyone can copy one), so the registry row, its inode and
 * its marker id must all agree. */
static int resolve_cwd(ephemdir_ctx *ctx, struct entry *ret) {
        _cleanup_free_ char *cwd = getcwd(NULL, 0), *p = NULL;

        if (!cwd)
                return ctx_fail(ctx, negative_errno(), "cannot determine the current directory");
        if (path_normalize(cwd, NULL, &p) < 0)
                return ctx_fail(ctx, -EINVAL, "unusable current directory");
        for (;;) {
                struct entry e = {};
                int r = registry_get_by_path(ctx->reg, p, &e);
                if (r == 0 && e.state == ENTRY_ACTIVE && verify_entry(ctx, &e, VERIFY_SKIP_GUARD, NULL, NULL) == 0) {
                        *ret = e;
                        ctx_clear_error(ctx);
                        return 0;
                }
                entry_done(&e);
                if (r < 0 && r != -ENOENT)
                        return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
                char *slash = strrchr(p, '/');
                if (!slash || slash == p)
                        break;
                *slash = 0;
        }
        return ctx_fail(ctx, -ENOENT, "no target given and %s is not inside a managed directory", cwd);
}

int resolve_entry(ephemdir_ctx *ctx, const char *target, struct entry *ret) {
        struct entry *rows = NULL;
        size_t n = 0, exact = 0, exact_at = 0;
        int r;

        if (!target)
                return resolve_cwd(ctx, ret);
        if (!*target)
                return ctx_fail(ctx, -EINVAL, "empty target");
        if (looks_like_path(target))
                return resolve_path(ctx, target, ret);

        r = registry_find_by_prefix(ctx->reg, target, 0, &rows, &n);
        if (r < 0)
                return ctx_fail(ctx, r, "%s", registry_error(ctx->reg));
        for (size_t i = 0; i < n; i++)
                if (streq(rows[i].name, target)) {
                        exact++;
                        exact_at = i;
                }

        if (n == 0)
                r = ctx_fail(ctx, -ENOENT, "no tracked directory matches '%s'", target);
        else if (exact == 1 || n == 1)
                r = entry_copy(&rows[exact == 1 ? exact_at : 0], ret);
        else
                r = ambiguous(ctx, target, rows, n);
        entry_free_array(rows, n);
        return r;
}
