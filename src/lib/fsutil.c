/* SPDX-License-Identifier: MIT */
/*
 * Filesystem primitives of the fd-safe core: lexical path helpers, the
 * trusted walk from "/", mount ids, directory identity and child opening.
 * The fd-bound recursive delete built on them is rmtree.c.  This file has
 * no dependency beyond libc: the CLI links its object on its own.
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

/* Symbolic links a read walk follows at most, as the kernel's own limit. */
#define TRUSTED_WALK_MAX_LINKS 40

/* One trusted walk.  path is what is being walked: the caller's, or it with
 * followed links replaced by their targets (owned), so that a refusal names
 * the directory that was really at fault. */
struct walk {
        const char *path;
        char *owned;
        size_t bad_len;       /* the prefix of path to blame on failure */
        unsigned links_left;  /* links it may still follow; 0 from the start: none */
        uid_t uid;
};

/* A symbolic link on the way to a directory that is only read (rules.d,
 * reached through a ~/.config that links to a dotfiles checkout).  The
 * directory holding the link has been checked already: only its owner or
 * root can add or replace an entry there, or, if it is a sticky one of
 * root's, only the entry's owner.  So a link owned by uid or root is theirs,
 * as a directory entry would be; following it redirects nothing that
 * another user controls.  Its target is walked like the rest, every
 * directory on the way checked.  Replaces the component that starts at
 * name_start (rest: what follows it) with the target; returns where the
 * walk goes on in the new path, with *fd at "/" for an absolute target and
 * still at the link's directory for a relative one. */
