/* SPDX-License-Identifier: MIT */
/*
 * ephemdir install-service / uninstall-service: a systemd user service and
 * timer that run `ephemdir sweep` unattended, later, as the user.  On macOS
 * (or when a test build forces it) a LaunchAgent instead: service-launchd.c
 * writes it with the checks and file handling below, shared through
 * service.h.
 *
 * Whatever the timer runs must stay what it is now, so before anything is
 * written:
 *  - the binary, every shared object loaded into this process and
 *    /usr/bin/env (the scrubber in ExecStart=) are resolved component by
 *    component, symlinks included; every directory and file met must be
 *    owned by the user or root and writable by its owner only.  Sticky
 *    directories such as /tmp are refused too: their other users cannot
 *    rename our entries, but they can plant a look-alike before we exist.
 *  - the unit directory is opened with the library's trusted walk (missing
 *    parts created 0700), and the files are written relative to that fd,
 *    each to a temporary name first and renamed into place.
 * The files carry a header and a fingerprint of their content, so
 * uninstall-service removes exactly what install-service wrote and leaves a
 * file someone else wrote, or edited since, alone.
 *
 * Enabling needs the user manager's D-Bus API.  libsystemd is loaded with
 * dlopen() here only: linking it would cost every other command ~4 ms of
 * start-up for libraries they never use.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buildconf.h"
#include "cli.h"
#include "fsutil.h"
#include "output.h"
#include "service.h"
#include "util.h"

#if HAVE_LIBSYSTEMD
#include <dlfcn.h>
#include <systemd/sd-bus.h>
#endif

#define SERVICE_NAME "ephemdir-sweep.service"
#define TIMER_NAME "ephemdir-sweep.timer"
#define WANTS_DIR "timers.target.wants"
#define ENV_BINARY "/usr/bin/env"
#define DEFAULT_INTERVAL 600
#define MAX_FILE_SIZE 65536
#define MAX_SYMLINKS 40
#define USEC_PER_SEC 1000000

/* systemd keeps OnUnitActiveSec= in microseconds in 64 bits, UINT64_MAX
 * meaning "never", and its parser refuses a whole number of seconds that
 * reaches UINT64_MAX / USEC_PER_SEC.  It would drop such a line with a
 * warning: the timer would sweep once at startup and never again. */
static const struct service_interval_limit systemd_interval_limit = {
        .max = (int64_t) (UINT64_MAX / USEC_PER_SEC - 1),
        .holder = "systemd's OnUnitActiveSec=",
};

static const struct service_style unit_style = {
        .header = "# Written by `ephemdir install-service`; `ephemdir uninstall-service` removes it.\n"
                  "# Edit it and uninstall-service leaves it alone (the fingerprint below no longer\n"
                  "# matches): rerun install-service to change the interval instead.\n",
        .seal_open = "# ephemdir-fingerprint: ",
        .seal_close = "",
};

#define ENABLE_COMMAND "systemctl --user daemon-reload && systemctl --user enable --now " TIMER_NAME
#define STOP_COMMAND "systemctl --user stop " TIMER_NAME " && systemctl --user daemon-reload"

enum {
        OPT_INTERVAL = OPT_FIRST_COMMAND_OPTION,
        OPT_NO_ENABLE,
};

int service_check_interval(const struct cli *cli, const struct service_params *p,
                           const struct service_interval_limit *limit) {
        if (p->interval <= limit->max)
                return EXIT_OK;
        return cli_usage(cli, "invalid interval '%s' (%s holds at most %" PRId64 " seconds)",
                         p->interval_arg ? p->interval_arg : "?", limit->holder, limit->max);
}

void service_note(const struct cli *cli, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;

        if (cli->verbosity < 0)
                return;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r >= 0)
                cli_error(cli, "%s", msg);
        free(msg);
}

/* ------------------------------------------------------------------------ */
/* What the timer will run: trust of the binary and its libraries           */

/* Why a directory or file met on the way cannot be trusted to stay what it
 * is, or NULL.  Root is trusted (it could subvert us anyway). */
static const char *runtime_distrust(const struct stat *st, uid_t uid) {
        if (st->st_uid != uid && st->st_uid != 0)
                return "is owned by another user";
        if (st->st_mode & S_IWOTH)
                return "is writable by every user";
        if (st->st_mode & S_IWGRP)
                return "is group-writable";
        return NULL;
}

/* A resolution in progress: what is left of the path, the directory we are
 * in, and its textual path for messages ("" stands for "/"). */
struct walk {
        char *todo;
        size_t pos;
        int dir;
        char *shown;
        unsigned links;
        struct stat st;     /* of the last object reached */
        const char *why;    /* set when the object at shown is at fault */
};

static int walk_start(struct walk *w, const char *path, uid_t uid) {
        w->todo = strdup(path);
        w->shown = strdup("");
        if (!w->todo || !w->shown)
                return -ENOMEM;
        w->dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (w->dir < 0 || fstat(w->dir, &w->st) < 0)
                return -errno;
        w->why = runtime_distrust(&w->st, uid);
        return w->why ? -EPERM : 0;
}

static void walk_end(struct walk *w) {
        free(w->todo);
        free(w->shown);
        safe_close(w->dir);
}

