/* SPDX-License-Identifier: MIT */
/*
 * inuse: forked children hold things inside tu_mkdtemp() directories (an
 * open file, a cwd, a mapping, a root, a file unlinked while open) and the
 * /proc probe must see them; when nothing is held the answer is FREE, and
 * when the probe is blind to one of our processes it is UNKNOWN.
 * Runs as root and as an unprivileged user.
 *
 * As root the tests run in a fresh pid namespace with its own /proc: root
 * counts every process as its own, and a host may well have one that even
 * root cannot read (this VM's init, for one), which correctly makes every
 * answer UNKNOWN there.  Inside the namespace only the test's own children
 * exist, so FREE is a meaningful answer.  Without namespaces (or not root)
 * the tests run directly against the host's /proc.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "buildconf.h"
#include "inuse.h"
#include "testutil.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* Holders of its own (the common ones, and spawning them: testutil.h)      */

static bool hold_nothing_undumpable(const char *path) {
        (void) path;
        return prctl(PR_SET_DUMPABLE, 0) == 0;
}

static void *park_thread(void *arg) {
        (void) arg;
        for (;;)
                pause();
        return NULL;
}

/* Open a file, start a second thread, then let the leader exit: /proc/<pid>
 * becomes a zombie leader whose fd table is gone; the file is still held. */
static bool hold_open_leader_exits(const char *path) {
        pthread_t t;

        if (open(path, O_RDONLY | O_CLOEXEC) < 0)
                return false;
        return pthread_create(&t, NULL, park_thread, NULL) == 0;
}

/* ------------------------------------------------------------------------ */
/* Checking                                                                 */

struct answer {
        enum inuse_verdict verdict;
        pid_t pid;
        char comm[INUSE_COMM_MAX];
};

static struct answer check_paths(const char *const *paths, size_t n) {
        struct inuse_snapshot *s = NULL;
        struct answer a = { .pid = -1, .comm = "untouched" };

        assert_int_equal(inuse_scan(getuid(), &s), 0);
        assert_non_null(s);
        a.verdict = inuse_check(s, paths, n, &a.pid, a.comm);
        inuse_snapshot_free(s);
        return a;
}

static struct answer check(const char *path) {
        return check_paths(&path, 1);
}

static void assert_busy_by(struct answer a, pid_t pid) {
        assert_int_equal(a.verdict, INUSE_BUSY);
        assert_int_equal(a.pid, pid);
        assert_string_equal(a.comm, TU_HOLDER_COMM);
}

static void assert_free(struct answer a) {
        assert_int_equal(a.verdict, INUSE_FREE);
        assert_int_equal(a.pid, -1);
        assert_string_equal(a.comm, "untouched");
}

/* ------------------------------------------------------------------------ */
/* What counts as in use                                                    */

static void test_open_file_inside_makes_busy_until_holder_exits(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *file = tu_strdupf("%s/file", tmp);
        (void) state;

        tu_write_file(file, "x");
        assert_free(check(tmp));

        pid_t pid = tu_spawn_holder(tu_hold_open, file);
        assert_busy_by(check(tmp), pid);
        assert_busy_by(check(file), pid);
        tu_reap(pid);
        assert_free(check(tmp));

        tu_rm_rf(tmp);
}

static void test_open_directory_inside_makes_busy(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *sub = tu_strdupf("%s/sub", tmp);
        (void) state;

        assert_int_equal(mkdir(sub, 0700), 0);
        pid_t pid = tu_spawn_holder(tu_hold_open, tmp); /* the managed dir itself */
        assert_busy_by(check(tmp), pid);
        assert_free(check(sub));
        tu_reap(pid);

        tu_rm_rf(tmp);
}

static void test_cwd_inside_makes_busy(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *sub = tu_strdupf("%s/deep/er", tmp);
        _cleanup_free_ char *deep = tu_strdupf("%s/deep", tmp);
        (void) state;

        assert_int_equal(mkdir(deep, 0700), 0);
        assert_int_equal(mkdir(sub, 0700), 0);
        pid_t pid = tu_spawn_holder(tu_hold_cwd, sub);
        assert_busy_by(check(tmp), pid);
        tu_reap(pid);
        assert_free(check(tmp));

        tu_rm_rf(tmp);
}

