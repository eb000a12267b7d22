/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fsutil.h"
#include "guard.h"
#include "marker.h"
#include "verify.h"

int64_t verify_birth_ns(const struct statx *stx) {
        if (!(stx->stx_mask & STATX_BTIME))
                return 0;
        return (int64_t) stx->stx_btime.tv_sec * 1000000000 + stx->stx_btime.tv_nsec;
}

/* Same directory object as the entry?  dev+ino, and the birth time when one
 * was recorded: ext4 hands a freed inode number straight to the next mkdir,
 * so `rm -r X; cp -a backup/X X` can reproduce dev, ino and marker. */
static int identity_matches(const struct statx *stx, const struct entry *e) {
        if (!S_ISDIR(stx->stx_mode))
                return -ESTALE;
        if (makedev(stx->stx_dev_major, stx->stx_dev_minor) != e->dev || stx->stx_ino != e->ino)
                return -ESTALE;
        if (e->birth_ns != 0 && verify_birth_ns(stx) != e->birth_ns)
                return -ESTALE;
        return 0;
}

static int statx_identity(int dir_fd, const char *name, int flags, struct statx *ret) {
        if (statx(dir_fd, name, flags | AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_INO | STATX_BTIME, ret) < 0)
                return negative_errno();
        return 0;
}

int verify_name_is(int parent_fd, const char *name, const struct entry *e) {
        struct statx stx;

        int r = statx_identity(parent_fd, name, 0, &stx);
        return r < 0 ? r : identity_matches(&stx, e);
}

static int open_entry_dir(int parent_fd, const char *name, const struct entry *e, int *ret_fd) {
        struct statx stx;

        _cleanup_close_ int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                /* A symlink or a file now stands where our directory was. */
                if (errno == ELOOP || errno == ENOTDIR)
                        return -ESTALE;
                return negative_errno();
        }
        int r = statx_identity(fd, "", AT_EMPTY_PATH, &stx);
        if (r < 0)
                return r;
        r = identity_matches(&stx, e);
        if (r < 0)
                return r;
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

int verify_entry_in(const struct entry *e, unsigned flags, int parent_fd, int *ret_dir_fd) {
        _cleanup_close_ int dir_fd = -1;
        const char *slash = strrchr(e->path, '/');
        int r;

        r = open_entry_dir(parent_fd, slash ? slash + 1 : e->path, e, &dir_fd);
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
        if (ret_dir_fd)
                *ret_dir_fd = TAKE_FD(dir_fd);
        return 0;
}

int verify_identity_at(const struct entry *e, int parent_fd, uint64_t parent_mnt_id) {
        const char *slash = strrchr(e->path, '/');
        struct statx stx;

        /* The last component is not followed, but a mount on it is: the
         * answer then describes the mounted root, whose mount id differs. */
        if (statx(parent_fd, slash ? slash + 1 : e->path, AT_SYMLINK_NOFOLLOW,
                  STATX_TYPE | STATX_INO | STATX_BTIME | STATX_MNT_ID, &stx) < 0)
                return negative_errno();
        int r = identity_matches(&stx, e);
        if (r < 0)
                return r;
        if (!(stx.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP;
        return stx.stx_mnt_id == parent_mnt_id ? 0 : -EXDEV;
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

        r = verify_entry_in(e, flags, parent_fd, &dir_fd);
        if (r < 0)
                return r;

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
