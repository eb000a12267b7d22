/* SPDX-License-Identifier: MIT */
/*
 * dirsize: allocated bytes under a directory, fd-relative, never crossing a
 * mount, hard links once, bounded by an entries/time budget and by fds.
 * References are computed independently with nftw(FTW_PHYS|FTW_MOUNT).
 * Mount tests need root and run in a private mount namespace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "dirsize.h"
#include "fsutil.h"
#include "testutil.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

/* Every measurement goes through here: no fd may leak. */
static struct dirsize_result measure_path(const char *path, const struct dirsize_budget *budget) {
        struct dirsize_result res;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);

        unsigned before = tu_count_open_fds();
        assert_int_equal(dirsize_measure(fd, budget, &res), 0);
        assert_int_equal(tu_count_open_fds(), before);
        close(fd);
        return res;
}

static void write_size(const char *path, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        char buf[4096];

        assert_true(fd >= 0);
        memset(buf, 'x', sizeof(buf));
        for (size_t done = 0; done < size; ) {
                size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);
                assert_int_equal(write(fd, buf, n), (ssize_t) n);
                done += n;
        }
        close(fd);
}

static void make_dir(const char *path) {
        assert_int_equal(mkdir(path, 0700), 0);
}

static uint64_t blocks_of(const char *path) {
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        return (uint64_t) st.st_blocks * 512u;
}

/* nftw reference: allocated bytes, each multiply-linked inode once. */
static uint64_t ref_bytes;
static ino_t ref_seen[4096];
static size_t ref_n_seen;

static int ref_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) path;
        (void) type;
        (void) ftw;
        if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
                for (size_t i = 0; i < ref_n_seen; i++)
                        if (ref_seen[i] == st->st_ino)
                                return 0;
                assert_true(ref_n_seen < ELEMENTSOF(ref_seen));
                ref_seen[ref_n_seen++] = st->st_ino;
        }
        ref_bytes += (uint64_t) st->st_blocks * 512u;
        return 0;
}

static uint64_t reference_size(const char *path) {
        ref_bytes = 0;
        ref_n_seen = 0;
        assert_int_equal(nftw(path, ref_one, 32, FTW_PHYS | FTW_MOUNT), 0);
        return ref_bytes;
}

/* A tree of `n` entries: files of mixed sizes spread over a few dirs. */
static void make_tree(const char *root, unsigned n) {
        unsigned made = 0;
        for (unsigned d = 0; made < n; d++) {
                _cleanup_free_ char *dir = tu_strdupf("%s/d%u", root, d);
                make_dir(dir);
                made++;
                for (unsigned f = 0; f < 9 && made < n; f++, made++) {
                        _cleanup_free_ char *file = tu_strdupf("%s/f%u", dir, f);
                        write_size(file, (size_t) f * 3000);
                }
        }
}

/* ------------------------------------------------------------------------ */
/* Sums                                                                     */

static void test_small_tree_sum_matches_reference(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        (void) state;

        _cleanup_free_ char *a = tu_strdupf("%s/a", tmp);
        _cleanup_free_ char *ab = tu_strdupf("%s/a/b", tmp);
        _cleanup_free_ char *empty = tu_strdupf("%s/empty", tmp);
        make_dir(a);
        make_dir(ab);
        make_dir(empty);
        static const size_t sizes[] = { 0, 1, 4095, 4097, 65536, 300001 };
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_free_ char *f1 = tu_strdupf("%s/f%zu", tmp, i);
                _cleanup_free_ char *f2 = tu_strdupf("%s/g%zu", ab, i);
                write_size(f1, sizes[i]);
                write_size(f2, sizes[i] * 2);
        }
        _cleanup_free_ char *fifo = tu_strdupf("%s/fifo", a);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        _cleanup_free_ char *link = tu_strdupf("%s/link", a);
        assert_int_equal(symlink("b/g5", link), 0);

        struct dirsize_result res = measure_path(tmp, NULL);
        assert_true(res.complete);
        assert_false(res.crossed_mount_skipped);
        assert_int_equal(res.bytes, reference_size(tmp));
        assert_int_equal(res.entries, 1 + 3 + 12 + 2); /* root, dirs, files, fifo+link */

        tu_rm_rf(tmp);
}