static void test_mapping_without_fd_makes_busy(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *file = tu_strdupf("%s/mapped", tmp);
        (void) state;

        tu_write_file(file, "mapped data");
        pid_t pid = tu_spawn_holder(tu_hold_mapping_only, file);

        /* The child has no fd on it any more: only maps can tell. */
        _cleanup_free_ char *fd_dir = tu_strdupf("/proc/%d/fd", (int) pid);
        DIR *d = opendir(fd_dir);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d))) {
                char target[4096];
                ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (n > 0) {
                        target[n] = '\0';
                        assert_null(strstr(target, tmp));
                }
        }
        closedir(d);

        assert_busy_by(check(tmp), pid);
        tu_reap(pid);
        assert_free(check(tmp));

        tu_rm_rf(tmp);
}

static void test_root_directory_inside_makes_busy(void **state) {
        (void) state;

        if (!tu_is_root())
                skip(); /* chroot needs CAP_SYS_CHROOT */
        _cleanup_free_ char *tmp = tu_mkdtemp();
        pid_t pid = tu_spawn_holder(tu_hold_root, tmp);
        assert_busy_by(check(tmp), pid);
        tu_reap(pid);
        assert_free(check(tmp));
        tu_rm_rf(tmp);
}

static void test_file_unlinked_while_open_still_makes_busy(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *file = tu_strdupf("%s/gone", tmp);
        (void) state;

        tu_write_file(file, "x");
        pid_t pid = tu_spawn_holder(tu_hold_open, file);
        assert_int_equal(unlink(file), 0); /* now "<file> (deleted)" */
        assert_busy_by(check(tmp), pid);
        tu_reap(pid);

        tu_rm_rf(tmp);
}

static void test_staging_path_is_checked_too(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *dir = tu_strdupf("%s/managed", tmp);
        _cleanup_free_ char *staged = tu_strdupf("%s/.managed.ephemdir-deleting-1", tmp);
        (void) state;

        assert_int_equal(mkdir(dir, 0700), 0);
        pid_t pid = tu_spawn_holder(tu_hold_cwd, dir);
        assert_int_equal(rename(dir, staged), 0);

        const char *both[] = { dir, staged };
        assert_free(check(dir)); /* the cwd moved along with the rename */
        assert_busy_by(check_paths(both, 2), pid);
        tu_reap(pid);
        assert_free(check_paths(both, 2));

        tu_rm_rf(tmp);
}

static void test_holder_whose_leader_thread_exited_is_seen(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *file = tu_strdupf("%s/file", tmp);
        (void) state;

        tu_write_file(file, "x");
        pid_t pid = tu_spawn_holder_leader_exits(hold_open_leader_exits, file);

        /* Wait until the leader is a zombie (its thread lives on). */
        _cleanup_free_ char *stat_path = tu_strdupf("/proc/%d/stat", (int) pid);
        for (unsigned i = 0; i < 500; i++) {
                char buf[512] = "";
                FILE *f = fopen(stat_path, "re");
                assert_non_null(f);
                assert_non_null(fgets(buf, sizeof(buf), f));
                fclose(f);
                const char *rp = strrchr(buf, ')');
                if (rp && rp[2] == 'Z')
                        break;
                usleep(2000);
        }

        assert_busy_by(check(tmp), pid);
        tu_reap(pid);
        assert_free(check(tmp));

        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Matching                                                                 */

static void test_prefix_matches_whole_components(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *a = tu_strdupf("%s/x/a", tmp);
        _cleanup_free_ char *a_slash = tu_strdupf("%s/x/a/", tmp);
        _cleanup_free_ char *ab = tu_strdupf("%s/x/ab", tmp);
        _cleanup_free_ char *ab_slash = tu_strdupf("%s/x/ab/", tmp);
        _cleanup_free_ char *x = tu_strdupf("%s/x", tmp);
        (void) state;

        /* Names sorting between "a" and "a/" ("a-b", "a.c") and after it. */
        static const char *const names[] = { "ab", "a-b", "a.c", "a0" };
        assert_int_equal(mkdir(x, 0700), 0);
        assert_int_equal(mkdir(a, 0700), 0);
        pid_t pids[ELEMENTSOF(names)];
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *d = tu_strdupf("%s/x/%s", tmp, names[i]);
                assert_int_equal(mkdir(d, 0700), 0);
                pids[i] = tu_spawn_holder(tu_hold_cwd, d);
        }

        assert_free(check(a));
        assert_free(check(a_slash));
        assert_busy_by(check(ab), pids[0]);
        assert_busy_by(check(ab_slash), pids[0]);
        assert_int_equal(check(x).verdict, INUSE_BUSY);

        pid_t in_a = tu_spawn_holder(tu_hold_cwd, a);
        assert_busy_by(check(a), in_a);
        tu_reap(in_a);

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                tu_reap(pids[i]);
        tu_rm_rf(tmp);
}

