/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctx.h"

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vformat(const char *fmt, va_list ap) {
        char *s = NULL;

        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

int ctx_fail(ephemdir_ctx *ctx, int err, const char *fmt, ...) {
        va_list ap;

        free(ctx->last_error);
        va_start(ap, fmt);
        ctx->last_error = vformat(fmt, ap);
        va_end(ap);
        return err;
}

void ctx_clear_error(ephemdir_ctx *ctx) {
        free(ctx->last_error);
        ctx->last_error = NULL;
}

void ctx_log(ephemdir_ctx *ctx, int level, const char *fmt, ...) {
        va_list ap;

        if (!ctx->log)
                return;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = vformat(fmt, ap);
        va_end(ap);
        if (msg)
                ctx->log(level, msg, ctx->log_userdata);
}

const char *ephemdir_last_error(const ephemdir_ctx *ctx) {
        return ctx && ctx->last_error ? ctx->last_error : "";
}
