/* SPDX-License-Identifier: MIT */
/*
 * In-use probe, lsof backend: where there is no /proc to read.  One lsof
 * run per snapshot lists every process's open files, working and root
 * directories and mapped files; its -F0 field output is parsed into the
 * same snapshot the /proc scan fills, so inuse_check() answers alike.
 *
 * What defends against what:
 *  - A planted "lsof": it is looked for only in fixed system directories,
 *    whose whole chain must be root's and writable by nobody else; PATH is
 *    never consulted.  The file checked is the file run: it is executed
 *    through the fd that was checked (fexecve), so a rename between check
 *    and exec cannot swap it (where fexecve is missing, the root-only chain
 *    is what keeps the path from changing).
 *  - lsof inheriting what it should not: a fixed minimal environment,
 *    stdin and stderr on /dev/null, cwd "/" (so that neither lsof nor the
 *    helpers it forks hold anything in a managed directory), and every fd
 *    but stdout closed, also those the host program left without
 *    O_CLOEXEC.
 *  - A hung lsof (a dead NFS server): killed with its whole process group
 *    (lsof forks helpers) after a timeout; the snapshot is then incomplete.
 *  - Output that does not say everything: incomplete unless lsof exited by
 *    itself, its framing parsed to the end, and it listed this very process
 *    (proof that it could see our pid namespace and our processes).  lsof
 *    runs without -w so that what it cannot read shows up as entries
 *    ("/proc/1/cwd (readlink: ...)") instead of silently missing; an own
 *    process with such an entry, or with no cwd entry at all, is a gap.
 *  - Names lsof cannot print exactly: it escapes unprintable bytes ("\n",
 *    "\x7f", "^A") but leaves '^' (and, in older versions, '\') alone, so
 *    escapes cannot be undone for sure.  A name is trusted only up to its
 *    first '\' or '^': beyond that it may be held (UNKNOWN), never FREE.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "inuse-backend.h"
#include "util.h"

#define LSOF_TIMEOUT_MS 10000
/* More output than this (millions of open files) is not read: unknown. */
#define LSOF_OUTPUT_MAX ((size_t) 256 << 20)
#define LSOF_READ_CHUNK ((size_t) 64 << 10)
/* We ask for at most five fields per set; lsof may add a few of its own. */
#define SET_FIELDS_MAX 16
/* Trailing " (...)" notes cut off one by one; lsof adds one, rarely two. */
#define NOTES_MAX 4

const char *const inuse_lsof_system_dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin", NULL };

static const char *const lsof_argv[] = {
        "lsof",
        "-n",           /* no host name lookups */
        "-P",           /* no port name lookups */
        "+c", "0",      /* the whole command name */
#ifdef __linux__
        "-Ki",          /* threads share their process's files: do not list them again */
#endif
        "-F0pcufn",     /* NUL-terminated fields: pid, command, uid, fd, name */
        NULL,           /* and no -w: see the top of this file */
};

static const char *const lsof_envp[] = {
        "PATH=/usr/bin:/bin:/usr/sbin:/sbin",
        /* English strerror() texts (parsed below), and UTF-8 names printed
         * as they are rather than escaped byte by byte.  Where the locale
         * is missing lsof falls back to C: more names become inexact. */
        "LC_ALL=C.UTF-8",
        NULL,
};

/* ------------------------------------------------------------------------ */
/* Finding lsof                                                             */

/* The file itself: regular, and only root can change it. */
static int check_binary(int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
                return -EPERM;
        return 0;
}

/* "lsof" in one directory: 0 with its fd; -ENOENT when not there, also
 * when the directory or the file is a symlink (never followed: with a
 * merged /usr the real directory is on the list as well); another error
 * when it is there but not trusted. */