/* The next component name: 1, or 0 at the end of the path. */
static int walk_next_name(struct walk *w, char name[NAME_MAX + 1]) {
        w->pos += strspn(w->todo + w->pos, "/");
        size_t n = strcspn(w->todo + w->pos, "/");
        if (n == 0)
                return 0;
        if (n > NAME_MAX)
                return -ENAMETOOLONG;
        memcpy(name, w->todo + w->pos, n);
        name[n] = '\0';
        w->pos += n;
        return 1;
}

static bool walk_at_end(const struct walk *w) {
        return w->todo[w->pos + strspn(w->todo + w->pos, "/")] == '\0';
}

static int shown_append(char **shown, const char *name) {
        char *s;

        if (asprintf(&s, "%s/%s", *shown, name) < 0)
                return -ENOMEM;
        free(*shown);
        *shown = s;
        return 0;
}

static void shown_pop(char *shown) {
        char *slash = strrchr(shown, '/');
        if (slash)
                *slash = '\0';
}

static void walk_enter(struct walk *w, int fd) {
        safe_close(w->dir);
        w->dir = fd;
}

/* Continue at a symlink's target, followed by what was left of the path.
 * An absolute target restarts at "/" (checked again). */
static int walk_follow(struct walk *w, int link_fd, uid_t uid) {
        char target[PATH_MAX], *next;
        ssize_t n = readlinkat(link_fd, "", target, sizeof(target) - 1);

        if (n < 0)
                return -errno;
        target[n] = '\0';
        if (++w->links > MAX_SYMLINKS) {
                w->why = "starts too many symbolic links";
                return -ELOOP;
        }
        if (asprintf(&next, "%s/%s", target, w->todo + w->pos) < 0)
                return -ENOMEM;
        free(w->todo);
        w->todo = next;
        w->pos = 0;
        shown_pop(w->shown);   /* the link's own name */
        if (target[0] != '/')
                return 0;

        int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        walk_enter(w, root);
        w->shown[0] = '\0';
        return 0;
}

/* One component.  A symlink's own owner does not matter: nobody can change
 * a symlink, only replace it, and its directory (checked) decides who can. */
