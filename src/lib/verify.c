/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "guard.h"
#include "marker.h"
#include "verify.h"

int verify_name_is(int parent_fd, const char *name, const struct entry *e) {
        struct stat st;

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode) || (uint64_t) st.st_dev != e->dev || (uint64_t) st.st_ino != e->ino)
                return -ESTALE;
        return 0;
}

static int open_entry_dir(int parent_fd, const char *name, const struct entry *e, int *ret_fd) {
        struct stat st;

        _cleanup_close_ int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                /* A symlink or a file now stands where our directory was. */
                if (errno == ELOOP || errno == ENOTDIR)
                        return -ESTALE;
                return negative_errno();
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if ((uint64_t) st.st_dev != e->dev || (uint64_t) st.st_ino != e->ino)
                return -ESTALE;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int check_not_mount_point(int parent_fd, int dir_fd) {
        uint64_t parent_mnt, dir_mnt;
        int r;

        r = fs_mount_id(parent_fd, &parent_mnt, NULL);
        if (r < 0)
                return r;
        r = fs_mount_id(dir_fd, &dir_mnt, NULL);
        if (r < 0)
                return r;
        return parent_mnt == dir_mnt ? 0 : -EXDEV;
}

int verify_entry(ephemdir_ctx *ctx, const struct entry *e, unsigned flags,
                 int *ret_parent_fd, int *ret_dir_fd) {
        _cleanup_free_ char *parent = NULL, *name = NULL, *bad = NULL;
        _cleanup_close_ int parent_fd = -1, dir_fd = -1;
        int r;

        if (!(flags & VERIFY_SKIP_GUARD)) {
                r = guard_check(ctx, e->path);
                if (r < 0)
                        return r;
        }
        r = path_split(e->path, &parent, &name);
        if (r < 0)
                return ctx_fail(ctx, -EPERM, "'%s' is not a valid tracked path", e->path);

        r = fs_open_trusted_dir(parent, ctx->uid, &parent_fd, NULL, &bad);
        if (r == -EPERM || r == -ELOOP)
                return ctx_fail(ctx, -EPERM, "untrusted parent: %s", bad ? bad : parent);
        if (r < 0)
                return r;

        r = open_entry_dir(parent_fd, name, e, &dir_fd);
        if (r < 0)
                return r;
        r = check_not_mount_point(parent_fd, dir_fd);
        if (r < 0)
                return r;
        if (e->marker_id || !(flags & VERIFY_ALLOW_LEGACY)) {
                r = marker_verify(dir_fd, e->marker_id);
                if (r < 0)
                        return r;
        }

        if (ret_parent_fd)
                *ret_parent_fd = TAKE_FD(parent_fd);
        if (ret_dir_fd)
                *ret_dir_fd = TAKE_FD(dir_fd);
        return 0;
}

const char *verify_failure_word(int err) {
        switch (-err) {
        case ENOENT:
        case ENOTDIR:
                return "path-missing";
        case ESTALE:
                return "identity-changed";
        case EXDEV:
                return "mount-point";
        case EOPNOTSUPP:
                return "no-mount-id";
        case EPERM:
        case ELOOP:
                return "untrusted-path";
        default:
                return "inaccessible";
        }
}
