/* SPDX-License-Identifier: MIT */
/*
 * In-use probe: one pass collects (process, path) references, sorted once;
 * each candidate is then answered with binary searches.  The pass reads
 * /proc on Linux; elsewhere it runs lsof (inuse-lsof.c), which fills the
 * same snapshot through the storage functions of inuse-backend.h.
 *
 * Everything about a process is read relative to its /proc/<pid> directory
 * fd: once that is open, a pid reused by a new process cannot be mistaken
 * for the old one (its entries then fail with ENOENT/ESRCH: "vanished").
 * This module only reads; nothing here deletes or creates anything.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/magic.h>
#include <sys/statfs.h>
#endif

#include "buildconf.h"
#include "inuse-backend.h"
#include "inuse.h"
#include "util.h"

#define DELETED_SUFFIX " (deleted)"
/* A maps file bigger than this (millions of mappings) is not read: the
 * process then counts as not inspected. */
#define MAPS_MAX_BYTES (256u << 20)
#define DENTS_BUF_SIZE 8192

struct proc_info {
        pid_t pid;
        char comm[INUSE_COMM_MAX];
};

/* A path some process holds: NUL-terminated at arena + off. */
struct path_ref {
        size_t off;
        size_t proc;
};

struct inuse_snapshot {
        struct proc_info *procs;
        size_t n_procs, cap_procs;
        struct path_ref *refs;
        size_t n_refs, cap_refs;
        struct path_ref *inexact; /* known prefixes of paths held (lsof) */
        size_t n_inexact, cap_inexact;
        char *arena;
        size_t arena_len, arena_cap;
        size_t uninspectable;
        size_t hidden;          /* own processes the kernel will not let us inspect */
        bool complete;
        pid_t unknown_pid;
        char unknown_comm[INUSE_COMM_MAX];
};

/* ------------------------------------------------------------------------ */
/* Snapshot storage (shared with the lsof backend: inuse-backend.h)         */

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
        if (need <= *cap)
                return 0;
        size_t n = *cap ? *cap : 64;
        while (n < need)
                n *= 2;
        void *q = reallocarray(*p, n, elem);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = n;
        return 0;
}

int inuse_snapshot_new(struct inuse_snapshot **ret) {
        struct inuse_snapshot *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->complete = true;
        *ret = s;
        return 0;
}

/* Copy path[0, len) into the arena and record it in *list. */
static int push_ref(struct inuse_snapshot *s, struct path_ref **list, size_t *n, size_t *cap,
                    size_t proc, const char *path, size_t len) {
        int r = grow((void **) &s->arena, &s->arena_cap, s->arena_len + len + 1, 1);
        if (r < 0)
                return r;
        r = grow((void **) list, cap, *n + 1, sizeof(**list));
        if (r < 0)
                return r;

        memcpy(s->arena + s->arena_len, path, len);
        s->arena[s->arena_len + len] = '\0';
        (*list)[(*n)++] = (struct path_ref) { .off = s->arena_len, .proc = proc };
        s->arena_len += len + 1;
        return 0;
}

/* Only absolute paths can be inside a managed directory: socket:[..],
 * pipe:[..], anon_inode:.., [heap] and the like are dropped here. */
int inuse_snapshot_add_path(struct inuse_snapshot *s, size_t proc, const char *path, size_t len) {
        if (len == 0 || path[0] != '/')
                return 0;
        return push_ref(s, &s->refs, &s->n_refs, &s->cap_refs, proc, path, len);
}

/* The held path is the prefix and more: everything at or above the prefix's
 * directory is certainly held (an ordinary ref to that directory says so),
 * anything that starts with the whole prefix may be (inuse_check). */