static int walk_step(struct walk *w, const char *name, uid_t uid) {
        if (streq(name, "."))
                return 0;
        if (streq(name, "..")) {
                /* Its parent was checked on the way down (or it is "/"). */
                int fd = openat(w->dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                walk_enter(w, fd);
                shown_pop(w->shown);
                return 0;
        }

        int fd = openat(w->dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        int r = fd < 0 || fstat(fd, &w->st) < 0 ? -errno : 0;
        if (shown_append(&w->shown, name) < 0)
                r = -ENOMEM;
        if (r < 0) {
                safe_close(fd);
                w->why = r == -ENOMEM ? NULL : strerror(-r);
                return r;
        }
        if (S_ISLNK(w->st.st_mode)) {
                r = walk_follow(w, fd, uid);
                safe_close(fd);
                return r;
        }
        walk_enter(w, fd);
        w->why = runtime_distrust(&w->st, uid);
        if (w->why)
                return -EPERM;
        if (!walk_at_end(w) && !S_ISDIR(w->st.st_mode)) {
                w->why = "is not a directory";
                return -ENOTDIR;
        }
        return 0;
}

/* Resolve path the way exec() and the dynamic loader will, through O_PATH
 * fds from "/", following symlinks ourselves, and check every directory met
 * and the final file with runtime_distrust().  On failure with a culprit
 * (-EPERM untrusted, -ENOTDIR, -ELOOP, a failed lookup), *ret_bad is its
 * path and *ret_why says what is wrong with it. */
static int runtime_walk(const char *path, uid_t uid, char **ret_bad, const char **ret_why) {
        struct walk w = { .dir = -1 };
        char name[NAME_MAX + 1];
        int r = walk_start(&w, path, uid);

        while (r >= 0 && (r = walk_next_name(&w, name)) > 0)
                r = walk_step(&w, name, uid);
        if (r >= 0 && !S_ISREG(w.st.st_mode)) {
                w.why = "is not a regular file";
                r = -EINVAL;
        }
        if (r < 0 && w.why) {
                *ret_why = w.why;
                *ret_bad = strdup(w.shown[0] ? w.shown : "/");
                if (!*ret_bad)
                        r = -ENOMEM;
        }
        walk_end(&w);
        return r < 0 ? r : 0;
}

struct objects {
        char **paths;
        size_t n;
        int error;
};

/* Every shared object mapped with an absolute name: the dynamic loader and
 * the libraries (the vDSO has no file; the main program comes from
 * /proc/self/exe). */
static int collect_object(struct dl_phdr_info *info, size_t size, void *userdata) {
        struct objects *o = userdata;

        if (!info->dlpi_name || info->dlpi_name[0] != '/')
                return 0;
        char **p = reallocarray(o->paths, o->n + 1, sizeof(*p));
        if (!p || !(p[o->n] = strdup(info->dlpi_name))) {
                if (p)
                        o->paths = p;
                o->error = -ENOMEM;
                return 1;
        }
        o->paths = p;
        o->n++;
        return 0;
}

static void objects_free(struct objects *o) {
        for (size_t i = 0; i < o->n; i++)
                free(o->paths[i]);
        free(o->paths);
}

static bool check_one(const struct cli *cli, const char *what, const char *path, uid_t uid) {
        _cleanup_free_ char *bad = NULL;
        const char *why = NULL;
        int r = runtime_walk(path, uid, &bad, &why);

        if (r >= 0)
                return true;
        if (!bad) {
                cli_error(cli, "cannot check %s %s: %s", what, path, strerror(-r));
                return false;
        }
        cli_error(cli, "refusing to schedule %s %s: %s %s; %s", what, path, bad, why ? why : strerror(-r),
                  r == -EPERM ? "whoever owns it or can write there could change what the timer runs "
                                "(install ephemdir where only you or root can write)"
                              : "the service could not run it");
        return false;
}

/* The binary the unit will run: the kernel's name for this very file,
 * absolute and free of symlinks. */
static int own_binary(char **ret) {
        char buf[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

        if (n < 0)
                return -errno;
        buf[n] = '\0';
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* scrubber: the program that runs exe with a clean environment, checked
 * like it; NULL when the service manager sets the environment itself. */
static bool verify_runtime(const struct cli *cli, const char *exe, const char *scrubber, uid_t uid) {
        struct objects o = { 0 };
        bool ok;

        /* env would take an argument with '=' for an assignment, not the
         * program to run. */
        if (scrubber && strchr(exe, '=')) {
                cli_error(cli, "refusing to schedule %s: a path with '=' cannot follow env -i", exe);
                return false;
        }
        ok = check_one(cli, "the ephemdir binary", exe, uid) &&
             (!scrubber || check_one(cli, "the environment scrubber", scrubber, uid));
        if (!ok)
                return false;

        dl_iterate_phdr(collect_object, &o);
        if (o.error < 0) {
                cli_error(cli, "listing the loaded libraries: %s", strerror(-o.error));
                ok = false;
        }
        for (size_t i = 0; ok && i < o.n; i++)
                ok = check_one(cli, "the shared library", o.paths[i], uid);
        objects_free(&o);

        /* The service starts with a clean environment: what the loader found
         * through these now may not be what it finds then. */
        if (ok && (getenv("LD_LIBRARY_PATH") || getenv("LD_PRELOAD")))
                cli_warn(cli, "LD_LIBRARY_PATH/LD_PRELOAD are set here but not in the service: "
                              "the libraries checked may not be the ones it loads");
        return ok;
}

/* ------------------------------------------------------------------------ */
/* Unit text                                                                */

/* One word for ExecStart=, as systemd reads it back: unquoting and C
 * unescaping first (so '\\', '"' and every byte that is not printable
 * ASCII become escapes; \xNN is a raw byte), then specifiers ("%%" for
 * '%'), then environment variables at exec time ("$$" for '$'). */
static void put_escaped(FILE *f, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '\\' || *p == '"')
                        fprintf(f, "\\%c", *p);
                else if (*p == '%')
                        fputs("%%", f);
                else if (*p == '$')
                        fputs("$$", f);
                else if (*p < 0x20 || *p >= 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
        }
}

static void put_word(FILE *f, const char *s) {
        fputc('"', f);
        put_escaped(f, s);
        fputc('"', f);
}

/* "NAME=value" for env; name is one of ours, plain ASCII. */
static void put_assignment(FILE *f, const char *name, const char *value) {
        fprintf(f, "\"%s=", name);
        put_escaped(f, value);
        fputc('"', f);
}

/* FNV-1a: an edit detector, not a defence (the directory is the user's own). */
static uint64_t fingerprint(const char *s, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char) s[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

/* The last line of a file whose text before it is s[0..n). */
static int seal_line(const struct service_style *style, const char *s, size_t n, char **ret) {
        if (asprintf(ret, "%s%016" PRIx64 "%s\n", style->seal_open, fingerprint(s, n), style->seal_close) < 0)
                return -ENOMEM;
        return 0;
}

FILE *service_open_text(const struct service_style *style, char **buf, size_t *len) {
        FILE *f = open_memstream(buf, len);

        if (f)
                fputs(style->header, f);
        return f;
}

int service_seal(const struct service_style *style, FILE *f, char **buf, size_t *len, char **ret) {
        _cleanup_free_ char *seal = NULL;
        bool failed = ferror(f);

        if (fclose(f) != 0 || failed)
                return -ENOMEM;
        if (seal_line(style, *buf, *len, &seal) < 0 || asprintf(ret, "%s%s", *buf, seal) < 0)
                return -ENOMEM;
        return 0;
}

static int service_text(const struct service_params *p, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f = service_open_text(&unit_style, &buf, &len);

        if (!f)
                return -ENOMEM;
        fputs("\n[Unit]\n"
              "Description=Remove due ephemdir directories\n"
              "Documentation=man:ephemdir(1)\n"
              "\n[Service]\n"
              "Type=oneshot\n"
              "# env -i: ephemdir starts from nothing but the directories pinned at\n"
              "# install time and the journal stream, whatever the manager's environment\n"
              "# holds (LD_PRELOAD, XDG_* pointing elsewhere...).\n"
              "ExecStart=" ENV_BINARY " -i \"JOURNAL_STREAM=${JOURNAL_STREAM}\" ", f);
        put_assignment(f, "EPHEMDIR_DATA_DIR", p->data_dir);
        fputc(' ', f);
        put_assignment(f, "EPHEMDIR_CONFIG_DIR", p->config_dir);
        fputc(' ', f);
        put_word(f, p->exe);
        /* Tracked directories may be anywhere the user can write, so
         * nothing below hides or freezes any part of the file system. */
        fputs(" sweep\n"
              "WorkingDirectory=/\n"
              "UMask=0077\n"
              "NoNewPrivileges=yes\n"
              "LockPersonality=yes\n"
              "RestrictSUIDSGID=yes\n"
              "RestrictRealtime=yes\n"
              "RestrictNamespaces=yes\n"
              "MemoryDenyWriteExecute=yes\n"
              "SystemCallArchitectures=native\n"
              "Nice=19\n"
              "IOSchedulingClass=idle\n", f);
        return service_seal(&unit_style, f, &buf, &len, ret);
}

static int timer_text(const struct service_params *p, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f = service_open_text(&unit_style, &buf, &len);

        if (!f)
                return -ENOMEM;
        /* OnStartupSec= already past when the timer starts elapses at once,
         * so enabling it mid-session starts the cycle too. */
        fprintf(f, "\n[Unit]\n"
                "Description=Remove due ephemdir directories periodically\n"
                "Documentation=man:ephemdir(1)\n"
                "\n[Timer]\n"
                "OnStartupSec=1min\n"
                "OnUnitActiveSec=%" PRId64 "s\n"
                "AccuracySec=%ds\n"
                "\n[Install]\n"
                "WantedBy=timers.target\n",
                p->interval, p->interval < 60 ? 1 : 60);
        return service_seal(&unit_style, f, &buf, &len, ret);
}

/* Did install-service write exactly this text?  Header first, fingerprint
 * of everything before it last. */
static bool text_is_ours(const struct service_style *style, const char *s, size_t n) {
        size_t header = strlen(style->header);

        if (memchr(s, '\0', n) || n <= header || strncmp(s, style->header, header) != 0)
                return false;
        if (s[n - 1] != '\n')
                return false;
        const char *last = memrchr(s, '\n', n - 1);
        last = last ? last + 1 : s;
        size_t body = (size_t) (last - s);
        _cleanup_free_ char *want = NULL;
        if (seal_line(style, s, body, &want) < 0)
                return false;
        return n - body == strlen(want) && memcmp(last, want, n - body) == 0;
}

/* ------------------------------------------------------------------------ */
/* The target directory                                                     */

/* stdout is data: one path per line, escaped like every path we print. */
static void print_path(const char *dir, const char *name) {
        _cleanup_free_ char *full = NULL, *shown = NULL;

        if (asprintf(&full, "%s/%s", dir, name) < 0)
                return;
        shown = printable(full);
        printf("%s\n", shown ? shown : "?");
}

int service_home(char **ret) {
        const char *home = getenv("HOME");

        if (!home || home[0] != '/') {
                struct passwd *pw = getpwuid(geteuid());
                home = pw ? pw->pw_dir : NULL;
        }
        if (!home || home[0] != '/')
                return -ENOENT;
        return path_normalize(home, NULL, ret);
}

static int unit_dir_path(char **ret) {
        _cleanup_free_ char *raw = NULL, *home = NULL;
        const char *x = getenv("XDG_CONFIG_HOME");

        /* Where the user manager looks: its $XDG_CONFIG_HOME, else ~/.config. */
        if (x && x[0] == '/') {
                if (asprintf(&raw, "%s/systemd/user", x) < 0)
                        return -ENOMEM;
        } else {
                int r = service_home(&home);
                if (r < 0)
                        return r;
                if (asprintf(&raw, "%s/.config/systemd/user", home) < 0)
                        return -ENOMEM;
        }
        return path_normalize(raw, NULL, ret);
}

/* Why the component at path is refused, for the message: looked at again
 * without following it (the walk itself gave only the verdict). */
static const char *describe_component(const char *path, uid_t uid, int r) {
        struct stat st;

        if (r != -EPERM && r != -ELOOP)
                return strerror(-r);
        if (lstat(path, &st) < 0)
                return strerror(-r);
        if (S_ISLNK(st.st_mode))
                return "is a symbolic link";
        if (st.st_uid != uid && st.st_uid != 0)
                return "is owned by another user";
        if (st.st_mode & S_IWOTH)
                return (st.st_mode & S_ISVTX) && st.st_uid != 0 ? "is a sticky directory someone else owns"
                                                                : "is writable by every user";
        if (st.st_mode & S_IWGRP)
                return "is group-writable";
        return "is not private to you";
}

static int refuse_dir(const struct cli *cli, const char *what, const char *dir, const char *bad, uid_t uid,
                      int r) {
        cli_error(cli, "refusing %s %s: %s %s; every directory on the way must be owned "
                       "by you (or root) and writable by its owner only",
                  what, dir, bad ? bad : dir, describe_component(bad ? bad : dir, uid, r));
        return EXIT_FAIL;
}

/* The trusted walk to dir, printing nothing: 0 with *ret_fd; -ENOENT when
 * it does not exist (without create); else -errno with *ret_bad the
 * component at fault (NULL: dir itself).  The final directory must be the
 * user's own, not a shared sticky one. */
static int open_private_dir(const char *dir, bool create, uid_t uid, int *ret_fd, char **ret_bad) {
        _cleanup_free_ char *bad = NULL;
        _cleanup_close_ int fd = -1;
        enum trust_verdict verdict;

        int r = fs_open_trusted_dir(dir, uid, &fd, &verdict, &bad);
        if (r == -ENOENT && create) {
                free(bad);
                bad = NULL;
                r = fs_mkdir_p_trusted(dir, uid, &fd);
                verdict = TRUST_PRIVATE;   /* or it failed */
                if (r < 0) {
                        /* Only the open walk names the component at fault. */
                        _cleanup_close_ int again = -1;
                        (void) fs_open_trusted_dir(dir, uid, &again, &verdict, &bad);
                }
        }
        if (r >= 0 && verdict != TRUST_PRIVATE)
                r = -EPERM;
        if (r < 0) {
                *ret_bad = r == -ENOENT && !create ? NULL : TAKE_PTR(bad);
                return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int service_open_dir(const struct cli *cli, const char *what, const char *dir, bool create, uid_t uid,
                     int *ret_fd) {
        _cleanup_free_ char *bad = NULL;
        int r = open_private_dir(dir, create, uid, ret_fd, &bad);

        if (r == -ENOENT && !create)
                return -ENOENT;
        if (r < 0)
                return refuse_dir(cli, what, dir, bad, uid, r);
        return 0;
}

int service_peek_dir(const char *dir, uid_t uid, int *ret_fd, char **ret_why) {
        _cleanup_free_ char *bad = NULL;
        int r = open_private_dir(dir, false, uid, ret_fd, &bad);

        if (r >= 0 || r == -ENOENT)
                return r;
        if (asprintf(ret_why, "%s %s", bad ? bad : dir, describe_component(bad ? bad : dir, uid, r)) < 0)
                return -ENOMEM;
        return r;
}

/* ------------------------------------------------------------------------ */
/* Generated files, relative to the verified directory fd                   */

static int read_small_file(int dir_fd, const char *name, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct stat st;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE)
                return -EINVAL;

        char *buf = malloc((size_t) st.st_size + 1);
        size_t len = 0;
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, (size_t) st.st_size + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || len + (size_t) n > (size_t) st.st_size) {
                        free(buf);
                        return n < 0 ? -errno : -EINVAL;   /* grew under us: not ours to judge */
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

enum service_file service_file_state(const struct service_style *style, int dir_fd, const char *name) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_small_file(dir_fd, name, &text, &len);

        if (r == -ENOENT)
                return SERVICE_FILE_ABSENT;
        if (r < 0)
                return SERVICE_FILE_FOREIGN;   /* a symlink (ELOOP), a directory, unreadable... */
        return text_is_ours(style, text, len) ? SERVICE_FILE_OURS : SERVICE_FILE_FOREIGN;
}

static int write_all(int fd, const char *s, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, s, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                s += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Atomic: a fresh temporary file in the same directory, then rename over.
 * A crash leaves the old file or the new one, never half of either; the
 * temporary name is hidden and has neither a unit nor a plist suffix, so
 * no service manager picks it up. */
static int service_write_file(int dir_fd, const char *name, const char *text) {
        uint64_t rnd;
        char tmp[NAME_MAX + 1];

        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -EIO;
        snprintf(tmp, sizeof(tmp), ".%s.%016" PRIx64 ".tmp", name, rnd);

        int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        /* 0644 whatever the umask: the manager only needs to read it, and a
         * world-readable unit is what systemctl edit would leave too (and
         * what launchd expects of a LaunchAgent). */
        int r = fchmod(fd, 0644) < 0 ? -errno : write_all(fd, text, strlen(text));
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                r = -errno;
        if (r < 0)
                unlinkat(dir_fd, tmp, 0);
        return r;
}

/* ------------------------------------------------------------------------ */
/* The user manager, through sd-bus loaded at run time                       */

#if HAVE_LIBSYSTEMD
struct bus_api {
        void *dl;
        __typeof__(sd_bus_new) *new_;
        __typeof__(sd_bus_set_address) *set_address;
        __typeof__(sd_bus_start) *start;
        __typeof__(sd_bus_open_user) *open_user;
        __typeof__(sd_bus_call_method) *call_method;
        __typeof__(sd_bus_flush_close_unref) *close_unref;
        __typeof__(sd_bus_error_free) *error_free;
        __typeof__(sd_bus_message_unref) *message_unref;
};

static bool bus_api_load(struct bus_api *api) {
        /* RTLD_LOCAL: nothing else in the process sees its symbols. */
        api->dl = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!api->dl)
                return false;
#define LOAD(field, sym) (api->field = (__typeof__(api->field)) dlsym(api->dl, #sym))
        if (LOAD(new_, sd_bus_new) && LOAD(set_address, sd_bus_set_address) && LOAD(start, sd_bus_start) &&
            LOAD(open_user, sd_bus_open_user) && LOAD(call_method, sd_bus_call_method) &&
            LOAD(close_unref, sd_bus_flush_close_unref) && LOAD(error_free, sd_bus_error_free) &&
            LOAD(message_unref, sd_bus_message_unref))
                return true;
#undef LOAD
        dlclose(api->dl);
        api->dl = NULL;
        return false;
}

/* "unix:path=" wants bytes outside [-0-9A-Za-z_/.\*] as %xx. */
static int bus_address(const char *runtime_dir, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        fputs("unix:path=", f);
        for (const unsigned char *p = (const unsigned char *) runtime_dir; *p; p++) {
                if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    strchr("-_/.\\*", *p))
                        fputc(*p, f);
                else
                        fprintf(f, "%%%02x", *p);
        }
        fputs("/systemd/private", f);
        bool failed = ferror(f);
        if (fclose(f) != 0 || failed)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The user manager, as systemctl --user finds it: its private socket in
 * $XDG_RUNTIME_DIR, else through the session bus. */
static int bus_connect(const struct bus_api *api, sd_bus **ret) {
        const char *rt = getenv("XDG_RUNTIME_DIR");
        int r = -ENOMEDIUM;

        if (rt && rt[0] == '/') {
                _cleanup_free_ char *address = NULL;
                sd_bus *bus = NULL;
                r = bus_address(rt, &address);
                if (r >= 0)
                        r = api->new_(&bus);
                if (r >= 0)
                        r = api->set_address(bus, address);
                if (r >= 0)
                        r = api->start(bus);
                if (r >= 0) {
                        *ret = bus;
                        return 0;
                }
                if (bus)
                        api->close_unref(bus);
        }
        if (!getenv("DBUS_SESSION_BUS_ADDRESS") && !(rt && rt[0] == '/'))
                return r;   /* -ENOMEDIUM: nowhere to look */
        return api->open_user(ret);
}

struct manager {
        struct bus_api api;
        sd_bus *bus;
        char error[256];
};

/* Call a method of org.freedesktop.systemd1.Manager; the reply is not
 * needed.  On failure, m->error says why. */
static int manager_call(struct manager *m, const char *method, const char *types, ...) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        /* sd_bus_call_method is variadic itself: forward the few shapes we use. */
        va_start(ap, types);
        if (!types)
                r = m->api.call_method(m->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", method, &error, &reply, NULL);
        else if (streq(types, "ss")) {
                const char *a = va_arg(ap, const char *), *b = va_arg(ap, const char *);
                r = m->api.call_method(m->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", method, &error, &reply, types, a, b);
        } else if (streq(types, "asbb")) {
                const char *unit = va_arg(ap, const char *);
                int b1 = va_arg(ap, int), b2 = va_arg(ap, int);
                r = m->api.call_method(m->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", method, &error, &reply, types, 1,
                                       unit, b1, b2);
        } else {   /* "asb" */
                const char *unit = va_arg(ap, const char *);
                int b1 = va_arg(ap, int);
                r = m->api.call_method(m->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", method, &error, &reply, types, 1,
                                       unit, b1);
        }
        va_end(ap);
        if (r < 0)
                snprintf(m->error, sizeof(m->error), "%s: %s", method,
                         error.message ? error.message : strerror(-r));
        m->api.error_free(&error);
        m->api.message_unref(reply);
        return r;
}

/* Reach the user manager.  false with m->error set when there is none to
 * reach (no libsystemd, no socket, no session bus). */
static bool manager_open(struct manager *m) {
        if (!bus_api_load(&m->api)) {
                snprintf(m->error, sizeof(m->error), "libsystemd.so.0 is not available");
                return false;
        }
        int r = bus_connect(&m->api, &m->bus);
        if (r < 0) {
                snprintf(m->error, sizeof(m->error), "%s",
                         r == -ENOMEDIUM ? "neither XDG_RUNTIME_DIR nor DBUS_SESSION_BUS_ADDRESS is set"
                                         : strerror(-r));
                dlclose(m->api.dl);
                m->api.dl = NULL;
                return false;
        }
        return true;
}

static void manager_close(struct manager *m) {
        if (m->bus)
                m->api.close_unref(m->bus);
        if (m->api.dl)
                dlclose(m->api.dl);
}

/* What `systemctl --user daemon-reload && systemctl --user enable --now`
 * does: load the new files, link the timer into timers.target, load the
 * link, (re)start the timer so a changed interval applies now. */
static int manager_enable(struct manager *m) {
        int r = manager_call(m, "Reload", NULL);
        if (r >= 0)
                r = manager_call(m, "EnableUnitFiles", "asbb", TIMER_NAME, false, false);
        if (r >= 0)
                r = manager_call(m, "Reload", NULL);
        if (r >= 0)
                r = manager_call(m, "RestartUnit", "ss", TIMER_NAME, "replace");
        return r;
}

/* Stop the timer and unlink it from timers.target, before its file goes.
 * A timer that was never loaded has nothing to stop: not an error. */
static int manager_disable(struct manager *m) {
        (void) manager_call(m, "StopUnit", "ss", TIMER_NAME, "replace");
        return manager_call(m, "DisableUnitFiles", "asb", TIMER_NAME, false);
}

static int manager_reload(struct manager *m) {
        return manager_call(m, "Reload", NULL);
}
#else
struct manager {
        char error[256];
};

static bool manager_open(struct manager *m) {
        snprintf(m->error, sizeof(m->error), "built without libsystemd");
        return false;
}
static void manager_close(struct manager *m) {
}
static int manager_enable(struct manager *m) {
        return -EOPNOTSUPP;
}
static int manager_disable(struct manager *m) {
        return -EOPNOTSUPP;
}
static int manager_reload(struct manager *m) {
        return -EOPNOTSUPP;
}
#endif

/* ------------------------------------------------------------------------ */
/* install-service                                                          */

/* The effective, absolute data and config directories, as the library
 * resolved them for this shell: the service pins exactly these. */
static bool effective_dirs(struct cli *cli, const char **ret_data, const char **ret_config) {
        struct ephemdir_doctor doc;
        ephemdir_ctx *ctx = cli_ctx(cli);

        if (!ctx)
                return false;
        int r = ephemdir_doctor(ctx, &doc);
        if (r < 0) {
                cli_fail(cli, r);
                return false;
        }
        *ret_data = doc.data_dir;
        *ret_config = doc.config_dir;
        return true;
}

int service_write_files(const struct cli *cli, const struct service_style *style, int dir_fd, const char *dir,
                        const char *const *names, const char *const *texts, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (service_file_state(style, dir_fd, names[i]) == SERVICE_FILE_FOREIGN) {
                        cli_error(cli, "refusing to replace %s/%s: it was not written by ephemdir "
                                       "install-service, or was edited since (move it away first)",
                                  dir, names[i]);
                        return EXIT_FAIL;
                }
        for (size_t i = 0; i < n; i++) {
                int r = service_write_file(dir_fd, names[i], texts[i]);
                if (r < 0) {
                        cli_error(cli, "writing %s/%s: %s", dir, names[i], strerror(-r));
                        return EXIT_FAIL;
                }
                print_path(dir, names[i]);
        }
        /* The renames are durable only once the directory is. */
        if (fsync(dir_fd) < 0) {
                cli_error(cli, "syncing %s: %s", dir, strerror(errno));
                return EXIT_FAIL;
        }
        return EXIT_OK;
}

static int enable_units(const struct cli *cli) {
        struct manager m = { 0 };
        int r;

        if (!manager_open(&m)) {
                /* Files in place, no manager to tell: the user can finish. */
                cli_error(cli, "no systemd user manager reachable (%s); to start the timer, run: %s", m.error,
                          ENABLE_COMMAND);
                return EXIT_OK;
        }
        r = manager_enable(&m);
        if (r < 0)
                cli_error(cli, "the user manager refused (%s); the unit files are written, to start the "
                               "timer run: %s", m.error, ENABLE_COMMAND);
        else
                service_note(cli, "enabled and started %s", TIMER_NAME);
        manager_close(&m);
        return r < 0 ? EXIT_FAIL : EXIT_OK;
}

static int parse_install_options(struct cli *cli, int argc, char **argv, struct service_params *p, bool *enable) {
        static const struct option options[] = {
                { "interval", required_argument, NULL, OPT_INTERVAL },
                { "no-enable", no_argument, NULL, OPT_NO_ENABLE },
                COMMON_LONG_OPTIONS,
        };
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == OPT_INTERVAL) {
                        if (!cli_parse_duration(cli, "interval", optarg, &p->interval))
                                return EXIT_USAGE;
                        p->interval_arg = optarg;
                } else if (c == OPT_NO_ENABLE)
                        *enable = false;
                else if ((r = cli_common_option(cli, cli_find_command("install-service"), c, optarg)) >= 0)
                        return r;
        }
        return cli_check_args(cli, argc, argv, 0, 0);
}

/* macOS has launchd, everything else we build for systemd.  Test builds can
 * pick either (EPHEMDIR_TEST_SERVICE_BACKEND=launchd|systemd), so the
 * LaunchAgent writer runs in the Linux test suite too. */
bool service_use_launchd(void) {
#if EPHEMDIR_TEST_HOOKS
        const char *b = getenv("EPHEMDIR_TEST_SERVICE_BACKEND");
        if (b && (streq(b, "launchd") || streq(b, "systemd")))
                return streq(b, "launchd");
#endif
#ifdef __APPLE__
        return true;
#else
        return false;
#endif
}

static int install_systemd(const struct cli *cli, const struct service_params *p, bool enable) {
        _cleanup_free_ char *dir = NULL, *service = NULL, *timer = NULL;
        _cleanup_close_ int dir_fd = -1;
        int r;

        if (service_text(p, &service) < 0 || timer_text(p, &timer) < 0) {
                cli_error(cli, "%s", strerror(ENOMEM));
                return EXIT_FAIL;
        }
        r = unit_dir_path(&dir);
        if (r < 0) {
                cli_error(cli, "cannot tell where the user unit directory is: %s", strerror(-r));
                return EXIT_FAIL;
        }
        r = service_open_dir(cli, "the unit directory", dir, true, geteuid(), &dir_fd);
        if (r != 0)
                return r;

        /* The service goes first, so the timer never names a missing unit. */
        const char *const names[] = { SERVICE_NAME, TIMER_NAME };
        const char *const texts[] = { service, timer };
        r = service_write_files(cli, &unit_style, dir_fd, dir, names, texts, ELEMENTSOF(names));
        if (r != EXIT_OK)
                return r;
        if (!enable) {
                service_note(cli, "files written; to start the timer, run: %s", ENABLE_COMMAND);
                return EXIT_OK;
        }
        return enable_units(cli);
}

int cmd_install_service(struct cli *cli, int argc, char **argv) {
        struct service_params p = { .interval = DEFAULT_INTERVAL };
        _cleanup_free_ char *exe = NULL;
        bool enable = true, launchd = service_use_launchd();
        uid_t uid = geteuid();
        int r;

        r = parse_install_options(cli, argc, argv, &p, &enable);
        if (r >= 0)
                return r;
        r = service_check_interval(cli, &p, launchd ? &launchd_interval_limit : &systemd_interval_limit);
        if (r != EXIT_OK)
                return r;

        /* Everything is checked before anything is written.  launchd sets
         * the job's environment itself: no env -i to check. */
        r = own_binary(&exe);
        if (r < 0) {
                cli_error(cli, "cannot find the ephemdir binary: %s", strerror(-r));
                return EXIT_FAIL;
        }
        if (!verify_runtime(cli, exe, launchd ? NULL : ENV_BINARY, uid))
                return EXIT_FAIL;
        p.exe = exe;
        if (!effective_dirs(cli, &p.data_dir, &p.config_dir))
                return EXIT_FAIL;
        return launchd ? launchd_install(cli, &p, enable) : install_systemd(cli, &p, enable);
}

/* ------------------------------------------------------------------------ */
/* uninstall-service                                                        */

/* With no manager to disable the timer, undo the one link `systemctl
 * enable` made for it, and only when it points at the file we wrote. */
static void remove_wants_link(const struct cli *cli, int dir_fd, const char *dir) {
        _cleanup_close_ int wants = openat(dir_fd, WANTS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *ours = NULL;
        char target[PATH_MAX];

        if (wants < 0)
                return;
        ssize_t n = readlinkat(wants, TIMER_NAME, target, sizeof(target) - 1);
        if (n < 0)
                return;
        target[n] = '\0';
        if (asprintf(&ours, "%s/%s", dir, TIMER_NAME) < 0 || !streq(target, ours))
                return;
        if (unlinkat(wants, TIMER_NAME, 0) == 0)
                print_path(dir, WANTS_DIR "/" TIMER_NAME);
        else
                cli_warn(cli, "removing %s/" WANTS_DIR "/" TIMER_NAME ": %s", dir, strerror(errno));
}

int service_remove_files(const struct cli *cli, int dir_fd, const char *dir, const char *const *names,
                         const enum service_file *state, size_t n) {
        int ret = EXIT_OK;

        for (size_t i = 0; i < n; i++) {
                if (state[i] == SERVICE_FILE_FOREIGN) {
                        cli_error(cli, "left %s/%s in place: it was not written by ephemdir install-service, "
                                       "or was edited since", dir, names[i]);
                        ret = EXIT_FAIL;
                } else if (state[i] == SERVICE_FILE_OURS) {
                        if (unlinkat(dir_fd, names[i], 0) < 0) {
                                cli_error(cli, "removing %s/%s: %s", dir, names[i], strerror(errno));
                                ret = EXIT_FAIL;
                        } else
                                print_path(dir, names[i]);
                }
        }
        return ret;
}

int service_find_installed(const struct cli *cli, const struct service_style *style, const char *what,
                           const char *dir, const char *const *names, size_t n, enum service_file *ret_state,
                           int *ret_fd) {
        _cleanup_close_ int fd = -1;
        bool any = false;
        int r = service_open_dir(cli, what, dir, false, geteuid(), &fd);

        if (r == -ENOENT) {
                service_note(cli, "no service installed (%s does not exist)", dir);
                return EXIT_OK;
        }
        if (r != 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                ret_state[i] = service_file_state(style, fd, names[i]);
                any = any || ret_state[i] != SERVICE_FILE_ABSENT;
        }
        if (!any) {
                service_note(cli, "no service installed in %s", dir);
                return EXIT_OK;
        }
        *ret_fd = TAKE_FD(fd);
        return -1;
}

static int uninstall_systemd(const struct cli *cli) {
        const char *const names[] = { TIMER_NAME, SERVICE_NAME };
        enum service_file state[ELEMENTSOF(names)] = { SERVICE_FILE_ABSENT };
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dir_fd = -1;
        struct manager m = { 0 };

        int r = unit_dir_path(&dir);
        if (r < 0) {
                cli_error(cli, "cannot tell where the user unit directory is: %s", strerror(-r));
                return EXIT_FAIL;
        }
        r = service_find_installed(cli, &unit_style, "the unit directory", dir, names, ELEMENTSOF(names), state,
                                   &dir_fd);
        if (r >= 0)
                return r;

        bool managed = (state[0] == SERVICE_FILE_OURS || state[1] == SERVICE_FILE_OURS) && manager_open(&m);
        if (managed && state[0] == SERVICE_FILE_OURS && manager_disable(&m) < 0)
                cli_warn(cli, "disabling %s: %s", TIMER_NAME, m.error);
        int ret = service_remove_files(cli, dir_fd, dir, names, state, ELEMENTSOF(names));
        if (managed) {
                if (manager_reload(&m) < 0)
                        cli_warn(cli, "reloading the user manager: %s", m.error);
        } else if (state[0] == SERVICE_FILE_OURS) {
                remove_wants_link(cli, dir_fd, dir);
                cli_error(cli, "no systemd user manager reachable (%s); if one runs for you, finish with: %s",
                          m.error, STOP_COMMAND);
        }
        manager_close(&m);
        return ret;
}

int cmd_uninstall_service(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                COMMON_LONG_OPTIONS,
        };
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0)
                if ((r = cli_common_option(cli, cli_find_command("uninstall-service"), c, optarg)) >= 0)
                        return r;
        r = cli_check_args(cli, argc, argv, 0, 0);
        if (r >= 0)
                return r;
        return service_use_launchd() ? launchd_uninstall(cli) : uninstall_systemd(cli);
}
