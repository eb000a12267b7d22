/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
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

unsigned tu_count_open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the listing's own fd */
}

uid_t tu_foreign_uid(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0) {
                perror(path);
                abort();
        }
        const struct passwd *pw = getpwnam("nobody");
        uid_t uid = pw ? pw->pw_uid : geteuid() + 1;
        while (uid == geteuid() || uid == st.st_uid || uid == 0 || uid == (uid_t) -1)
                uid++;
        return uid;
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

bool tu_hold_open(const char *path) {
        return open(path, O_RDONLY | O_CLOEXEC) >= 0; /* kept open */
}

bool tu_hold_cwd(const char *path) {
        return chdir(path) == 0;
}

bool tu_hold_root(const char *path) {
        return chroot(path) == 0;
}

bool tu_hold_mapping_only(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        close(fd); /* only the mapping is left */
        return p != MAP_FAILED;
}

static pid_t spawn_holder(tu_hold_fn hold, const char *path, bool leader_exits) {
        int p[2];
        char c = 0;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphans if a test fails */
                prctl(PR_SET_NAME, TU_HOLDER_COMM);
                c = hold(path) ? 'y' : 'n';
                if (write(p[1], &c, 1) != 1)
                        _exit(1);
                close(p[1]);
                if (leader_exits)
                        pthread_exit(NULL);
                for (;;)
                        pause();
        }
        close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        assert_int_equal(c, 'y');
        return pid;
}

pid_t tu_spawn_holder(tu_hold_fn hold, const char *path) {
        return spawn_holder(hold, path, false);
}

pid_t tu_spawn_holder_leader_exits(tu_hold_fn hold, const char *path) {
        return spawn_holder(hold, path, true);
}

void tu_reap(pid_t pid) {
        int status;

        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
}

void tu_self_hold_begin(struct tu_self_holdings *h, const char *dir, const char *file) {
        h->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        h->file_fd = open(file, O_RDONLY | O_CLOEXEC);
        assert_true(h->dir_fd >= 0 && h->file_fd >= 0);
        h->map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, h->file_fd, 0);
        assert_true(h->map != MAP_FAILED);
        h->cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(h->cwd_fd >= 0);
        assert_int_equal(fchdir(h->dir_fd), 0);
}

void tu_self_hold_end(struct tu_self_holdings *h) {
        assert_int_equal(fchdir(h->cwd_fd), 0);
        close(h->cwd_fd);
        munmap(h->map, 4096);
        close(h->file_fd);
        close(h->dir_fd);
}

double tu_elapsed_ms(const struct timespec *a, const struct timespec *b) {
        return (double) (b->tv_sec - a->tv_sec) * 1e3 + (double) (b->tv_nsec - a->tv_nsec) / 1e6;
}