static int open_candidate(const char *dir, int *ret_fd) {
        _cleanup_close_ int dir_fd = -1, fd = -1;
        enum trust_verdict verdict;

        /* uid 0: every component root's; the final directory must be
         * root's alone (TRUST_PRIVATE), not a sticky shared one. */
        int r = fs_open_trusted_dir(dir, 0, &dir_fd, &verdict, NULL);
        if (r == -ENOENT || r == -ENOTDIR || r == -ELOOP)
                return -ENOENT;
        if (r < 0)
                return r;
        if (verdict != TRUST_PRIVATE)
                return -EPERM;

        /* O_NONBLOCK: a FIFO in its place must not hang us before fstat. */
        fd = openat(dir_fd, "lsof", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT || errno == ELOOP ? -ENOENT : negative_errno();
        r = check_binary(fd);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int inuse_lsof_resolve(const char *const *dirs, int *ret_fd, char **ret_path) {
        int refusal = -ENOENT;

        if (!dirs || !ret_fd || !ret_path)
                return -EINVAL;
        for (size_t i = 0; dirs[i]; i++) {
                _cleanup_close_ int fd = -1;
                int r = open_candidate(dirs[i], &fd);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        /* Never run an untrusted one; a later trusted one will do. */
                        if (r != -ENOENT && refusal == -ENOENT)
                                refusal = r;
                        continue;
                }
                char *path;
                if (asprintf(&path, "%s/lsof", dirs[i]) < 0)
                        return -ENOMEM;
                *ret_fd = TAKE_FD(fd);
                *ret_path = path;
                return 0;
        }
        return refusal;
}

/* ------------------------------------------------------------------------ */
/* Running lsof                                                             */

struct child_plan {
        int exe_fd;             /* fexecve this when >= 0 ... */
        const char *path;       /* ... else execve this */
        int out_fd;             /* write end of the output pipe */
        int null_fd;            /* /dev/null: stdin and stderr */
        long max_fd;            /* highest fd to close without close_range */
};

struct outbuf {
        char *data;
        size_t len, cap;
};

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whatever the host program left open without O_CLOEXEC stays out of lsof.
 * keep (exe_fd) is O_CLOEXEC itself: the exec closes it. */
static void close_inherited(int keep, long max_fd) {
#ifdef __linux__
        if (keep < 3) {
                if (close_range(3, ~0U, 0) == 0)
                        return;
        } else if ((keep == 3 || close_range(3, (unsigned) keep - 1, 0) == 0) &&
                   close_range((unsigned) keep + 1, ~0U, 0) == 0)
                return;
#endif
        for (long fd = 3; fd <= max_fd; fd++)
                if (fd != keep)
                        (void) close((int) fd);
}

/* In the child: async-signal-safe calls only (the host may have threads). */
static _Noreturn void exec_child(const struct child_plan *c) {
        /* Its own process group, so that a timeout can kill lsof's helpers too. */
        (void) setpgid(0, 0);
        if (dup2(c->null_fd, STDIN_FILENO) < 0 || dup2(c->out_fd, STDOUT_FILENO) < 0 ||
            dup2(c->null_fd, STDERR_FILENO) < 0 || chdir("/") < 0)
                _exit(127);
        close_inherited(c->exe_fd, c->max_fd);
#ifndef __APPLE__ /* no fexecve there */
        if (c->exe_fd >= 0) {
                (void) fexecve(c->exe_fd, (char *const *) lsof_argv, (char *const *) lsof_envp);
                _exit(127);
        }
#endif
        (void) execve(c->path, (char *const *) lsof_argv, (char *const *) lsof_envp);
        _exit(127);
}

/* Our fds must not sit on 0-2 (a host that closed its stdio): the child's
 * dup2()s onto 0-2 would clobber them before they are used. */
static int fd_above_stdio(int fd) {
        if (fd < 0 || fd > 2)
                return fd;
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        safe_close(fd);
        return moved;
}

static int cloexec_pipe(int *ret_rd, int *ret_wr) {
        int fds[2];

#ifdef __APPLE__ /* no pipe2: a fork in another thread right now could inherit these */
        if (pipe(fds) < 0)
                return negative_errno();
        (void) fcntl(fds[0], F_SETFD, FD_CLOEXEC);
        (void) fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#else
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
#endif
        *ret_rd = fd_above_stdio(fds[0]);
        *ret_wr = fd_above_stdio(fds[1]);
        return *ret_rd < 0 || *ret_wr < 0 ? -EMFILE : 0;
}

static int spawn(const struct child_plan *c, pid_t *ret_pid) {
        pid_t pid = fork();

        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                exec_child(c);
        /* Also from this side: a kill(-pid) issued before the child got to
         * its own setpgid() must still find the group. */
        (void) setpgid(pid, pid);
        *ret_pid = pid;
        return 0;
}

/* 0 at the end of the output; -ETIMEDOUT past the deadline, -EFBIG over
 * the size cap. */
static int read_output(int fd, int64_t deadline, struct outbuf *b) {
        for (;;) {
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int) left);
                if (n < 0 && errno != EINTR)
                        return negative_errno();
                if (n <= 0)
                        continue;

                if (b->len == b->cap) {
                        if (b->cap >= LSOF_OUTPUT_MAX)
                                return -EFBIG;
                        size_t cap = b->cap ? b->cap * 2 : LSOF_READ_CHUNK;
                        char *q = realloc(b->data, cap);
                        if (!q)
                                return -ENOMEM;
                        b->data = q;
                        b->cap = cap;
                }
                ssize_t k = read(fd, b->data + b->len, b->cap - b->len);
                if (k < 0 && errno != EINTR && errno != EAGAIN)
                        return negative_errno();
                if (k == 0)
                        return 0;
                if (k > 0)
                        b->len += (size_t) k;
        }
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        (void) nanosleep(&ts, NULL);
}