int inuse_snapshot_add_inexact(struct inuse_snapshot *s, size_t proc, const char *prefix, size_t len) {
        if (len == 0 || prefix[0] != '/')
                return 0;
        size_t dir_len = len;
        while (dir_len > 1 && prefix[dir_len - 1] != '/')
                dir_len--;
        if (dir_len > 1)
                dir_len--; /* drop the slash itself: "/a/b" -> "/a", "/a" -> "/" */
        int r = inuse_snapshot_add_path(s, proc, prefix, dir_len);
        if (r < 0)
                return r;
        return push_ref(s, &s->inexact, &s->n_inexact, &s->cap_inexact, proc, prefix, len);
}

int inuse_snapshot_add_proc(struct inuse_snapshot *s, pid_t pid, const char *comm, size_t *ret_index) {
        int r = grow((void **) &s->procs, &s->cap_procs, s->n_procs + 1, sizeof(*s->procs));
        if (r < 0)
                return r;

        struct proc_info *p = &s->procs[s->n_procs];
        p->pid = pid;
        snprintf(p->comm, sizeof(p->comm), "%s", comm);
        *ret_index = s->n_procs++;
        return 0;
}

void inuse_snapshot_mark_unknown(struct inuse_snapshot *s, pid_t pid, const char *comm) {
        if (s->complete) {
                s->unknown_pid = pid;
                snprintf(s->unknown_comm, sizeof(s->unknown_comm), "%s", comm);
        }
        s->complete = false;
        if (pid > 0)
                s->uninspectable++;
}

void inuse_snapshot_note_hidden(struct inuse_snapshot *s) {
        s->hidden++;
}

void inuse_snapshot_free(struct inuse_snapshot *s) {
        if (!s)
                return;
        free(s->procs);
        free(s->refs);
        free(s->inexact);
        free(s->arena);
        free(s);
}

#ifdef __linux__
/* ------------------------------------------------------------------------ */
/* Reading /proc                                                            */

/* Scan-time state that does not outlive inuse_scan(). */
struct scan {
        struct inuse_snapshot *s;
        uid_t uid;
        pid_t self;
        char *buf;               /* contents of the last status/maps read */
        size_t buf_cap;
        char link[PATH_MAX + 1]; /* readlink target */
};

struct status_info {
        char comm[INUSE_COMM_MAX];
        char state;
        uid_t uids[4];           /* real, effective, saved, fs */
        bool have_uids;
};

static bool has_suffix(const char *s, size_t len, const char *suffix) {
        size_t n = strlen(suffix);
        return len > n && memcmp(s + len - n, suffix, n) == 0;
}

/* An unlinked object is reported with " (deleted)" appended; a file may
 * also really be called that, so both spellings are kept. */
static int add_target(struct inuse_snapshot *s, size_t proc, const char *path, size_t len) {
        int r = inuse_snapshot_add_path(s, proc, path, len);
        if (r < 0 || !has_suffix(path, len, DELETED_SUFFIX))
                return r;
        return inuse_snapshot_add_path(s, proc, path, len - strlen(DELETED_SUFFIX));
}

static bool is_vanished(int r) {
        return r == -ENOENT || r == -ESRCH;
}

static bool parse_pid(const char *name, pid_t *ret) {
        char *end;

        if (name[0] < '1' || name[0] > '9')
                return false;
        errno = 0;
        long v = strtol(name, &end, 10);
        if (errno || *end || v <= 0 || v > INT32_MAX)
                return false;
        *ret = (pid_t) v;
        return true;
}

