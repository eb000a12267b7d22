/* SPDX-License-Identifier: MIT */
/*
 * Filesystem primitives of the fd-safe core: lexical path helpers, the
 * trusted walk from "/", mount ids, and the fd-bound recursive delete.
 *
 * Threat model: other local users (or processes of the same user) may rename,
 * replace, symlink or mount things anywhere they can write while we work.  So
 * no path string is ever handed to a path-taking syscall (the one exception is
 * /proc/self/fdinfo for the mount-id fallback): every step is an *at() call
 * relative to a directory fd whose identity has been checked, with O_NOFOLLOW.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fsutil.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* Lexical path helpers                                                     */

static bool is_dot_or_dotdot(const char *s, size_t n) {
        return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* Append the components of src to out (which holds out_len bytes of an
 * absolute path without trailing slash; "" stands for "/"). */
static size_t normalize_append(char *out, size_t out_len, const char *src) {
        const char *p = src;

        while (*p) {
                while (*p == '/')
                        p++;
                const char *start = p;
                while (*p && *p != '/')
                        p++;
                size_t n = (size_t) (p - start);

                if (n == 0 || (n == 1 && start[0] == '.'))
                        continue;
                if (n == 2 && start[0] == '.' && start[1] == '.') {
                        /* Textual "..": drop the last component; "/.." is "/". */
                        while (out_len > 0 && out[out_len - 1] != '/')
                                out_len--;
                        if (out_len > 0)
                                out_len--;
                        continue;
                }
                out[out_len++] = '/';
                memcpy(out + out_len, start, n);
                out_len += n;
        }
        return out_len;
}

int path_normalize(const char *path, const char *cwd, char **ret) {
        if (!path || !ret || path[0] == '\0')
                return -EINVAL;
        bool relative = path[0] != '/';
        if (relative && (!cwd || cwd[0] != '/'))
                return -EINVAL;

        /* The result is never longer than cwd + "/" + path (+ "/" for root). */
        size_t cap = strlen(path) + (relative ? strlen(cwd) + 1 : 0) + 2;
        char *out = malloc(cap);
        if (!out)
                return -ENOMEM;

        size_t len = 0;
        if (relative)
                len = normalize_append(out, len, cwd);
        len = normalize_append(out, len, path);
        if (len == 0)
                out[len++] = '/';
        out[len] = '\0';

        *ret = out;
        return 0;
}

int path_split(const char *path, char **ret_parent, char **ret_name) {
        if (!path || path[0] != '/' || !ret_parent || !ret_name)
                return -EINVAL;

        const char *slash = strrchr(path, '/');
        const char *name = slash + 1;
        size_t name_len = strlen(name);
        /* "/" itself, a trailing slash, or a "." / ".." last component: not
         * a normalized path with a last component. */
        if (name_len == 0 || is_dot_or_dotdot(name, name_len))
                return -EINVAL;

        size_t parent_len = slash == path ? 1 : (size_t) (slash - path);
        _cleanup_free_ char *parent = strndup(path, parent_len);
        _cleanup_free_ char *last = strdup(name);
        if (!parent || !last)
                return -ENOMEM;

        *ret_parent = TAKE_PTR(parent);
        *ret_name = TAKE_PTR(last);
        return 0;
}

bool path_is_ancestor_or_self(const char *ancestor, const char *path) {
        if (!ancestor || !path || ancestor[0] != '/' || path[0] != '/')
                return false;
        if (streq(ancestor, "/"))
                return true;

        size_t n = strlen(ancestor);
        /* Compare whole components: "/a/b" is not an ancestor of "/a/bc". */
        return strncmp(ancestor, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ------------------------------------------------------------------------ */
/* Identity checks                                                          */

int fs_verify_same(int fd, uint64_t dev, uint64_t ino) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if ((uint64_t) st.st_dev != dev || (uint64_t) st.st_ino != ino)
                return -ESTALE;
        return 0;
}

/* ------------------------------------------------------------------------ */
/* Trusted walk                                                             */

/* Any component: owned by uid or root (root could subvert us anyway), and
 * when others can create entries in it, it must be sticky and root-owned so
 * they cannot rename or replace entries they do not own (the /tmp model).
 * A foreign-owned sticky dir is refused: its owner can swap anything. */
static bool component_is_trusted(const struct stat *st, uid_t uid) {
        if (st->st_uid != uid && st->st_uid != 0)
                return false;
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return (st->st_mode & S_ISVTX) && st->st_uid == 0;
        return true;
}

static int final_verdict(const struct stat *st, uid_t uid, enum trust_verdict *ret) {
        if (st->st_uid == uid && !(st->st_mode & (S_IWGRP | S_IWOTH))) {
                *ret = TRUST_PRIVATE;
                return 0;
        }
        if (st->st_uid == 0 && (st->st_mode & S_ISVTX)) {
                *ret = TRUST_SHARED_STICKY;
                return 0;
        }
        return -EPERM;
}

/* openat(O_DIRECTORY|O_NOFOLLOW) failed with ELOOP or ENOTDIR (which one the
 * kernel picks for a symlink varies): look at the entry itself, without
 * following it, to report -ELOOP for a symlink and -ENOTDIR otherwise. */
static int classify_non_dir(int dir_fd, const char *name, int open_error) {
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return open_error;
        if (S_ISLNK(st.st_mode))
                return -ELOOP;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        return open_error; /* swapped back to a directory meanwhile */
}

/* Intermediate components are opened O_PATH: search permission is enough to
 * walk through them (e.g. a 0711 home).  The final one is opened for reading
 * so callers can list it. */
static int open_component(int dir_fd, const char *name, bool last, bool create) {
        int flags = O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | (last ? O_RDONLY : O_PATH);

        for (unsigned attempt = 0; attempt < 2; attempt++) {
                int fd = openat(dir_fd, name, flags);
                if (fd >= 0)
                        return fd;
                if (errno == ELOOP || errno == ENOTDIR)
                        return classify_non_dir(dir_fd, name, -errno);
                if (errno != ENOENT || !create)
                        return negative_errno();
                /* mkdir -p: whoever wins a concurrent mkdirat (EEXIST), the
                 * result is reopened and checked like any existing dir. */
                if (mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
        }
        return -ENOENT; /* created, then removed again before we could open it */
}

static int set_bad_component(char **ret_bad, const char *path, size_t len) {
        if (!ret_bad)
                return 0;
        char *p = strndup(path, len == 0 ? 1 : len);
        if (!p)
                return -ENOMEM;
        *ret_bad = p;
        return 0;
}

/* The shared walk of fs_open_trusted_dir and fs_mkdir_p_trusted.  Each
 * component is checked before anything is opened or created inside it, so
 * a hostile parent never gets the chance to redirect a later step. */
static int trusted_walk(const char *path, uid_t uid, bool create, int *ret_fd,
                        enum trust_verdict *ret_verdict, size_t *ret_bad_len) {
        _cleanup_close_ int fd = open("/", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_PATH);
        const char *p = path;
        bool opened_last = false;
        struct stat st;

        *ret_bad_len = 1; /* blame "/" until a component is reached */
        if (fd < 0)
                return negative_errno();

        for (;;) {
                if (fstat(fd, &st) < 0)
                        return negative_errno();
                if (!component_is_trusted(&st, uid))
                        return -EPERM;

                while (*p == '/')
                        p++;
                if (*p == '\0')
                        break;

                const char *start = p;
                while (*p && *p != '/')
                        p++;
                size_t n = (size_t) (p - start);
                *ret_bad_len = (size_t) (p - path);
                if (is_dot_or_dotdot(start, n))
                        return -EINVAL; /* not normalized: refuse to guess */
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;

                char name[NAME_MAX + 1];
                memcpy(name, start, n);
                name[n] = '\0';

                const char *rest = p;
                while (*rest == '/')
                        rest++;
                bool last = *rest == '\0';

                int child = open_component(fd, name, last, create);
                if (child < 0)
                        return child;
                safe_close(fd);
                fd = child;
                opened_last = last;
        }

        /* The last component was opened O_RDONLY; "/" itself (walked no
         * component) is still O_PATH and needs reopening for reading. */
        if (!opened_last) {
                int rd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (rd < 0)
                        return negative_errno();
                safe_close(fd);
                fd = rd;
        }

        enum trust_verdict verdict;
        int r = final_verdict(&st, uid, &verdict);
        if (r < 0)
                return r;

        *ret_fd = TAKE_FD(fd);
        *ret_verdict = verdict;
        return 0;
}

int fs_open_trusted_dir(const char *path, uid_t uid, int *ret_fd,
                        enum trust_verdict *ret_verdict, char **ret_bad_component) {
        if (!path || path[0] != '/' || !ret_fd)
                return -EINVAL;

        enum trust_verdict verdict;
        size_t bad_len;
        int fd = -1;
        int r = trusted_walk(path, uid, false, &fd, &verdict, &bad_len);
        if (r < 0) {
                if (r != -EINVAL && r != -ENOMEM && set_bad_component(ret_bad_component, path, bad_len) < 0)
                        return -ENOMEM;
                return r;
        }

        *ret_fd = fd;
        if (ret_verdict)
                *ret_verdict = verdict;
        return 0;
}

int fs_mkdir_p_trusted(const char *path, uid_t uid, int *ret_fd) {
        if (!path || path[0] != '/' || !ret_fd)
                return -EINVAL;

        enum trust_verdict verdict;
        size_t bad_len;
        _cleanup_close_ int fd = -1;
        int r = trusted_walk(path, uid, true, &fd, &verdict, &bad_len);
        if (r < 0)
                return r;
        /* Data and config dirs must be ours alone, never a shared /tmp. */
        if (verdict != TRUST_PRIVATE)
                return -EPERM;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* ------------------------------------------------------------------------ */
/* Mount ids                                                                */

static int mount_id_fallback_level;

void fs_mount_id_force_fallback(int level) {
        mount_id_fallback_level = level;
}

int fs_fdinfo_parse_mnt_id(const char *text, uint64_t *ret) {
        if (!text || !ret)
                return -EINVAL;

        for (const char *line = text; *line; ) {
                if (strncmp(line, "mnt_id:", 7) == 0) {
                        const char *v = line + 7;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        if (*v < '0' || *v > '9')
                                return -EINVAL;

                        char *end;
                        errno = 0;
                        unsigned long long id = strtoull(v, &end, 10);
                        if (errno == ERANGE)
                                return -ERANGE;
                        while (*end == ' ' || *end == '\t')
                                end++;
                        if (*end != '\n' && *end != '\0')
                                return -EINVAL;
                        *ret = (uint64_t) id;
                        return 0;
                }
                const char *nl = strchr(line, '\n');
                if (!nl)
                        break;
                line = nl + 1;
        }
        return -ENOENT;
}

static int mount_id_statx(int fd, uint64_t *ret) {
        struct statx stx;

        if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
                return negative_errno();
        if (!(stx.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP; /* kernel older than 5.8 */
        *ret = stx.stx_mnt_id;
        return 0;
}

static int mount_id_fdinfo(int fd, uint64_t *ret) {
        char path[sizeof("/proc/self/fdinfo/") + 3 * sizeof(int)];
        char buf[4096];
        size_t len = 0;

        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
        _cleanup_close_ int info = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (info < 0)
                return negative_errno();

        /* A directory's fdinfo is a few short lines; a truncated read can only
         * lose the mnt_id line, which fails closed. */
        while (len < sizeof(buf) - 1) {
                ssize_t n = read(info, buf + len, sizeof(buf) - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return fs_fdinfo_parse_mnt_id(buf, ret);
}

int fs_mount_id(int fd, uint64_t *ret, const char **ret_method) {
        uint64_t id;
        int r;

        if (fd < 0 || !ret)
                return -EINVAL;

        if (mount_id_fallback_level < 1) {
                r = mount_id_statx(fd, &id);
                if (r == 0) {
                        *ret = id;
                        if (ret_method)
                                *ret_method = "statx";
                        return 0;
                }
                if (r == -EBADF)
                        return r;
        }
        if (mount_id_fallback_level < 2) {
                r = mount_id_fdinfo(fd, &id);
                if (r == 0) {
                        *ret = id;
                        if (ret_method)
                                *ret_method = "fdinfo";
                        return 0;
                }
        }
        return -EOPNOTSUPP;
}

/* ------------------------------------------------------------------------ */
/* Directory identity and child opening                                     */

struct dir_identity {
        uint64_t dev;
        uint64_t ino;
        uint64_t mnt;
};

/* One statx per directory gives device, inode and mount id together; the
 * fallback costs an fstat plus the fdinfo read.  dev is encoded like
 * st_dev, so it compares with fstat()-derived values as well. */
static int dir_identity(int fd, struct dir_identity *ret) {
        struct statx stx;

        if (mount_id_fallback_level < 1 &&
            statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO | STATX_MNT_ID, &stx) == 0 &&
            (stx.stx_mask & (STATX_TYPE | STATX_INO | STATX_MNT_ID)) ==
                    (STATX_TYPE | STATX_INO | STATX_MNT_ID)) {
                if (!S_ISDIR(stx.stx_mode))
                        return -ENOTDIR;
                ret->dev = (uint64_t) makedev(stx.stx_dev_major, stx.stx_dev_minor);
                ret->ino = stx.stx_ino;
                ret->mnt = stx.stx_mnt_id;
                return 0;
        }

        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        int r = fs_mount_id(fd, &ret->mnt, NULL);
        if (r < 0)
                return r;
        ret->dev = (uint64_t) st.st_dev;
        ret->ino = (uint64_t) st.st_ino;
        return 0;
}

static bool name_is_single_component(const char *name) {
        return name && name[0] != '\0' && !strchr(name, '/') &&
               !is_dot_or_dotdot(name, strlen(name));
}

/* Open a child directory and make sure it lives on the mount `expect` names
 * (st_dev catches a different filesystem, the mount id catches a bind mount
 * of the same one).  Returns the fd; on -EXDEV nothing stays open. */
static int open_child_on_mount(int dir_fd, const char *name, const struct dir_identity *expect,
                               struct dir_identity *ret_id) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct dir_identity id;

        if (fd < 0)
                return negative_errno();
        int r = dir_identity(fd, &id);
        if (r < 0)
                return r;
        if (id.dev != expect->dev || id.mnt != expect->mnt)
                return -EXDEV;

        if (ret_id)
                *ret_id = id;
        return TAKE_FD(fd);
}

int fs_open_child_dir(int dir_fd, const char *name, int *ret_fd) {
        struct dir_identity parent;

        if (!name_is_single_component(name) || !ret_fd)
                return -EINVAL;
        int r = dir_identity(dir_fd, &parent);
        if (r < 0)
                return r;

        int fd = open_child_on_mount(dir_fd, name, &parent, NULL);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

/* ------------------------------------------------------------------------ */
/* fd-bound recursive removal                                               */

/* Fewest fds the walk needs: the root stream, the current directory, the
 * child being opened and the transient fdinfo read of the mount-id fallback. */
#define RM_MIN_OPEN_FDS 4

/* Readdir passes over one directory that each removed something: normally
 * two (the second finds it empty).  More means someone keeps creating
 * entries; stop rather than race them forever. */
#define RM_MAX_PASSES 16

struct rm_frame {
        DIR *dir;          /* NULL while closed to stay within the fd budget */
        char *name;        /* entry name inside the parent frame; NULL for the root */
        uint64_t ino;      /* identity recorded when first opened (dev is the root's) */
        bool progress;     /* something was removed during the current readdir pass */
        unsigned passes;   /* passes of the current stream */
};

struct rm_walk {
        struct rm_frame *frames;
        size_t depth;        /* frames in use; frames[depth - 1] is the current dir */
        size_t cap;
        size_t first_open;   /* frames [1, first_open) are closed, [first_open, depth) open */
        unsigned open_fds;
        unsigned max_open_fds;
        struct dir_identity root; /* every directory must share its dev and mount */
        struct rm_stats *stats;
        void (*fault_mid_delete)(void);
        bool removed_any;
};

static void rm_walk_done(struct rm_walk *w) {
        for (size_t i = 0; i < w->depth; i++) {
                if (w->frames[i].dir)
                        closedir(w->frames[i].dir);
                free(w->frames[i].name);
        }
        free(w->frames);
        w->frames = NULL;
        w->depth = 0;
}

static int rm_push(struct rm_walk *w, int fd, char *name, uint64_t ino) {
        if (w->depth == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 64;
                struct rm_frame *f = reallocarray(w->frames, cap, sizeof(*f));
                if (!f)
                        return -ENOMEM;
                w->frames = f;
                w->cap = cap;
        }

        DIR *d = fdopendir(fd);
        if (!d)
                return negative_errno();

        w->frames[w->depth++] = (struct rm_frame) { .dir = d, .name = name, .ino = ino };
        w->open_fds++;
        return 0;
}

static void rm_note_removed(struct rm_walk *w, struct rm_frame *f) {
        f->progress = true;
        if (!w->removed_any) {
                w->removed_any = true;
                if (w->fault_mid_delete)
                        w->fault_mid_delete();
        }
}

/* Keep room for the child about to be opened plus the fdinfo fallback's
 * transient fd.  Ancestors closest to the root are needed last, so they go
 * first; the root stream and the current directory always stay open. */
static void rm_make_room(struct rm_walk *w) {
        while (w->open_fds + 2 > w->max_open_fds && w->first_open < w->depth - 1) {
                struct rm_frame *f = &w->frames[w->first_open++];
                closedir(f->dir);
                f->dir = NULL;
                w->open_fds--;
        }
        if (w->first_open < 1)
                w->first_open = 1;
}

/* Descend into name of the current directory.  -ENOENT: vanished;
 * -ELOOP/-ENOTDIR: no longer a directory; -EXDEV: another mount. */
static int rm_descend(struct rm_walk *w, const char *name) {
        rm_make_room(w);

        int parent_fd = dirfd(w->frames[w->depth - 1].dir);
        struct dir_identity id;
        _cleanup_close_ int fd = open_child_on_mount(parent_fd, name, &w->root, &id);
        if (fd < 0)
                return fd;

        _cleanup_free_ char *copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        int r = rm_push(w, fd, copy, id.ino);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        TAKE_PTR(copy);
        return 0;
}

static int entry_type_unknown_is_dir(int dir_fd, const char *name, bool *ret_is_dir) {
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        *ret_is_dir = S_ISDIR(st.st_mode);
        return 0;
}

/* Remove (or descend into) one entry of the current directory.  d_type is
 * trusted only to pick the first attempt: every syscall re-checks the type
 * (unlinkat(0) refuses directories, openat(O_DIRECTORY|O_NOFOLLOW) refuses
 * symlinks and files), so an entry swapped under us is re-examined with
 * fstatat and handled as what it now is.  A symlink is only ever unlinked. */
static int rm_entry(struct rm_walk *w, const char *name, unsigned char d_type) {
        size_t top = w->depth - 1;
        int fd = dirfd(w->frames[top].dir);
        bool is_dir;
        int r;

        if (d_type == DT_UNKNOWN) {
                r = entry_type_unknown_is_dir(fd, name, &is_dir);
                if (r < 0)
                        return r == -ENOENT ? 0 : r;
        } else
                is_dir = d_type == DT_DIR;

        /* Bounded: an attacker flipping the entry between a directory and a
         * symlink must not keep us busy forever. */
        for (unsigned attempt = 0; attempt < 4; attempt++) {
                if (!is_dir) {
                        if (unlinkat(fd, name, 0) == 0) {
                                if (w->stats)
                                        w->stats->files++;
                                rm_note_removed(w, &w->frames[top]);
                                return 0;
                        }
                        if (errno == ENOENT)
                                return 0;
                        if (errno != EISDIR && errno != EPERM)
                                return negative_errno();
                        r = -errno;
                } else {
                        r = rm_descend(w, name);
                        if (r == 0 || r == -ENOENT)
                                return 0;
                        if (r != -ELOOP && r != -ENOTDIR)
                                return r;
                }

                /* Replaced since readdir (or EPERM for a reason other than
                 * being a directory): look again without following. */
                int q = entry_type_unknown_is_dir(fd, name, &is_dir);
                if (q == -ENOENT)
                        return 0;
                if (q < 0)
                        return r;
                if (r == -EPERM && !is_dir)
                        return r; /* a real permission problem */
        }
        return -EBUSY;
}

/* Bring the parent of the current frame back after it was closed for the fd
 * budget: reopen it through ".." of the child and check it is the very
 * directory recorded on the way down.  A mismatch means someone moved the
 * subtree: -ESTALE, and nothing more is deleted. */
static int rm_reopen_parent(struct rm_walk *w) {
        size_t top = w->depth - 1;
        struct rm_frame *parent = &w->frames[top - 1];
        struct dir_identity id;

        _cleanup_close_ int fd = openat(dirfd(w->frames[top].dir), "..",
                                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        int r = dir_identity(fd, &id);
        if (r < 0)
                return r;
        if (id.dev != w->root.dev || id.ino != parent->ino || id.mnt != w->root.mnt)
                return -ESTALE;

        parent->dir = fdopendir(fd);
        if (!parent->dir)
                return negative_errno();
        TAKE_FD(fd);
        parent->progress = false; /* a fresh stream starts afresh */
        parent->passes = 0;
        w->open_fds++;
        w->first_open = top - 1;
        return 0;
}

/* The current directory is empty: close it, return to its parent and remove
 * it there, after checking the name still refers to it (a directory moved
 * away and replaced by another one is not ours to rmdir). */
static int rm_pop(struct rm_walk *w) {
        size_t top = w->depth - 1;
        struct rm_frame *child = &w->frames[top];
        struct stat st;
        int r;

        if (!w->frames[top - 1].dir) {
                r = rm_reopen_parent(w);
                if (r < 0)
                        return r;
        }
        closedir(child->dir);
        child->dir = NULL;
        w->open_fds--;

        struct rm_frame *parent = &w->frames[top - 1];
        int parent_fd = dirfd(parent->dir);
        if (fstatat(parent_fd, child->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? -ESTALE : negative_errno();
        if ((uint64_t) st.st_dev != w->root.dev || (uint64_t) st.st_ino != child->ino)
                return -ESTALE;
        if (unlinkat(parent_fd, child->name, AT_REMOVEDIR) < 0)
                return negative_errno();

        if (w->stats)
                w->stats->dirs++;
        rm_note_removed(w, parent);
        free(child->name);
        child->name = NULL;
        w->depth--;
        if (w->first_open > w->depth)
                w->first_open = w->depth;
        return 0;
}

/* End of a readdir pass over the current directory. */
static int rm_end_of_dir(struct rm_walk *w, bool *ret_done) {
        struct rm_frame *f = &w->frames[w->depth - 1];

        /* Removing entries while reading is fine on Linux filesystems, but an
         * extra pass after a pass that removed something (one short getdents)
         * makes "empty" not depend on that. */
        if (f->progress) {
                if (++f->passes >= RM_MAX_PASSES)
                        return -ENOTEMPTY;
                f->progress = false;
                rewinddir(f->dir);
                return 0;
        }
        if (w->depth == 1) {
                *ret_done = true;
                return 0;
        }
        return rm_pop(w);
}

static int rm_open_root(struct rm_walk *w, int dir_fd) {
        /* A new open file description: reading it does not move the caller's
         * offset, and it works for an O_PATH dir_fd too. */
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        /* Without a mount id we could not tell a mount point from a plain
         * directory: refuse before deleting anything. */
        int r = dir_identity(fd, &w->root);
        if (r < 0)
                return r;
        r = rm_push(w, fd, NULL, w->root.ino);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        w->first_open = 1;
        return 0;
}

int fs_remove_contents(int dir_fd, unsigned max_open_fds, struct rm_stats *stats,
                       void (*fault_mid_delete)(void)) {
        struct rm_walk w = {
                .max_open_fds = max_open_fds,
                .stats = stats,
                .fault_mid_delete = fault_mid_delete,
        };
        bool done = false;
        int r;

        if (dir_fd < 0 || max_open_fds < RM_MIN_OPEN_FDS)
                return -EINVAL;
        if (stats)
                *stats = (struct rm_stats) { 0 };

        r = rm_open_root(&w, dir_fd);
        while (r >= 0 && !done) {
                struct rm_frame *f = &w.frames[w.depth - 1];

                errno = 0;
                struct dirent *de = readdir(f->dir);
                if (!de) {
                        r = errno != 0 ? negative_errno() : rm_end_of_dir(&w, &done);
                        continue;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = rm_entry(&w, de->d_name, de->d_type);
        }

        rm_walk_done(&w);
        return r < 0 ? r : 0;
}