/* Wait for lsof to end by the deadline, else (or right away, when
 * kill_now) kill its group; reap it.  Returns its wait status or < 0. */
static int wait_lsof(pid_t pid, int64_t deadline, bool kill_now, int *ret_status) {
        siginfo_t si;
        int status;

        if (kill_now)
                (void) kill(-pid, SIGKILL);
        for (;;) {
                memset(&si, 0, sizeof(si));
                if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOWAIT | (kill_now ? 0 : WNOHANG)) < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno(); /* ECHILD: reaped behind our back */
                }
                if (si.si_pid == pid)
                        break;
                if (now_ms() >= deadline) {
                        (void) kill(-pid, SIGKILL);
                        kill_now = true;
                } else
                        sleep_ms(1);
        }
        /* lsof is an unreaped zombie, so its pid -- the group id -- cannot
         * be reused yet: this reaches only helpers it left behind. */
        (void) kill(-pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        *ret_status = status;
        return 0;
}

/* lsof exits 1 when something it was asked for was not found; with no
 * search arguments that is no sign of a gap.  It prints only after
 * collecting everything, so an abort while collecting leaves no output,
 * which the parser's check for our own pid catches. */
static bool exited_cleanly(int status) {
        return WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1);
}

/* The program to run: the test override, else a trusted system lsof. */
static int pick_program(const struct inuse_lsof_opts *opts, int *ret_fd, char **ret_path) {
        if (opts && opts->program) {
                *ret_fd = -1;
                *ret_path = strdup(opts->program);
                return *ret_path ? 0 : -ENOMEM;
        }
        int r = inuse_lsof_resolve(inuse_lsof_system_dirs, ret_fd, ret_path);
        if (r < 0)
                return r;
        *ret_fd = fd_above_stdio(*ret_fd);
        return *ret_fd < 0 ? -EMFILE : 0;
}

/* One run: 0 when lsof exited by itself (0 or 1) within the deadline.
 * Whatever it printed is in *out either way; *ret_pid is its pid (0 when
 * it never started). */