/* Read a whole /proc file into sc->buf (NUL-terminated). */
static int read_file_at(struct scan *sc, int dir_fd, const char *name, size_t max, size_t *ret_len) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t len = 0;

        if (fd < 0)
                return negative_errno();
        for (;;) {
                if (len + 1 >= sc->buf_cap) {
                        if (sc->buf_cap >= max)
                                return -EFBIG;
                        int r = grow((void **) &sc->buf, &sc->buf_cap, len + 4096 + 1, 1);
                        if (r < 0)
                                return r;
                }
                ssize_t n = read(fd, sc->buf + len, sc->buf_cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        sc->buf[len] = '\0';
        *ret_len = len;
        return 0;
}

static int read_link_at(struct scan *sc, int dir_fd, const char *name, size_t *ret_len) {
        ssize_t n = readlinkat(dir_fd, name, sc->link, sizeof(sc->link));
        if (n < 0)
                return negative_errno();
        if ((size_t) n >= sizeof(sc->link))
                return -ENAMETOOLONG; /* truncated: cannot be matched reliably */
        sc->link[n] = '\0';
        *ret_len = (size_t) n;
        return 0;
}

static void parse_status_line(const char *line, size_t len, struct status_info *st) {
        if (len > 6 && strncmp(line, "Name:\t", 6) == 0) {
                /* The kernel escapes control characters and backslashes here. */
                size_t n = len - 6 < INUSE_COMM_MAX - 1 ? len - 6 : INUSE_COMM_MAX - 1;
                memcpy(st->comm, line + 6, n);
                st->comm[n] = '\0';
        } else if (len > 7 && strncmp(line, "State:\t", 7) == 0)
                st->state = line[7];
        else if (strncmp(line, "Uid:", 4) == 0) {
                unsigned long u[4];
                if (sscanf(line + 4, "%lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) == 4) {
                        for (size_t i = 0; i < 4; i++)
                                st->uids[i] = (uid_t) u[i];
                        st->have_uids = true;
                }
        }
}

static int read_status(struct scan *sc, int pid_fd, struct status_info *ret) {
        struct status_info st = { 0 };
        size_t len;

        int r = read_file_at(sc, pid_fd, "status", 1u << 20, &len);
        if (r < 0)
                return r;
        for (const char *line = sc->buf; *line; ) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t) (nl - line) : strlen(line);
                parse_status_line(line, n, &st);
                if (!nl)
                        break;
                line = nl + 1;
        }
        *ret = st;
        return 0;
}

/* Would a failure to read this process leave us blind to something of ours?
 * Unknown uids (status without a Uid line) count as ours. */
static bool is_own(const struct scan *sc, const struct status_info *st) {
        if (sc->uid == 0 || !st->have_uids)
                return true;
        for (size_t i = 0; i < 4; i++)
                if (st->uids[i] == sc->uid)
                        return true;
        return false;
}

/* Without status (hidepid=1 hides it from other users): the owner of the
 * /proc/<pid> directory is the process's effective uid. */
static bool owner_is_own(const struct scan *sc, int pid_fd) {
        struct stat st;

        if (sc->uid == 0 || fstat(pid_fd, &st) < 0)
                return true;
        return st.st_uid == sc->uid;
}

static int inspect_link(struct scan *sc, int base_fd, const char *name, size_t proc) {
        size_t len;
        int r = read_link_at(sc, base_fd, name, &len);
        if (r < 0)
                return r;
        return add_target(sc->s, proc, sc->link, len);
}

static int inspect_fds(struct scan *sc, int base_fd, size_t proc) {
        _cleanup_close_ int fd_dir = openat(base_fd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char dents[DENTS_BUF_SIZE] __attribute__((aligned(8)));

        if (fd_dir < 0)
                return negative_errno();
        for (;;) {
                ssize_t n = getdents64(fd_dir, dents, sizeof(dents));
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return 0;
                for (ssize_t pos = 0; pos < n; ) {
                        struct dirent64 *de = (struct dirent64 *) (dents + pos);
                        pos += de->d_reclen;
                        if (de->d_name[0] == '.')
                                continue;
                        int r = inspect_link(sc, fd_dir, de->d_name, proc);
                        if (r < 0 && r != -ENOENT) /* ENOENT: closed meanwhile */
                                return r;
                }
        }
}

/* maps escapes '\n' in paths as "\012"; a name may also contain those four
 * characters literally, so both readings are kept. */
static int add_maps_path(struct scan *sc, size_t proc, const char *path, size_t len) {
        int r = add_target(sc->s, proc, path, len);
        if (r < 0 || !memmem(path, len, "\\012", 4))
                return r;

        _cleanup_free_ char *raw = malloc(len + 1);
        size_t n = 0;
        if (!raw)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                if (i + 4 <= len && memcmp(path + i, "\\012", 4) == 0) {
                        raw[n++] = '\n';
                        i += 3;
                } else
                        raw[n++] = path[i];
        }
        return add_target(sc->s, proc, raw, n);
}

