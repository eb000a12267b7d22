/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "lock.h"

static int open_locks_dir(ephemdir_ctx *ctx) {
        if (mkdirat(ctx->data_dir_fd, "locks", 0700) < 0 && errno != EEXIST)
                return negative_errno();
        int fd = openat(ctx->data_dir_fd, "locks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

static void lock_name(int64_t id, char *buf, size_t n) {
        snprintf(buf, n, "%" PRId64 ".lock", id);
}

int entry_lock_try(ephemdir_ctx *ctx, int64_t id, int *ret_fd) {
        char name[32];

        _cleanup_close_ int dir_fd = open_locks_dir(ctx);
        if (dir_fd < 0)
                return dir_fd;
        lock_name(id, name, sizeof(name));
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

void entry_lock_release(ephemdir_ctx *ctx, int64_t id, int fd, bool entry_gone) {
        char name[32];

        if (fd < 0)
                return;
        if (entry_gone) {
                _cleanup_close_ int dir_fd = open_locks_dir(ctx);
                lock_name(id, name, sizeof(name));
                if (dir_fd >= 0)
                        (void) unlinkat(dir_fd, name, 0);
        }
        safe_close(fd);
}