static int run_lsof(const struct inuse_lsof_opts *opts, struct outbuf *out, pid_t *ret_pid) {
        _cleanup_close_ int exe_fd = -1, null_fd = -1, rd = -1, wr = -1;
        _cleanup_free_ char *path = NULL;
        int status;

        *ret_pid = 0;
        int r = pick_program(opts, &exe_fd, &path);
        if (r < 0)
                return r;
        null_fd = fd_above_stdio(open("/dev/null", O_RDWR | O_CLOEXEC));
        if (null_fd < 0)
                return negative_errno();
        r = cloexec_pipe(&rd, &wr);
        if (r < 0)
                return r;

        long max_fd = sysconf(_SC_OPEN_MAX);
        struct child_plan plan = {
                .exe_fd = exe_fd, .path = path, .out_fd = wr, .null_fd = null_fd,
                .max_fd = max_fd > 0 ? max_fd : 1024,
        };
        int timeout = opts && opts->timeout_ms > 0 ? opts->timeout_ms : LSOF_TIMEOUT_MS;
        int64_t deadline = now_ms() + timeout;
        pid_t pid;
        r = spawn(&plan, &pid);
        if (r < 0)
                return r;
        *ret_pid = pid;
        wr = safe_close(wr); /* only lsof writes now: EOF once it and its helpers are done */

        int read_r = read_output(rd, deadline, out);
        r = wait_lsof(pid, deadline, read_r < 0, &status);
        if (read_r < 0)
                return read_r;
        if (r < 0)
                return r;
        return exited_cleanly(status) ? 0 : -EPROTO;
}

int inuse_lsof_scan(struct inuse_snapshot *s, uid_t uid, const struct inuse_lsof_opts *opts) {
        struct outbuf out = { 0 };
        pid_t lsof_pid;

        int r = run_lsof(opts, &out, &lsof_pid);
        if (r == -ENOMEM) {
                free(out.data);
                return r;
        }
        if (r < 0)
                inuse_snapshot_mark_unknown(s, 0, "lsof");
        /* Even a failed run's output names real holders: BUSY wins over a gap. */
        r = inuse_lsof_parse(s, out.data ? out.data : "", out.len, uid, getpid(), lsof_pid);
        free(out.data);
        return r;
}

/* ------------------------------------------------------------------------ */
/* Parsing -F0 output                                                       */

struct field {
        char id;
        const char *data;       /* NUL-terminated at data[len] */
        size_t len;
};

struct parser {
        struct inuse_snapshot *s;
        uid_t uid;
        pid_t self, lsof_pid;
        bool seen_self;
        bool in_proc;           /* a process set was seen: file sets may follow */
        /* The current process: */
        pid_t pid;
        char comm[INUSE_COMM_MAX];
        bool has_uid;
        uid_t proc_uid;
        bool skip;              /* ourselves or lsof: not recorded */
        bool has_cwd;
        bool gap_noted, hidden_noted;
        size_t proc;            /* its snapshot index */
};

/* The fields of the set at *pos, up to the NL that ends it: 1 with a set,
 * 0 at the end of the output, -EBADMSG when the framing is broken or the
 * output stops inside a set. */
static int next_set(const char **pos, const char *end, struct field *f, size_t *ret_n) {
        const char *p = *pos;
        size_t n = 0;

        if (p == end)
                return 0;
        for (;;) {
                if (p == end || *p == '\n' || n == SET_FIELDS_MAX)
                        return -EBADMSG;
                const char *nul = memchr(p, '\0', (size_t) (end - p));
                if (!nul)
                        return -EBADMSG; /* cut off inside a field */
                /* lsof escapes newlines in names: a raw one is not its framing. */
                if (memchr(p, '\n', (size_t) (nul - p)))
                        return -EBADMSG;
                f[n++] = (struct field) { .id = *p, .data = p + 1, .len = (size_t) (nul - p - 1) };
                p = nul + 1;
                if (p == end)
                        return -EBADMSG; /* cut off before the set's NL */
                if (*p == '\n') {
                        *pos = p + 1;
                        *ret_n = n;
                        return 1;
                }
        }
}