/* The path field of one maps line ("start-end perms offset dev inode
 * path"), or NULL for an anonymous mapping. */
static const char *maps_line_path(const char *line, const char *end) {
        const char *p = line;

        for (unsigned field = 0; field < 5; field++) {
                while (p < end && *p != ' ')
                        p++;
                while (p < end && *p == ' ')
                        p++;
        }
        return p < end && *p == '/' ? p : NULL;
}

static int inspect_maps(struct scan *sc, int base_fd, size_t proc) {
        size_t len;
        int r = read_file_at(sc, base_fd, "maps", MAPS_MAX_BYTES, &len);
        if (r < 0)
                return r;

        /* Consecutive mappings of one file (its segments) are stored once. */
        const char *prev = NULL;
        size_t prev_len = 0;
        for (const char *line = sc->buf; line < sc->buf + len; ) {
                const char *nl = memchr(line, '\n', (size_t) (sc->buf + len - line));
                const char *end = nl ? nl : sc->buf + len;
                const char *path = maps_line_path(line, end);
                size_t n = path ? (size_t) (end - path) : 0;

                if (path && !(prev && n == prev_len && memcmp(path, prev, n) == 0)) {
                        r = add_maps_path(sc, proc, path, n);
                        if (r < 0)
                                return r;
                        prev = path;
                        prev_len = n;
                }
                line = end + 1;
        }
        return 0;
}

/* The leader of a thread group exited but other threads run: its own fd
 * table and mm are gone, so look through a live thread instead. */