static void test_hard_links_count_once(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        (void) state;

        _cleanup_free_ char *sub = tu_strdupf("%s/sub", tmp);
        _cleanup_free_ char *big = tu_strdupf("%s/big", tmp);
        make_dir(sub);
        write_size(big, 1 << 20);
        uint64_t before = measure_path(tmp, NULL).bytes;

        for (unsigned i = 0; i < 3; i++) {
                _cleanup_free_ char *l = tu_strdupf("%s/link%u", sub, i);
                assert_int_equal(link(big, l), 0);
        }
        struct dirsize_result res = measure_path(tmp, NULL);
        assert_true(res.complete);
        assert_int_equal(res.bytes, reference_size(tmp));
        /* Directory blocks may grow with the new names, the data does not. */
        assert_true(res.bytes - before < blocks_of(big));

        tu_rm_rf(tmp);
}

static void test_symlink_is_not_followed(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *outside = tu_mkdtemp();
        (void) state;

        _cleanup_free_ char *big = tu_strdupf("%s/big", outside);
        write_size(big, 4 << 20);
        _cleanup_free_ char *to_file = tu_strdupf("%s/to-file", tmp);
        _cleanup_free_ char *to_dir = tu_strdupf("%s/to-dir", tmp);
        assert_int_equal(symlink(big, to_file), 0);
        assert_int_equal(symlink(outside, to_dir), 0);

        struct dirsize_result res = measure_path(tmp, NULL);
        assert_true(res.complete);
        assert_int_equal(res.bytes, blocks_of(tmp) + blocks_of(to_file) + blocks_of(to_dir));
        assert_true(res.bytes < blocks_of(big));
        assert_int_equal(res.entries, 3);

        tu_rm_rf(tmp);
        tu_rm_rf(outside);
}