static const struct field *find_field(const struct field *f, size_t n, char id) {
        for (size_t i = 1; i < n; i++)
                if (f[i].id == id)
                        return &f[i];
        return NULL;
}

static bool field_is(const struct field *f, const char *s) {
        return f->len == strlen(s) && memcmp(f->data, s, f->len) == 0;
}

/* Decimal digits only, no sign or space, at most max. */
static bool parse_number(const struct field *f, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (f->len == 0)
                return false;
        for (size_t i = 0; i < f->len; i++) {
                if (f->data[i] < '0' || f->data[i] > '9')
                        return false;
                v = v * 10 + (uint64_t) (f->data[i] - '0');
                if (v > max)
                        return false;
        }
        *ret = v;
        return true;
}

/* uid 0 counts every process as its own, as the /proc scan does. */
static bool is_own(const struct parser *p) {
        return p->uid == 0 || !p->has_uid || p->proc_uid == p->uid;
}

static void note_gap(struct parser *p) {
        if (!p->gap_noted)
                inuse_snapshot_mark_unknown(p->s, p->pid, p->comm);
        p->gap_noted = true;
}

static void note_hidden(struct parser *p) {
        if (!p->hidden_noted)
                inuse_snapshot_note_hidden(p->s);
        p->hidden_noted = true;
}

/* Without -w lsof lists a cwd entry for every process it lists, if only to
 * say it could not read it; none at all means it dropped something. */
static void end_process(struct parser *p) {
        if (p->in_proc && !p->skip && !p->has_cwd && is_own(p))
                note_gap(p);
}

static int begin_process(struct parser *p, const struct field *f, size_t n) {
        const struct field *comm = find_field(f, n, 'c'), *uid = find_field(f, n, 'u');
        uint64_t v;

        end_process(p);
        if (!parse_number(&f[0], INT32_MAX, &v) || v == 0)
                return -EBADMSG;
        *p = (struct parser) { .s = p->s, .uid = p->uid, .self = p->self, .lsof_pid = p->lsof_pid,
                               .seen_self = p->seen_self, .in_proc = true, .pid = (pid_t) v };
        if (comm)
                snprintf(p->comm, sizeof(p->comm), "%s", comm->data);
        if (uid) {
                if (!parse_number(uid, UINT32_MAX, &v))
                        return -EBADMSG;
                p->has_uid = true;
                p->proc_uid = (uid_t) v;
        }

        if (p->pid == p->self)
                p->seen_self = true;
        p->skip = p->pid == p->self || p->pid == p->lsof_pid;
        if (p->skip)
                return 0;
        return inuse_snapshot_add_proc(p->s, p->pid, p->comm, &p->proc);
}

/* Where lsof's escapes may start: '\' ("\n", "\x7f", "\\") and '^' ("^A").
 * Both are printed as themselves, too, so nothing after them is certain. */
static size_t escape_at(const char *name, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (name[i] == '\\' || name[i] == '^')
                        return i;
        return len;
}

static int add_exact_or_inexact(struct parser *p, const char *name, size_t len) {
        size_t i = escape_at(name, len);
        if (i == len)
                return inuse_snapshot_add_path(p->s, p->proc, name, len);
        return inuse_snapshot_add_inexact(p->s, p->proc, name, i);
}

/* "<mount point> (<device>)": lsof knows the file system but not the path
 * (a name-cache miss on BSD): the object is somewhere below. */
static int add_somewhere_below(struct parser *p, const char *mnt, size_t len) {
        size_t i = escape_at(mnt, len);

        if (i < len || (len > 0 && mnt[len - 1] == '/'))
                return inuse_snapshot_add_inexact(p->s, p->proc, mnt, i);
        if (len == 0 || mnt[0] != '/')
                return 0;
        _cleanup_free_ char *dir = malloc(len + 1);
        if (!dir)
                return -ENOMEM;
        memcpy(dir, mnt, len);
        dir[len] = '/';
        return inuse_snapshot_add_inexact(p->s, p->proc, dir, len + 1);
}