static int open_live_thread(int pid_fd, pid_t pid) {
        _cleanup_close_ int task_fd = openat(pid_fd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char dents[DENTS_BUF_SIZE] __attribute__((aligned(8)));

        if (task_fd < 0)
                return negative_errno();
        for (;;) {
                ssize_t n = getdents64(task_fd, dents, sizeof(dents));
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return -ENOENT;
                for (ssize_t pos = 0; pos < n; ) {
                        struct dirent64 *de = (struct dirent64 *) (dents + pos);
                        pid_t tid;
                        pos += de->d_reclen;
                        if (!parse_pid(de->d_name, &tid) || tid == pid)
                                continue;
                        int fd = openat(task_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (fd >= 0)
                                return fd;
                        if (errno != ENOENT)
                                return negative_errno();
                }
        }
}

static int inspect_entries(struct scan *sc, int base_fd, size_t proc) {
        int r = inspect_fds(sc, base_fd, proc);
        if (r >= 0)
                r = inspect_link(sc, base_fd, "cwd", proc);
        if (r >= 0)
                r = inspect_link(sc, base_fd, "root", proc);
        if (r >= 0)
                r = inspect_maps(sc, base_fd, proc);
        return r;
}

/* /proc/<pid> itself could not be opened.  Gone since readdir: fine.
 * Permission (hidepid=noaccess hides other users' processes): a gap only
 * when the directory is ours, or we are root.  Anything else (EMFILE...):
 * we do not know whose it was, so it is a gap. */
static bool dir_open_failure_is_blind(const struct scan *sc, int proc_fd, const char *name, int r) {
        struct stat st;

        if (is_vanished(r))
                return false;
        if (r != -EACCES && r != -EPERM)
                return true;
        if (sc->uid == 0)
                return true;
        if (fstatat(proc_fd, name, &st, 0) < 0)
                return errno != ENOENT;
        return st.st_uid == sc->uid;
}

/* Reading an entry of a process failed: a gap when it was ours -- except
 * when the kernel refuses it outright (EACCES/EPERM).  That is how it treats
 * non-dumpable processes (ssh-agent, gpg-agent, setuid programs) for their
 * own user, and, for root inside a sandbox, processes beyond its ptrace
 * reach: like other users' processes, they are outside what this probe can
 * ever see.  Counting them as gaps would defer keep_while_in_use entries
 * forever on any desktop running an agent; they are counted in the stats
 * instead.  Any other failure (I/O, memory, a malformed entry) stays a gap. */
static void note_unreadable(struct scan *sc, pid_t pid, const struct status_info *st, int r) {
        if (is_vanished(r) || !is_own(sc, st))
                return;
        if (r == -EACCES || r == -EPERM) {
                sc->s->hidden++;
                return;
        }
        inuse_snapshot_mark_unknown(sc->s, pid, st->comm);
}

/* One process, its /proc/<pid> open.  A zombie holds nothing -- unless only
 * its leader exited and other threads still run: then look through one. */
static int inspect_pid_dir(struct scan *sc, int pid_fd, pid_t pid) {
        _cleanup_close_ int thread_fd = -1;
        struct status_info st;
        size_t proc;

        int r = read_status(sc, pid_fd, &st);
        if (r < 0) {
                if (r != -ENOMEM && !is_vanished(r) && owner_is_own(sc, pid_fd))
                        inuse_snapshot_mark_unknown(sc->s, pid, "");
                return r == -ENOMEM ? r : 0;
        }
        if (st.state == 'Z' || st.state == 'X') {
                thread_fd = open_live_thread(pid_fd, pid);
                if (thread_fd < 0) {
                        note_unreadable(sc, pid, &st, thread_fd);
                        return thread_fd == -ENOMEM ? thread_fd : 0;
                }
        }

        r = inuse_snapshot_add_proc(sc->s, pid, st.comm, &proc);
        if (r < 0)
                return r;
        r = inspect_entries(sc, thread_fd >= 0 ? thread_fd : pid_fd, proc);
        if (r < 0)
                note_unreadable(sc, pid, &st, r);
        return r == -ENOMEM ? r : 0;
}

/* Returns < 0 only for errors that end the whole scan (-ENOMEM); a process
 * that vanishes is skipped, one that cannot be read is recorded in the
 * snapshot (when ours) or ignored. */
static int inspect_process(struct scan *sc, int proc_fd, pid_t pid, const char *name) {
        _cleanup_close_ int pid_fd = openat(proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (pid_fd < 0) {
                if (dir_open_failure_is_blind(sc, proc_fd, name, negative_errno()))
                        inuse_snapshot_mark_unknown(sc->s, pid, "");
                return 0;
        }
        return inspect_pid_dir(sc, pid_fd, pid);
}

/* Our pid as this /proc sees it (it may belong to another pid namespace). */
static pid_t proc_self_pid(int proc_fd) {
        char buf[32];
        pid_t pid;

        ssize_t n = readlinkat(proc_fd, "self", buf, sizeof(buf) - 1);
        if (n > 0) {
                buf[n] = '\0';
                if (parse_pid(buf, &pid))
                        return pid;
        }
        return getpid();
}

static int scan_proc(struct scan *sc, int proc_fd) {
        char dents[DENTS_BUF_SIZE] __attribute__((aligned(8)));

        for (;;) {
                ssize_t n = getdents64(proc_fd, dents, sizeof(dents));
                if (n < 0) {
                        inuse_snapshot_mark_unknown(sc->s, 0, "");
                        return 0;
                }
                if (n == 0)
                        return 0;
                for (ssize_t pos = 0; pos < n; ) {
                        struct dirent64 *de = (struct dirent64 *) (dents + pos);
                        pid_t pid;
                        pos += de->d_reclen;
                        if (!parse_pid(de->d_name, &pid) || pid == sc->self)
                                continue;
                        int r = inspect_process(sc, proc_fd, pid, de->d_name);
                        if (r < 0)
                                return r;
                }
        }
}

/* /proc, if it is a procfs: an empty directory in its place (a chroot or
 * container without it) must not read as "nobody holds anything". */
static int open_proc(void) {
        _cleanup_close_ int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct statfs sfs;

        if (fd < 0)
                return negative_errno();
        if (fstatfs(fd, &sfs) < 0)
                return negative_errno();
        if (sfs.f_type != PROC_SUPER_MAGIC)
                return -ENODEV;
        return TAKE_FD(fd);
}

/* The /proc backend: < 0 only for -ENOMEM, gaps are marked in s. */
static int proc_scan(struct inuse_snapshot *s, uid_t uid) {
        _cleanup_close_ int proc_fd = open_proc();

        if (proc_fd < 0) {
                inuse_snapshot_mark_unknown(s, 0, "");
                return 0;
        }
        struct scan sc = { .s = s, .uid = uid, .self = proc_self_pid(proc_fd) };
        int r = scan_proc(&sc, proc_fd);
        free(sc.buf);
        return r;
}
#endif /* __linux__ */

/* ------------------------------------------------------------------------ */
/* Scanning                                                                 */

static bool test_hook_fail(void) {
#if EPHEMDIR_TEST_HOOKS
        const char *v = getenv("EPHEMDIR_TEST_INUSE_FAIL");
        return v && streq(v, "1");
#else
        return false;
#endif
}

/* /proc on Linux, lsof elsewhere.  Test builds can pick lsof on Linux too:
 * EPHEMDIR_TEST_INUSE_PROBE=lsof, with EPHEMDIR_TEST_LSOF naming a program
 * to run instead of the system's lsof (a fake: it skips the trusted
 * resolution, which is why only test builds have it) and
 * EPHEMDIR_TEST_LSOF_TIMEOUT_MS shortening the timeout. */
static int backend_scan(struct inuse_snapshot *s, uid_t uid) {
        struct inuse_lsof_opts opts = { 0 };
        bool want_lsof = false;
#if EPHEMDIR_TEST_HOOKS
        const char *probe = getenv("EPHEMDIR_TEST_INUSE_PROBE");
        const char *ms = getenv("EPHEMDIR_TEST_LSOF_TIMEOUT_MS");
        want_lsof = probe && streq(probe, "lsof");
        opts.program = getenv("EPHEMDIR_TEST_LSOF");
        opts.timeout_ms = ms ? atoi(ms) : 0;
#endif
#ifdef __linux__
        if (!want_lsof)
                return proc_scan(s, uid);
#else
        (void) want_lsof;
#endif
        return inuse_lsof_scan(s, uid, &opts);
}

static int ref_cmp(const void *a, const void *b, void *userdata) {
        const struct path_ref *x = a, *y = b;
        const char *arena = userdata;

        int r = strcmp(arena + x->off, arena + y->off);
        if (r != 0)
                return r;
        return x->proc < y->proc ? -1 : x->proc > y->proc;
}

void inuse_snapshot_seal(struct inuse_snapshot *s) {
        if (s->n_refs > 0)
                qsort_r(s->refs, s->n_refs, sizeof(*s->refs), ref_cmp, s->arena);
}

int inuse_scan(uid_t uid, struct inuse_snapshot **ret) {
        _cleanup_(inuse_snapshot_freep) struct inuse_snapshot *s = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = inuse_snapshot_new(&s);
        if (r < 0)
                return r;

        if (test_hook_fail())
                inuse_snapshot_mark_unknown(s, 0, "");

        r = backend_scan(s, uid);
        if (r < 0)
                return r;

        inuse_snapshot_seal(s);
        *ret = TAKE_PTR(s);
        return 0;
}

/* ------------------------------------------------------------------------ */
/* Lookups                                                                  */

/* Compare str with key[0, len) -- followed by '/' when slash -- as
 * unsigned bytes, like strcmp. */
static int key_cmp(const char *str, const char *key, size_t len, bool slash) {
        int r = strncmp(str, key, len);
        if (r != 0)
                return r;
        if (slash)
                return (int) (unsigned char) str[len] - '/';
        return str[len] != '\0';
}

/* First ref not ordered before the key. */
static size_t lower_bound(const struct inuse_snapshot *s, const char *key, size_t len, bool slash) {
        size_t lo = 0, hi = s->n_refs;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (key_cmp(s->arena + s->refs[mid].off, key, len, slash) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* A ref at or below path: the exact path first, then the "path/" range. */
static bool find_holder(const struct inuse_snapshot *s, const char *path, size_t len, size_t *ret) {
        if (len == 1) { /* "/": everything is below it */
                *ret = 0;
                return s->n_refs > 0;
        }

        size_t i = lower_bound(s, path, len, false);
        if (i < s->n_refs && key_cmp(s->arena + s->refs[i].off, path, len, false) == 0) {
                *ret = i;
                return true;
        }
        i = lower_bound(s, path, len, true);
        if (i < s->n_refs && key_cmp(s->arena + s->refs[i].off, path, len, true) == 0) {
                *ret = i;
                return true;
        }
        return false;
}

static void name_process(pid_t pid, const char *comm, pid_t *ret_pid, char ret_comm[INUSE_COMM_MAX]) {
        if (ret_pid)
                *ret_pid = pid;
        if (ret_comm)
                snprintf(ret_comm, INUSE_COMM_MAX, "%s", comm);
}

/* A path known only by a prefix (inuse_snapshot_add_inexact) that could be
 * at or below path[0, len): the path starts with the whole prefix.  A
 * linear scan: such names are rare (lsof escaped a byte in them). */
static bool find_inexact(const struct inuse_snapshot *s, const char *path, size_t len, size_t *ret) {
        for (size_t i = 0; i < s->n_inexact; i++) {
                const char *prefix = s->arena + s->inexact[i].off;
                size_t n = strlen(prefix);
                if (len >= n && memcmp(path, prefix, n) == 0) {
                        *ret = i;
                        return true;
                }
        }
        return false;
}

enum inuse_verdict inuse_check(const struct inuse_snapshot *s, const char *const *paths,
                               size_t n_paths, pid_t *ret_pid, char ret_comm[INUSE_COMM_MAX]) {
        bool invalid = !s || (n_paths > 0 && !paths);
        const struct proc_info *maybe = NULL;

        for (size_t i = 0; !invalid && i < n_paths; i++) {
                const char *p = paths[i];
                if (!p || p[0] != '/') {
                        invalid = true;
                        break;
                }
                size_t len = strlen(p);
                while (len > 1 && p[len - 1] == '/')
                        len--;

                size_t hit;
                if (find_holder(s, p, len, &hit)) {
                        const struct proc_info *pi = &s->procs[s->refs[hit].proc];
                        name_process(pi->pid, pi->comm, ret_pid, ret_comm);
                        return INUSE_BUSY;
                }
                if (!maybe && find_inexact(s, p, len, &hit))
                        maybe = &s->procs[s->inexact[hit].proc];
        }

        if (invalid) {
                name_process(0, "", ret_pid, ret_comm);
                return INUSE_UNKNOWN;
        }
        if (maybe) {
                name_process(maybe->pid, maybe->comm, ret_pid, ret_comm);
                return INUSE_UNKNOWN;
        }
        if (!s->complete) {
                name_process(s->unknown_pid, s->unknown_comm, ret_pid, ret_comm);
                return INUSE_UNKNOWN;
        }
        return INUSE_FREE;
}

void inuse_snapshot_stats(const struct inuse_snapshot *s, struct inuse_stats *ret) {
        if (!s || !ret)
                return;
        *ret = (struct inuse_stats) {
                .processes = s->n_procs,
                .paths = s->n_refs,
                .uninspectable = s->uninspectable,
                .hidden = s->hidden,
                .complete = s->complete,
        };
}

const char *inuse_verdict_word(enum inuse_verdict v) {
        switch (v) {
        case INUSE_FREE:
                return "free";
        case INUSE_BUSY:
                return "in-use";
        case INUSE_UNKNOWN:
                return "unknown";
        }
        return "unknown";
}