/* maps writes a newline in a path as "\012": the probe unescapes it. */
static void test_mapped_file_under_name_with_newline_makes_busy(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *dir = tu_strdupf("%s/new\nline", tmp);
        _cleanup_free_ char *file = tu_strdupf("%s/mapped", dir);
        (void) state;

        assert_int_equal(mkdir(dir, 0700), 0);
        tu_write_file(file, "mapped data");
        pid_t pid = tu_spawn_holder(tu_hold_mapping_only, file);
        assert_busy_by(check(dir), pid);
        tu_reap(pid);
        assert_free(check(dir));

        tu_rm_rf(tmp);
}

static void test_own_process_does_not_count(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *file = tu_strdupf("%s/file", tmp);
        (void) state;

        struct tu_self_holdings held;
        tu_write_file(file, "held by the test process itself");
        tu_self_hold_begin(&held, tmp, file);

        struct answer a = check(tmp);

        tu_self_hold_end(&held);
        assert_free(a);

        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Unknown                                                                  */

static void test_failed_probe_is_unknown_never_free(void **state) {
        if (!EPHEMDIR_TEST_HOOKS)       /* the failure is injected by a hook */
                skip();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *file = tu_strdupf("%s/file", tmp);
        (void) state;

        tu_write_file(file, "x");
        assert_int_equal(setenv("EPHEMDIR_TEST_INUSE_FAIL", "1", 1), 0);

        struct answer a = check(tmp);
        assert_int_equal(a.verdict, INUSE_UNKNOWN);
        assert_int_equal(a.pid, 0);
        assert_string_equal(a.comm, "");

        /* What is known to be held stays BUSY. */
        pid_t pid = tu_spawn_holder(tu_hold_open, file);
        assert_busy_by(check(tmp), pid);
        tu_reap(pid);

        assert_int_equal(unsetenv("EPHEMDIR_TEST_INUSE_FAIL"), 0);
        assert_free(check(tmp));
        tu_rm_rf(tmp);
}

static void test_relative_or_missing_path_is_unknown(void **state) {
        struct inuse_snapshot *s = NULL;
        const char *rel = "relative/path";
        const char *empty = "";
        const char *none = NULL;
        (void) state;

        assert_int_equal(inuse_scan(getuid(), &s), 0);
        assert_int_equal(inuse_check(s, &rel, 1, NULL, NULL), INUSE_UNKNOWN);
        assert_int_equal(inuse_check(s, &empty, 1, NULL, NULL), INUSE_UNKNOWN);
        assert_int_equal(inuse_check(s, &none, 1, NULL, NULL), INUSE_UNKNOWN);
        assert_int_equal(inuse_check(NULL, &rel, 1, NULL, NULL), INUSE_UNKNOWN);
        assert_int_equal(inuse_scan(getuid(), NULL), -EINVAL);
        inuse_snapshot_free(s);
        assert_string_equal(inuse_verdict_word(INUSE_BUSY), "in-use");
}

/* An empty directory standing where /proc should be (a chroot, a container
 * without procfs) must not read as "nobody holds anything". */
static void test_proc_that_is_not_procfs_is_unknown(void **state) {
        (void) state;

        if (!tu_is_root())
                skip();
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct inuse_snapshot *s = NULL;
                const char *path = "/tmp";
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("tmpfs", "/proc", "tmpfs", 0, "size=1m") < 0)
                        _exit(77);
                if (inuse_scan(0, &s) < 0)
                        _exit(1);
                _exit(inuse_check(s, &path, 1, NULL, NULL) == INUSE_UNKNOWN ? 0 : 2);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                skip();
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* A process of ours that we cannot read (non-dumpable: its /proc entries
 * are root's) might hold anything: UNKNOWN, naming it.  Root can read it. */
/* The kernel hides a non-dumpable process's fds even from its own user:
 * that is outside the probe's sight (counted as hidden), not a gap that
 * would defer every keep_while_in_use entry forever. */
static void test_process_hidden_by_the_kernel_is_counted_not_a_gap(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct inuse_snapshot *s = NULL;
        struct inuse_stats stats;
        const char *path = tmp;
        char comm[INUSE_COMM_MAX];
        pid_t who = -1;
        (void) state;

        pid_t pid = tu_spawn_holder(hold_nothing_undumpable, tmp);
        assert_int_equal(inuse_scan(getuid(), &s), 0);
        enum inuse_verdict v = inuse_check(s, &path, 1, &who, comm);
        inuse_snapshot_stats(s, &stats);
        inuse_snapshot_free(s);
        tu_reap(pid);

        (void) who;
        (void) comm;
        assert_int_equal(v, INUSE_FREE);
        assert_true(stats.complete);
        if (!tu_is_root())
                assert_true(stats.hidden >= 1);
        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Cost                                                                     */

#define N_SLEEPERS 200
#define FDS_EACH 4

static bool hold_several(const char *dir) {
        for (unsigned i = 0; i < FDS_EACH; i++) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/f%u", dir, i);
                if (open(path, O_RDONLY | O_CLOEXEC) < 0)
                        return false;
        }
        return chdir(dir) == 0;
}

static void test_scan_cost_with_200_holders(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *other = tu_strdupf("%s/other", tmp);
        _cleanup_free_ char *held = tu_strdupf("%s/held", tmp);
        pid_t pids[N_SLEEPERS];
        (void) state;

        assert_int_equal(mkdir(other, 0700), 0);
        assert_int_equal(mkdir(held, 0700), 0);
        for (unsigned i = 0; i < FDS_EACH; i++) {
                _cleanup_free_ char *f = tu_strdupf("%s/f%u", held, i);
                tu_write_file(f, "x");
        }
        for (unsigned i = 0; i < N_SLEEPERS; i++)
                pids[i] = tu_spawn_holder(hold_several, held);

        double best = 1e9, total = 0;
        const unsigned rounds = 5;
        struct inuse_stats stats = { 0 };
        for (unsigned r = 0; r < rounds; r++) {
                struct inuse_snapshot *s = NULL;
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                assert_int_equal(inuse_scan(getuid(), &s), 0);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                double ms = tu_elapsed_ms(&t0, &t1);
                best = ms < best ? ms : best;
                total += ms;

                /* 1000 candidate checks against one snapshot.  Without a
                 * private /proc (not root), another test of the same user
                 * running alongside (a tree deeper than PATH_MAX as its cwd)
                 * can rightly make the scan incomplete: then "other" is
                 * UNKNOWN, never BUSY. */
                inuse_snapshot_stats(s, &stats);
                enum inuse_verdict want_other = stats.complete ? INUSE_FREE : INUSE_UNKNOWN;
                const char *paths[] = { held, other };
                for (unsigned k = 0; k < 1000; k++) {
                        assert_int_equal(inuse_check(s, &paths[0], 1, NULL, NULL), INUSE_BUSY);
                        assert_int_equal(inuse_check(s, &paths[1], 1, NULL, NULL), want_other);
                }
                inuse_snapshot_free(s);
        }
        print_message("inuse_scan with %u holders (%u fds + cwd each): best %.2f ms, mean %.2f ms; "
                      "%zu processes, %zu paths\n", N_SLEEPERS, FDS_EACH, best, total / rounds,
                      stats.processes, stats.paths);
        assert_true(stats.processes >= N_SLEEPERS);

        for (unsigned i = 0; i < N_SLEEPERS; i++)
                tu_reap(pids[i]);
        tu_rm_rf(tmp);
}

static int run_all_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_file_inside_makes_busy_until_holder_exits),
                cmocka_unit_test(test_open_directory_inside_makes_busy),
                cmocka_unit_test(test_cwd_inside_makes_busy),
                cmocka_unit_test(test_mapping_without_fd_makes_busy),
                cmocka_unit_test(test_root_directory_inside_makes_busy),
                cmocka_unit_test(test_file_unlinked_while_open_still_makes_busy),
                cmocka_unit_test(test_staging_path_is_checked_too),
                cmocka_unit_test(test_holder_whose_leader_thread_exited_is_seen),
                cmocka_unit_test(test_prefix_matches_whole_components),
                cmocka_unit_test(test_mapped_file_under_name_with_newline_makes_busy),
                cmocka_unit_test(test_own_process_does_not_count),
                cmocka_unit_test(test_failed_probe_is_unknown_never_free),
                cmocka_unit_test(test_relative_or_missing_path_is_unknown),
                cmocka_unit_test(test_proc_that_is_not_procfs_is_unknown),
                cmocka_unit_test(test_process_hidden_by_the_kernel_is_counted_not_a_gap),
                cmocka_unit_test(test_scan_cost_with_200_holders),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

int main(void) {
        return tu_run_with_private_proc(run_all_tests);
}