static bool text_is(const char *text, size_t len, const char *s) {
        return len == strlen(s) && memcmp(text, s, len) == 0;
}

/* What lsof could not read reads "<what> (<call>: <strerror text>)".
 * Refused: like the kernel's refusal in the /proc scan, outside what can
 * be seen (counted as hidden).  Vanished: nothing to see.  Anything else
 * about an own process: a gap. */
static void note_error(struct parser *p, const char *note, size_t len) {
        size_t i = 0;

        while (i < len && ((note[i] >= 'a' && note[i] <= 'z') || (note[i] >= '0' && note[i] <= '9') ||
                           note[i] == '_'))
                i++;
        if (i == 0 || i + 2 > len || note[i] != ':' || note[i + 1] != ' ' || !is_own(p))
                return;
        const char *msg = note + i + 2;
        size_t n = len - i - 2;
        if (text_is(msg, n, "Permission denied") || text_is(msg, n, "Operation not permitted"))
                note_hidden(p);
        else if (!text_is(msg, n, "No such file or directory") && !text_is(msg, n, "No such process"))
                note_gap(p);
}

/* The start of a trailing " (...)" note, if name ends with one. */
static bool trailing_note(const char *name, size_t len, size_t *ret_open) {
        if (len < 4 || name[len - 1] != ')')
                return false;
        for (size_t i = len - 2; i > 0; i--)
                if (name[i] == '(' && name[i - 1] == ' ') {
                        *ret_open = i - 1;
                        return true;
                }
        return false;
}

/* lsof appends notes to names: " (deleted)", " (path dev=8,1, inode=12)",
 * " (readlink: Permission denied)", a mount point's " (/dev/sda1)" -- and
 * a file may really be called "x (1)".  So the name is kept as printed and
 * also with each trailing note cut off: a misread note only makes more
 * paths count as held, never fewer. */
static int add_name(struct parser *p, const char *name, size_t len) {
        for (unsigned cuts = 0;; cuts++) {
                int r = add_exact_or_inexact(p, name, len);
                if (r < 0)
                        return r;

                size_t open;
                if (cuts == NOTES_MAX || !trailing_note(name, len, &open))
                        return 0;
                const char *note = name + open + 2;
                size_t note_len = len - open - 3;
                if (note_len > 0 && note[0] == '/')
                        return add_somewhere_below(p, name, open);
                note_error(p, note, note_len);
                len = open;
        }
}

static int file_set(struct parser *p, const struct field *f, size_t n) {
        const struct field *name = find_field(f, n, 'n');

        if (field_is(&f[0], "cwd"))
                p->has_cwd = true;
        if (p->skip || !name)
                return 0;
        return add_name(p, name->data, name->len);
}

static int on_set(struct parser *p, const struct field *f, size_t n) {
        switch (f[0].id) {
        case 'p':
                return begin_process(p, f, n);
        case 'f':
                return p->in_proc ? file_set(p, f, n) : -EBADMSG;
        default:
                return -EBADMSG;
        }
}

int inuse_lsof_parse(struct inuse_snapshot *s, const char *out, size_t len, uid_t uid,
                     pid_t self, pid_t lsof_pid) {
        struct parser p = { .s = s, .uid = uid, .self = self, .lsof_pid = lsof_pid };
        struct field f[SET_FIELDS_MAX];
        const char *pos = out;
        size_t n;
        int r;

        if (!s || (!out && len > 0))
                return -EINVAL;
        if (!out)
                out = pos = "";
        while ((r = next_set(&pos, out + len, f, &n)) > 0) {
                r = on_set(&p, f, n);
                if (r < 0)
                        break;
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                inuse_snapshot_mark_unknown(s, 0, "lsof");
        else
                end_process(&p);
        if (!p.seen_self)
                inuse_snapshot_mark_unknown(s, 0, "lsof");
        return 0;
}