static void test_o_path_fd_is_accepted_and_bad_arguments_rejected(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct dirsize_result res;
        (void) state;

        make_tree(tmp, 20);
        int fd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(dirsize_measure(fd, NULL, &res), 0);
        close(fd);
        assert_true(res.complete);
        assert_int_equal(res.bytes, reference_size(tmp));

        assert_int_equal(dirsize_measure(-1, NULL, &res), -EINVAL);
        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(dirsize_measure(fd, NULL, NULL), -EINVAL);
        close(fd);

        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Budgets                                                                  */

static void test_entries_budget_gives_incomplete_lower_bound(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct dirsize_budget budget = { .max_entries = 10 };
        (void) state;

        make_tree(tmp, 100);
        uint64_t full = reference_size(tmp);
        assert_int_equal(measure_path(tmp, NULL).entries, 101);

        struct dirsize_result res = measure_path(tmp, &budget);
        assert_false(res.complete);
        assert_true(res.entries <= 10);
        assert_true(res.bytes > 0);
        assert_true(res.bytes <= full);

        budget.max_entries = 101; /* exactly enough */
        res = measure_path(tmp, &budget);
        assert_true(res.complete);
        assert_int_equal(res.bytes, full);

        budget.max_entries = 1; /* the directory itself only */
        res = measure_path(tmp, &budget);
        assert_false(res.complete);
        assert_int_equal(res.entries, 1);
        assert_int_equal(res.bytes, blocks_of(tmp));

        tu_rm_rf(tmp);
}

static void test_time_budget_stops_a_large_tree(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct dirsize_budget budget = { .max_usec = 1 };
        (void) state;

        make_tree(tmp, 3000);
        struct dirsize_result res = measure_path(tmp, &budget);
        assert_false(res.complete);
        assert_true(res.entries < 3001);
        assert_true(res.bytes <= reference_size(tmp));

        tu_rm_rf(tmp);
}

static void test_incomplete_counts_as_over_only_when_already_over(void **state) {
        struct dirsize_result partial = { .bytes = 1000, .complete = false };
        struct dirsize_result full = { .bytes = 1000, .complete = true };
        (void) state;

        assert_true(dirsize_over_limit(&partial, 999));
        assert_false(dirsize_over_limit(&partial, 1000));
        assert_false(dirsize_over_limit(&partial, 5000));
        assert_true(dirsize_over_limit(&full, 999));
        assert_false(dirsize_over_limit(&full, 1000));
}

static void test_unreadable_subdir_is_incomplete(void **state) {
        (void) state;

        if (tu_is_root())
                skip(); /* root reads it anyway */
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *locked = tu_strdupf("%s/locked", tmp);
        _cleanup_free_ char *inside = tu_strdupf("%s/locked/f", tmp);
        _cleanup_free_ char *visible = tu_strdupf("%s/visible", tmp);
        make_dir(locked);
        write_size(inside, 100000);
        write_size(visible, 100000);
        assert_int_equal(chmod(locked, 0), 0);

        struct dirsize_result res = measure_path(tmp, NULL);
        assert_false(res.complete);
        assert_int_equal(res.bytes, blocks_of(tmp) + blocks_of(visible));

        assert_int_equal(chmod(locked, 0700), 0);
        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Depth and fds                                                            */

#define DEEP 2000

/* DEEP levels named "dd" (longer than PATH_MAX in total), one small file
 * each; returns the reference sum, taken fd by fd. */
static uint64_t make_deep_chain(int dir_fd) {
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        for (unsigned i = 0; i < DEEP; i++) {
                int f = openat(fd, "f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                assert_true(f >= 0);
                assert_int_equal(write(f, "data", 4), 4);
                close(f);
                assert_int_equal(mkdirat(fd, "dd", 0700), 0);
                int child = openat(fd, "dd", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                assert_true(child >= 0);
                close(fd);
                fd = child;
        }
        close(fd);

        uint64_t sum = 0;
        struct stat st;
        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (unsigned i = 0; i <= DEEP; i++) {
                assert_int_equal(fstat(fd, &st), 0);
                sum += (uint64_t) st.st_blocks * 512u;
                if (i == DEEP)
                        break;
                assert_int_equal(fstatat(fd, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
                sum += (uint64_t) st.st_blocks * 512u;
                int child = openat(fd, "dd", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                assert_true(child >= 0);
                close(fd);
                fd = child;
        }
        close(fd);
        return sum;
}

/* Documented behaviour: complete, exact, within DIRSIZE_MAX_OPEN_FDS. */
static void test_deep_tree_under_low_fd_limit_is_measured_completely(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        (void) state;

        int dir_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dir_fd >= 0);
        uint64_t want = make_deep_chain(dir_fd);

        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit rl = { .rlim_cur = 64, .rlim_max = 64 };
                struct dirsize_result res;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        _exit(10);
                if (dirsize_measure(dir_fd, NULL, &res) < 0)
                        _exit(11);
                if (!res.complete)
                        _exit(12);
                if (res.bytes != want)
                        _exit(13);
                if (res.entries != 2 * DEEP + 1)
                        _exit(14);
                _exit(0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        /* Budget-limited on the same tree: stops, frees everything. */
        struct dirsize_budget budget = { .max_entries = 1500 };
        struct dirsize_result res;
        unsigned before = tu_count_open_fds();
        assert_int_equal(dirsize_measure(dir_fd, &budget, &res), 0);
        assert_int_equal(tu_count_open_fds(), before);
        assert_false(res.complete);
        assert_true(res.bytes < want);

        assert_int_equal(fs_remove_contents(dir_fd, 16, NULL, NULL), 0);
        close(dir_fd);
        tu_rm_rf(tmp);
}

/* Deeper than the fd window, with siblings left to visit at every level:
 * each return to a closed ancestor goes through "..", then carries on. */
static void test_deep_and_wide_tree_beyond_fd_window_matches_reference(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        (void) state;

        _cleanup_free_ char *path = strdup(tmp);
        assert_non_null(path);
        for (unsigned level = 0; level < 3 * DIRSIZE_MAX_OPEN_FDS; level++) {
                for (unsigned k = 0; k < 2; k++) {
                        char *side = tu_strdupf("%s/side%u", path, k);
                        char *file = tu_strdupf("%s/side%u/f", path, k);
                        make_dir(side);
                        write_size(file, 5000 * (level % 4 + 1));
                        free(side);
                        free(file);
                }
                char *next = tu_strdupf("%s/n", path);
                make_dir(next);
                free(path);
                path = next;
        }

        struct dirsize_result res = measure_path(tmp, NULL);
        assert_true(res.complete);
        assert_int_equal(res.bytes, reference_size(tmp));
        assert_int_equal(res.entries, 1 + 3 * DIRSIZE_MAX_OPEN_FDS * 5);

        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Mounts (root only, private mount namespace in a child)                   */

static int run_in_private_ns(int (*fn)(const char *), const char *tmp) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(77);
                _exit(fn(tmp));
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int tmpfs_child(const char *tmp) {
        _cleanup_free_ char *mnt = tu_strdupf("%s/sub/mnt", tmp);
        _cleanup_free_ char *hidden = tu_strdupf("%s/sub/mnt/hidden", tmp);

        if (mount("tmpfs", mnt, "tmpfs", 0, "size=8m") < 0)
                return 77;
        write_size(hidden, 2 << 20);
        uint64_t want = reference_size(tmp); /* FTW_MOUNT: the mount is not reported */

        int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirsize_result res;
        if (fd < 0 || dirsize_measure(fd, NULL, &res) < 0)
                return 1;
        if (!res.crossed_mount_skipped || !res.complete)
                return 2;
        if (res.bytes != want)
                return 3;
        return 0;
}

static int tmpfs_case(void) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *sub = tu_strdupf("%s/sub", tmp);
        _cleanup_free_ char *mnt = tu_strdupf("%s/sub/mnt", tmp);
        _cleanup_free_ char *file = tu_strdupf("%s/sub/file", tmp);

        make_dir(sub);
        make_dir(mnt);
        write_size(file, 50000);
        int r = run_in_private_ns(tmpfs_child, tmp);
        tu_rm_rf(tmp);
        return r;
}

static void test_tmpfs_mount_inside_is_neither_counted_nor_crossed(void **state) {
        (void) state;

        if (!tu_is_root())
                skip();
        int r = tmpfs_case();
        if (r == 77)
                skip(); /* no mount namespaces here */
        assert_int_equal(r, 0);
}

static int bind_child(const char *tmp) {
        _cleanup_free_ char *a = tu_strdupf("%s/a", tmp);
        _cleanup_free_ char *b = tu_strdupf("%s/b", tmp);
        uint64_t before = reference_size(tmp);
        uint64_t b_blocks = blocks_of(b);

        if (mount(a, b, NULL, MS_BIND, NULL) < 0)
                return 77;
        int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirsize_result res;
        if (fd < 0 || dirsize_measure(fd, NULL, &res) < 0)
                return 1;
        if (!res.crossed_mount_skipped || !res.complete)
                return 2;
        if (res.bytes != before - b_blocks) /* same st_dev: only the mount id tells */
                return 3;
        return 0;
}

static int bind_case(void) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *a = tu_strdupf("%s/a", tmp);
        _cleanup_free_ char *b = tu_strdupf("%s/b", tmp);
        _cleanup_free_ char *data = tu_strdupf("%s/a/data", tmp);

        make_dir(a);
        make_dir(b);
        write_size(data, 1 << 20);
        int r = run_in_private_ns(bind_child, tmp);
        tu_rm_rf(tmp);
        return r;
}

static void test_bind_mount_of_same_filesystem_is_not_crossed(void **state) {
        (void) state;

        if (!tu_is_root())
                skip();
        int r = bind_case();
        if (r == 77)
                skip();
        assert_int_equal(r, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_small_tree_sum_matches_reference),
                cmocka_unit_test(test_hard_links_count_once),
                cmocka_unit_test(test_symlink_is_not_followed),
                cmocka_unit_test(test_o_path_fd_is_accepted_and_bad_arguments_rejected),
                cmocka_unit_test(test_entries_budget_gives_incomplete_lower_bound),
                cmocka_unit_test(test_time_budget_stops_a_large_tree),
                cmocka_unit_test(test_incomplete_counts_as_over_only_when_already_over),
                cmocka_unit_test(test_unreadable_subdir_is_incomplete),
                cmocka_unit_test(test_deep_tree_under_low_fd_limit_is_measured_completely),
                cmocka_unit_test(test_deep_and_wide_tree_beyond_fd_window_matches_reference),
                cmocka_unit_test(test_tmpfs_mount_inside_is_neither_counted_nor_crossed),
                cmocka_unit_test(test_bind_mount_of_same_filesystem_is_not_crossed),
        };

        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
