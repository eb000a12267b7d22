/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

char *tu_mkdtemp(void) {
        char tmpl[] = "/tmp/ephemdir-test-XXXXXX";
        if (!mkdtemp(tmpl)) {
                perror("mkdtemp");
                abort();
        }
        char *p = strdup(tmpl);
        if (!p)
                abort();
        return p;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        if (type == FTW_DP)
                rmdir(path);
        else
                unlink(path);
        return 0;
}

void tu_rm_rf(const char *path) {
        /* FTW_PHYS: never follow symlinks; FTW_MOUNT: never cross mounts. */
        nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void tu_write_file(const char *path, const char *content) {
        FILE *f = fopen(path, "we");
        if (!f) {
                perror(path);
                abort();
        }
        fputs(content, f);
        fclose(f);
}

char *tu_strdupf(const char *fmt, ...) {
        va_list ap;
        char *s;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                abort();
        return s;
}

bool tu_is_root(void) {
        return geteuid() == 0;
}

bool tu_exists(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0;
}

/* Exit status of a child, as a process exit status. */
static int wait_status(pid_t pid) {
        int status;

        if (waitpid(pid, &status, 0) != pid)
                return 1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

#define NO_NAMESPACE 77

/* A child unshares (so this process stays where it is, able to fork after
 * the namespace ends); the namespace's pid 1 only mounts /proc and waits;
 * run() runs in its child (LeakSanitizer cannot work as pid 1). */
static int run_isolated(int (*run)(void)) {
        pid_t unsharer = fork();
        if (unsharer < 0)
                return NO_NAMESPACE;
        if (unsharer == 0) {
                if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(NO_NAMESPACE);
                pid_t init = fork();
                if (init < 0)
                        _exit(NO_NAMESPACE);
                if (init == 0) {
                        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                                _exit(NO_NAMESPACE);
                        pid_t runner = fork();
                        if (runner < 0)
                                _exit(1);
                        if (runner == 0)
                                _exit(run() == 0 ? 0 : 1);
                        _exit(wait_status(runner));
                }
                _exit(wait_status(init));
        }
        return wait_status(unsharer);
}

int tu_run_with_private_proc(int (*run)(void)) {
        if (tu_is_root() && !getenv("INUSE_TEST_NO_NAMESPACE")) {
                int r = run_isolated(run);
                if (r != NO_NAMESPACE)
                        return r;
                fprintf(stderr, "no pid namespace available: running against the host's /proc\n");
        }
        return run();
}