static int follow_link(struct walk *w, int *fd, const char *name, size_t name_start, const char *rest) {
        char target[PATH_MAX];
        struct stat st;

        if (w->links_left == 0)
                return -ELOOP;
        w->links_left--;
        if (fstatat(*fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISLNK(st.st_mode) || (st.st_uid != w->uid && st.st_uid != 0))
                return -ELOOP;
        ssize_t n = readlinkat(*fd, name, target, sizeof(target));
        if (n < 0)
                return negative_errno();
        if (n == 0 || (size_t) n >= sizeof(target))
                return -ENAMETOOLONG;
        target[n] = '\0';

        size_t keep = target[0] == '/' ? 0 : name_start;
        char *np = NULL;
        if (asprintf(&np, "%.*s%s/%s", (int) keep, w->path, target, rest) < 0)
                return -ENOMEM;
        if (target[0] == '/') {
                int root = open("/", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_PATH);
                if (root < 0) {
                        free(np);
                        return negative_errno();
                }
                safe_close(*fd);
                *fd = root;
        }
        free(w->owned);
        w->owned = np;
        w->path = np;
        return (int) keep;
}

/* ".." comes only from a link's target (the caller's path is normalized:
 * the strict walks refuse it): opened like any component, and checked at
 * the top of the walk like any other. */
static int open_parent_component(int fd, bool last) {
        int parent = openat(fd, "..", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | (last ? O_RDONLY : O_PATH));
        return parent < 0 ? negative_errno() : parent;
}

/* The shared walk of fs_open_trusted_dir, fs_open_trusted_read_dir and
 * fs_mkdir_p_trusted.  Each component is checked before anything is opened
 * or created inside it, so a hostile parent never gets the chance to
 * redirect a later step.  *ret_st: the stat of the last component looked at
 * (the refused one on -EPERM); the caller judges the final directory. */
static int trusted_walk(struct walk *w, bool create, int *ret_fd, struct stat *ret_st) {
        _cleanup_close_ int fd = open("/", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_PATH);
        size_t pos = 0;
        bool opened_last = false, may_follow = w->links_left > 0;

        w->bad_len = 1; /* blame "/" until a component is reached */
        if (fd < 0)
                return negative_errno();

        for (;;) {
                if (fstat(fd, ret_st) < 0)
                        return negative_errno();
                if (!component_is_trusted(ret_st, w->uid))
                        return -EPERM;

                const char *p = w->path + pos;
                while (*p == '/')
                        p++;
                if (*p == '\0')
                        break;

                const char *start = p;
                while (*p && *p != '/')
                        p++;
                size_t n = (size_t) (p - start);
                w->bad_len = (size_t) (p - w->path);
                if (is_dot_or_dotdot(start, n) && !may_follow)
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

                if (streq(name, ".")) {
                        pos = (size_t) (p - w->path);
                        continue;
                }
                int child = streq(name, "..") ? open_parent_component(fd, last)
                                              : open_component(fd, name, last, create);
                if (child == -ELOOP && may_follow) {
                        int at = follow_link(w, &fd, name, (size_t) (start - w->path), rest);
                        if (at < 0)
                                return at;
                        pos = (size_t) at;
                        opened_last = false;
                        continue;
                }
                if (child < 0)
                        return child;
                safe_close(fd);
                fd = child;
                opened_last = last;
                pos = (size_t) (p - w->path);
        }

        /* The last component was opened O_RDONLY; "/" itself (walked no
         * component), or a walk that ended on ".", is still O_PATH and needs
         * reopening for reading. */
        if (!opened_last) {
                int rd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (rd < 0)
                        return negative_errno();
                safe_close(fd);
                fd = rd;
        }

        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The walk and a verdict on its final directory; on failure the offending
 * prefix goes to *ret_bad_component (if non-NULL). */
static int open_judged(const char *path, uid_t uid, unsigned max_links, int *ret_fd,
                       enum trust_verdict *ret_verdict,
                       int (*judge)(const struct stat *st, uid_t uid, enum trust_verdict *ret),
                       char **ret_bad_component, struct stat *ret_bad_stat) {
        struct walk w = { .path = path, .links_left = max_links, .uid = uid };
        _cleanup_close_ int fd = -1;
        enum trust_verdict verdict;
        struct stat st = {};

        if (!path || path[0] != '/' || !ret_fd)
                return -EINVAL;
        int r = trusted_walk(&w, false, &fd, &st);
        if (r >= 0)
                r = judge(&st, uid, &verdict);   /* bad_len already covers the whole path */
        if (r < 0) {
                if (r != -EINVAL && r != -ENOMEM && set_bad_component(ret_bad_component, w.path, w.bad_len) < 0)
                        r = -ENOMEM;
                else if (r == -EPERM && ret_bad_stat)
                        *ret_bad_stat = st;
                free(w.owned);
                return r;
        }

        free(w.owned);
        *ret_fd = TAKE_FD(fd);
        if (ret_verdict)
                *ret_verdict = verdict;
        return 0;
}

int fs_open_trusted_dir(const char *path, uid_t uid, int *ret_fd,
                        enum trust_verdict *ret_verdict, char **ret_bad_component) {
        return open_judged(path, uid, 0, ret_fd, ret_verdict, final_verdict, ret_bad_component, NULL);
}

/* A directory that is only read from: whoever can add or replace an entry
 * in it decides what we read, so nobody but its owner may write to it --
 * not even in a root-owned sticky dir like /tmp, where anyone may add
 * entries.  Root's own directories (/etc/...) are fine for every uid. */
static int read_verdict(const struct stat *st, uid_t uid, enum trust_verdict *ret) {
        if (st->st_uid != uid && st->st_uid != 0)
                return -EPERM;
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return -EPERM;
        *ret = TRUST_PRIVATE;
        return 0;
}

int fs_open_trusted_read_dir(const char *path, uid_t uid, int *ret_fd, char **ret_bad_component,
                             struct stat *ret_bad_stat) {
        return open_judged(path, uid, TRUSTED_WALK_MAX_LINKS, ret_fd, NULL, read_verdict, ret_bad_component,
                           ret_bad_stat);
}

int fs_mkdir_p_trusted(const char *path, uid_t uid, int *ret_fd) {
        if (!path || path[0] != '/' || !ret_fd)
                return -EINVAL;

        struct walk w = { .path = path, .uid = uid };
        enum trust_verdict verdict;
        struct stat st = {};
        _cleanup_close_ int fd = -1;
        int r = trusted_walk(&w, true, &fd, &st);
        if (r >= 0)
                r = final_verdict(&st, uid, &verdict);
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

/* One statx per directory gives device, inode, mount id and size together;
 * the fallback costs an fstat plus the fdinfo read.  dev is encoded like
 * st_dev, so it compares with fstat()-derived values as well. */
int fs_dir_identity(int fd, struct fs_dir_identity *ret) {
        struct statx stx;

        if (mount_id_fallback_level < 1 &&
            statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO | STATX_MNT_ID | STATX_SIZE, &stx) == 0 &&
            (stx.stx_mask & (STATX_TYPE | STATX_INO | STATX_MNT_ID)) ==
                    (STATX_TYPE | STATX_INO | STATX_MNT_ID)) {
                if (!S_ISDIR(stx.stx_mode))
                        return -ENOTDIR;
                ret->dev = (uint64_t) makedev(stx.stx_dev_major, stx.stx_dev_minor);
                ret->ino = stx.stx_ino;
                ret->mnt = stx.stx_mnt_id;
                ret->size = stx.stx_mask & STATX_SIZE ? stx.stx_size : 0;
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
        ret->size = st.st_size > 0 ? (uint64_t) st.st_size : 0;
        return 0;
}

static bool name_is_single_component(const char *name) {
        return name && name[0] != '\0' && !strchr(name, '/') &&
               !is_dot_or_dotdot(name, strlen(name));
}

/* Open a child directory and make sure it lives on the mount `expect` names
 * (st_dev catches a different filesystem, the mount id catches a bind mount
 * of the same one).  Returns the fd; on -EXDEV nothing stays open. */
int fs_open_child_on_mount(int dir_fd, const char *name, const struct fs_dir_identity *expect,
                           struct fs_dir_identity *ret_id) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct fs_dir_identity id;

        if (fd < 0)
                return negative_errno();
        int r = fs_dir_identity(fd, &id);
        if (r < 0)
                return r;
        if (id.dev != expect->dev || id.mnt != expect->mnt)
                return -EXDEV;

        if (ret_id)
                *ret_id = id;
        return TAKE_FD(fd);
}

int fs_open_child_dir(int dir_fd, const char *name, int *ret_fd) {
        struct fs_dir_identity parent;

        if (!name_is_single_component(name) || !ret_fd)
                return -EINVAL;
        int r = fs_dir_identity(dir_fd, &parent);
        if (r < 0)
                return r;

        int fd = fs_open_child_on_mount(dir_fd, name, &parent, NULL);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}
