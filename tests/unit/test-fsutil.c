/* SPDX-License-Identifier: MIT */
/*
 * fsutil: lexical paths, the trusted walk, mount ids and the fd-bound
 * recursive delete.  Every fixture lives in a tu_mkdtemp() directory; tests
 * that need root (chown, mount) skip cleanly without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fsutil.h"
#include "rmtree.h"
#include "testutil.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static int highest_open_fd(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int own = dirfd(d), max = -1;

        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                int fd = atoi(de->d_name);
                if (fd != own && fd > max)
                        max = fd;
        }
        closedir(d);
        return max;
}

/* Every removal in this file goes through here: no fd may leak. */
static int remove_checked(int dir_fd, unsigned max_open_fds, struct rm_stats *stats,
                          void (*hook)(void)) {
        unsigned before = tu_count_open_fds();
        int r = fs_remove_contents(dir_fd, max_open_fds, stats, hook);
        assert_int_equal(tu_count_open_fds(), before);
        return r;
}

static void make_dir(const char *path, mode_t mode) {
        if (mkdir(path, mode) < 0) {
                perror(path);
                fail();
        }
        assert_int_equal(chmod(path, mode), 0); /* umask-independent, and sticky bits */
}

static int open_dir(const char *path) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static unsigned count_entries_fd(int fd) {
        int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dup_fd >= 0);
        DIR *d = fdopendir(dup_fd);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static unsigned count_entries(const char *path) {
        _cleanup_close_ int fd = open_dir(path);
        return count_entries_fd(fd);
}

static bool file_has(const char *path, const char *content) {
        char buf[256];
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        return streq(buf, content);
}

/* mkdirat + open, relative to dir_fd: the fixtures build trees deeper than
 * PATH_MAX, so never by path. */
static int make_subdir(int dir_fd, const char *name) {
        assert_int_equal(mkdirat(dir_fd, name, 0700), 0);
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

/* A chain of `depth` directories named `name` below dir_fd, built fd by fd
 * so it can exceed PATH_MAX; each level also holds one file when with_files. */
static void make_chain(int dir_fd, unsigned depth, const char *name, bool with_files) {
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        for (unsigned i = 0; i < depth; i++) {
                if (with_files) {
                        int f = openat(fd, "f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                        assert_true(f >= 0);
                        close(f);
                }
                int child = make_subdir(fd, name);
                close(fd);
                fd = child;
        }
        close(fd);
}

/* ------------------------------------------------------------------------ */
/* Lexical paths                                                            */

static void test_path_normalize_collapses_dots_and_slashes(void **state) {
        static const struct { const char *path, *cwd, *want; } cases[] = {
                { "/",              NULL,        "/" },
                { "//",             NULL,        "/" },
                { "/a//b/",         NULL,        "/a/b" },
                { "/a/./b/.",       NULL,        "/a/b" },
                { "/a/b/../c",      NULL,        "/a/c" },
                { "/..",            NULL,        "/" },
                { "/../a/..",       NULL,        "/" },
                { "/a/.../.b/..c",  NULL,        "/a/.../.b/..c" },
                { "/a\x01" "b",     NULL,        "/a\x01" "b" },
                { "a/b",            "/x/y",      "/x/y/a/b" },
                { "../b",           "/x/y",      "/x/b" },
                { ".",              "/x/y/",     "/x/y" },
                { "../../..",       "/x",        "/" },
                { "a",              "//x//./y",  "/x/y/a" },
                { "/abs",           "/ignored",  "/abs" },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *out = NULL;
                assert_int_equal(path_normalize(cases[i].path, cases[i].cwd, &out), 0);
                assert_string_equal(out, cases[i].want);
                free(out);
        }
}

static void test_path_normalize_rejects_empty_and_unanchored(void **state) {
        char *out = (char *) "untouched";
        (void) state;

        assert_int_equal(path_normalize("", "/x", &out), -EINVAL);
        assert_int_equal(path_normalize(NULL, "/x", &out), -EINVAL);
        assert_int_equal(path_normalize("a", NULL, &out), -EINVAL);
        assert_int_equal(path_normalize("a", "rel", &out), -EINVAL);
        assert_string_equal(out, "untouched");
}

static void test_path_split_gives_parent_and_last_component(void **state) {
        static const struct { const char *path, *parent, *name; } cases[] = {
                { "/a",         "/",      "a" },
                { "/a/b/c",     "/a/b",   "c" },
                { "/a b/c d",   "/a b",   "c d" },
                { "/.hidden",   "/",      ".hidden" },
        };
        static const char *const invalid[] = { "/", "", "a/b", "/a/", "/a/..", "/a/." };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *parent = NULL, *name = NULL;
                assert_int_equal(path_split(cases[i].path, &parent, &name), 0);
                assert_string_equal(parent, cases[i].parent);
                assert_string_equal(name, cases[i].name);
                free(parent);
                free(name);
        }
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                char *parent = NULL, *name = NULL;
                assert_int_equal(path_split(invalid[i], &parent, &name), -EINVAL);
                assert_null(parent);
                assert_null(name);
        }
}

static void test_path_is_ancestor_or_self_compares_whole_components(void **state) {
        static const struct { const char *ancestor, *path; bool want; } cases[] = {
                { "/",      "/",        true },
                { "/",      "/a",       true },
                { "/a",     "/a",       true },
                { "/a",     "/a/b",     true },
                { "/a/b",   "/a/b/c/d", true },
                { "/a",     "/ab",      false },
                { "/a/b",   "/a",       false },
                { "/a",     "/b/a",     false },
                { "/a",     "a",        false },
                { "a",      "a/b",      false },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_int_equal(path_is_ancestor_or_self(cases[i].ancestor, cases[i].path),
                                 cases[i].want);
        assert_false(path_is_ancestor_or_self(NULL, "/"));
        assert_false(path_is_ancestor_or_self("/", NULL));
}

/* ------------------------------------------------------------------------ */
/* Trusted walk                                                             */

static void test_symlink_component_is_refused_even_to_trusted_dir(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *real = tu_strdupf("%s/real", tmp);
        _cleanup_free_ char *inner = tu_strdupf("%s/real/inner", tmp);
        _cleanup_free_ char *link = tu_strdupf("%s/link", tmp);
        _cleanup_free_ char *via_link = tu_strdupf("%s/link/inner", tmp);
        enum trust_verdict v;
        char *bad = NULL;
        int fd = -1;
        (void) state;

        make_dir(real, 0700);
        make_dir(inner, 0700);
        assert_int_equal(symlink(real, link), 0);

        /* The target is trusted on its own ... */
        assert_int_equal(fs_open_trusted_dir(inner, geteuid(), &fd, &v, NULL), 0);
        assert_int_equal(v, TRUST_PRIVATE);
        close(fd);
        fd = -1;

        /* ... but never through a symlink, as the middle or last component. */
        assert_int_equal(fs_open_trusted_dir(via_link, geteuid(), &fd, &v, &bad), -ELOOP);
        assert_int_equal(fd, -1);
        assert_string_equal(bad, link);
        free(bad);
        bad = NULL;
        assert_int_equal(fs_open_trusted_dir(link, geteuid(), &fd, &v, &bad), -ELOOP);
        assert_string_equal(bad, link);
        free(bad);

        tu_rm_rf(tmp);
}

static void test_group_writable_non_sticky_parent_is_refused(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *gw = tu_strdupf("%s/gw", tmp);
        _cleanup_free_ char *child = tu_strdupf("%s/gw/child", tmp);
        enum trust_verdict v;
        char *bad = NULL;
        int fd = -1;
        (void) state;

        make_dir(gw, 0700);
        make_dir(child, 0700);
        assert_int_equal(chmod(gw, 0770), 0);

        assert_int_equal(fs_open_trusted_dir(child, geteuid(), &fd, &v, &bad), -EPERM);
        assert_int_equal(fd, -1);
        assert_string_equal(bad, gw);
        free(bad);
        bad = NULL;

        /* World-writable without sticky is no better, as parent or target. */
        assert_int_equal(chmod(gw, 0777), 0);
        assert_int_equal(fs_open_trusted_dir(child, geteuid(), &fd, &v, &bad), -EPERM);
        assert_string_equal(bad, gw);
        free(bad);
        bad = NULL;
        assert_int_equal(fs_open_trusted_dir(gw, geteuid(), &fd, &v, &bad), -EPERM);
        assert_string_equal(bad, gw);
        free(bad);

        tu_rm_rf(tmp);
}

static void test_tmp_is_shared_sticky(void **state) {
        struct stat st;
        enum trust_verdict v;
        int fd = -1;
        (void) state;

        assert_int_equal(stat("/tmp", &st), 0);
        if (st.st_uid != 0 || !(st.st_mode & S_ISVTX))
                skip(); /* this machine's /tmp is not the usual root-owned 1777 */

        assert_int_equal(fs_open_trusted_dir("/tmp", geteuid(), &fd, &v, NULL), 0);
        assert_int_equal(v, TRUST_SHARED_STICKY);
        assert_int_equal(fs_verify_same(fd, st.st_dev, st.st_ino), 0);
        close(fd);
}

/* A dir only read from (rules.d): root's own dirs are fine for any uid,
 * but not /tmp, where anybody can add entries; the stat of the refused
 * dir comes back for the message. */
static void test_read_dir_accepts_root_owned_and_refuses_shared_sticky(void **state) {
        _cleanup_free_ char *bad = NULL;
        struct stat st, bad_st = {};
        enum trust_verdict v;
        int fd = -1;
        (void) state;

        assert_int_equal(stat("/", &st), 0);
        if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
                skip();
        /* As any uid: fs_open_trusted_dir() would refuse a non-sticky root dir. */
        assert_int_equal(fs_open_trusted_read_dir("/", 4242, &fd, NULL, NULL), 0);
        assert_int_equal(fs_verify_same(fd, st.st_dev, st.st_ino), 0);
        assert_true(count_entries_fd(fd) > 0); /* opened for reading */
        close(fd);
        assert_int_equal(fs_open_trusted_dir("/", 4242, &fd, &v, NULL), -EPERM);

        assert_int_equal(stat("/tmp", &st), 0);
        if (st.st_uid != 0 || !(st.st_mode & S_ISVTX) || !(st.st_mode & S_IWOTH))
                skip();
        assert_int_equal(fs_open_trusted_read_dir("/tmp", geteuid(), &fd, &bad, &bad_st), -EPERM);
        assert_string_equal(bad, "/tmp");
        assert_int_equal(bad_st.st_ino, st.st_ino);
}

/* Below /tmp, a private dir is fine; a group-writable one of ours is not. */
static void test_read_dir_refuses_group_writable_final_dir(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *sub = tu_strdupf("%s/sub", tmp);
        _cleanup_free_ char *bad = NULL;
        struct stat bad_st = {};
        int fd = -1;
        (void) state;

        make_dir(sub, 0700);
        assert_int_equal(fs_open_trusted_read_dir(sub, geteuid(), &fd, NULL, NULL), 0);
        close(fd);
        assert_int_equal(chmod(sub, 0770), 0);
        assert_int_equal(fs_open_trusted_read_dir(sub, geteuid(), &fd, &bad, &bad_st), -EPERM);
        assert_string_equal(bad, sub);
        assert_true(bad_st.st_mode & S_IWGRP);
        tu_rm_rf(tmp);
}

static void assert_read_dir_is(const char *path, const char *real) {
        struct stat st;
        int fd = -1;

        assert_int_equal(stat(real, &st), 0);
        assert_int_equal(fs_open_trusted_read_dir(path, geteuid(), &fd, NULL, NULL), 0);
        assert_int_equal(fs_verify_same(fd, st.st_dev, st.st_ino), 0);
        close(fd);
}

/* A ~/.config linked to a dotfiles checkout: our own links, in our own
 * directories, are followed -- relative, absolute, through "..", chained --
 * and what they lead to is checked like any path. */
static void test_read_dir_follows_own_symlinks_to_trusted_dirs(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *real = tu_strdupf("%s/dotfiles/ephemdir/rules.d", tmp);
        _cleanup_free_ char *cfg = tu_strdupf("%s/cfg", tmp);
        _cleanup_free_ char *abs = tu_strdupf("%s/abs", tmp);
        _cleanup_free_ char *rel = tu_strdupf("%s/cfg/rel", tmp);
        _cleanup_free_ char *chain = tu_strdupf("%s/chain", tmp);
        _cleanup_free_ char *dotfiles = tu_strdupf("%s/dotfiles", tmp);
        _cleanup_free_ char *abs_target = tu_strdupf("%s/dotfiles/ephemdir", tmp);
        _cleanup_free_ char *via_abs = tu_strdupf("%s/abs/rules.d", tmp);
        (void) state;

        make_dir(dotfiles, 0700);
        make_dir(abs_target, 0700);
        make_dir(real, 0700);
        make_dir(cfg, 0700);
        assert_int_equal(symlink(abs_target, abs), 0);                       /* absolute */
        assert_int_equal(symlink("../dotfiles/ephemdir/rules.d", rel), 0);  /* relative, with ".." */
        assert_int_equal(symlink("cfg/./rel", chain), 0);                   /* a link to a link */

        assert_read_dir_is(via_abs, real);
        assert_read_dir_is(rel, real);
        assert_read_dir_is(chain, real);

        /* The strict walks still follow nothing. */
        int fd = -1;
        enum trust_verdict v;
        assert_int_equal(fs_open_trusted_dir(rel, geteuid(), &fd, &v, NULL), -ELOOP);
        tu_rm_rf(tmp);
}

/* A link may lead anywhere it likes: the target is refused where a path
 * to it would be, and the refusal names the directory as really walked. */
static void test_read_dir_checks_what_a_symlink_leads_to(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *open_dir_ = tu_strdupf("%s/shared", tmp);
        _cleanup_free_ char *link = tu_strdupf("%s/link", tmp);
        _cleanup_free_ char *loop_a = tu_strdupf("%s/a", tmp);
        _cleanup_free_ char *loop_b = tu_strdupf("%s/b", tmp);
        _cleanup_free_ char *bad = NULL;
        struct stat bad_st = {};
        int fd = -1;
        (void) state;

        make_dir(open_dir_, 0700);
        assert_int_equal(chmod(open_dir_, 0777), 0);
        assert_int_equal(symlink("shared", link), 0);
        assert_int_equal(fs_open_trusted_read_dir(link, geteuid(), &fd, &bad, &bad_st), -EPERM);
        assert_string_equal(bad, open_dir_);
        assert_true(bad_st.st_mode & S_IWOTH);
        free(bad);
        bad = NULL;

        assert_int_equal(symlink("b", loop_a), 0);
        assert_int_equal(symlink("a", loop_b), 0);
        assert_int_equal(fs_open_trusted_read_dir(loop_a, geteuid(), &fd, &bad, NULL), -ELOOP);

        tu_rm_rf(tmp);
}

/* In a directory where others may add entries (root's sticky /tmp kind),
 * a link someone else owns is theirs to point anywhere: never followed.
 * Root only: making the link another user's takes lchown. */
static void test_read_dir_refuses_a_symlink_owned_by_another_user(void **state) {
        if (!tu_is_root())
                skip(); /* before allocating: skip() jumps out of the test */
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *sticky = tu_strdupf("%s/sticky", tmp);
        _cleanup_free_ char *real = tu_strdupf("%s/real", tmp);
        _cleanup_free_ char *link = tu_strdupf("%s/sticky/link", tmp);
        _cleanup_free_ char *bad = NULL;
        int fd = -1;
        (void) state;

        uid_t user = tu_foreign_uid(tmp);
        uid_t other = user + 1;
        make_dir(sticky, 0700);
        assert_int_equal(chmod(sticky, 01777), 0);
        make_dir(real, 0700);
        assert_int_equal(chmod(tmp, 0755), 0);
        assert_int_equal(chown(real, user, user), 0);
        assert_int_equal(symlink(real, link), 0);

        assert_int_equal(lchown(link, user, user), 0);
        assert_int_equal(fs_open_trusted_read_dir(link, user, &fd, NULL, NULL), 0);
        close(fd);

        assert_int_equal(lchown(link, other, other), 0);
        assert_int_equal(fs_open_trusted_read_dir(link, user, &fd, &bad, NULL), -ELOOP);
        assert_string_equal(bad, link);
        tu_rm_rf(tmp);
}

static void test_private_dir_is_trusted_private_and_readable(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *sub = tu_strdupf("%s/sub", tmp);
        enum trust_verdict v;
        struct stat st;
        int fd = -1;
        (void) state;

        make_dir(sub, 0700);
        assert_int_equal(stat(sub, &st), 0);

        assert_int_equal(fs_open_trusted_dir(sub, geteuid(), &fd, &v, NULL), 0);
        assert_int_equal(v, TRUST_PRIVATE);
        assert_int_equal(fs_verify_same(fd, st.st_dev, st.st_ino), 0);
        assert_int_equal(fs_verify_same(fd, st.st_dev, st.st_ino + 1), -ESTALE);
        assert_int_equal(count_entries_fd(fd), 0); /* opened for reading */
        close(fd);

        /* Duplicate and trailing slashes are harmless. */
        _cleanup_free_ char *sloppy = tu_strdupf("/%s//sub/", tmp);
        assert_int_equal(fs_open_trusted_dir(sloppy, geteuid(), &fd, &v, NULL), 0);
        assert_int_equal(fs_verify_same(fd, st.st_dev, st.st_ino), 0);
        close(fd);

        tu_rm_rf(tmp);
}

static void test_unnormalized_or_relative_path_is_rejected(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *dotdot = tu_strdupf("%s/../x", tmp);
        _cleanup_free_ char *dot = tu_strdupf("%s/.", tmp);
        char *bad = NULL;
        int fd = -1;
        (void) state;

        assert_int_equal(fs_open_trusted_dir(dotdot, geteuid(), &fd, NULL, &bad), -EINVAL);
        assert_int_equal(fs_open_trusted_dir(dot, geteuid(), &fd, NULL, &bad), -EINVAL);
        assert_int_equal(fs_open_trusted_dir("tmp", geteuid(), &fd, NULL, &bad), -EINVAL);
        assert_int_equal(fs_mkdir_p_trusted(dotdot, geteuid(), &fd), -EINVAL);
        assert_null(bad);
        assert_int_equal(fd, -1);

        tu_rm_rf(tmp);
}

static void test_missing_or_non_dir_component_is_reported(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *missing = tu_strdupf("%s/nope/deeper", tmp);
        _cleanup_free_ char *missing_prefix = tu_strdupf("%s/nope", tmp);
        _cleanup_free_ char *file = tu_strdupf("%s/file", tmp);
        _cleanup_free_ char *through_file = tu_strdupf("%s/file/x", tmp);
        char *bad = NULL;
        int fd = -1;
        (void) state;

        tu_write_file(file, "x");
        assert_int_equal(fs_open_trusted_dir(missing, geteuid(), &fd, NULL, &bad), -ENOENT);
        assert_string_equal(bad, missing_prefix);
        free(bad);
        bad = NULL;
        assert_int_equal(fs_open_trusted_dir(through_file, geteuid(), &fd, NULL, &bad), -ENOTDIR);
        assert_string_equal(bad, file);
        free(bad);
        bad = NULL;
        assert_int_equal(fs_open_trusted_dir(file, geteuid(), &fd, NULL, &bad), -ENOTDIR);
        assert_string_equal(bad, file);
        free(bad);
        assert_int_equal(fd, -1);

        tu_rm_rf(tmp);
}

static void test_search_only_component_can_be_walked(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *xonly = tu_strdupf("%s/xonly", tmp);
        _cleanup_free_ char *inner = tu_strdupf("%s/xonly/inner", tmp);
        enum trust_verdict v;
        int fd = -1;
        (void) state;

        /* Like a 0711 home: walkable with search permission alone. */
        make_dir(xonly, 0700);
        make_dir(inner, 0700);
        assert_int_equal(chmod(xonly, 0100), 0);
        assert_int_equal(fs_open_trusted_dir(inner, geteuid(), &fd, &v, NULL), 0);
        assert_int_equal(v, TRUST_PRIVATE);
        close(fd);

        assert_int_equal(chmod(xonly, 0700), 0);
        tu_rm_rf(tmp);
}

static void test_dir_not_owned_by_requested_uid_is_refused(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        char *bad = NULL;
        int fd = -1;
        (void) state;

        /* Asking on behalf of someone else: our own private dir is foreign to them. */
        assert_int_equal(fs_open_trusted_dir(tmp, tu_foreign_uid(tmp), &fd, NULL, &bad), -EPERM);
        assert_string_equal(bad, tmp);
        free(bad);
        assert_int_equal(fd, -1);

        tu_rm_rf(tmp);
}

static void test_dir_chowned_to_other_uid_is_refused(void **state) {
        (void) state;
        if (!tu_is_root())
                skip();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *foreign = tu_strdupf("%s/foreign", tmp);
        _cleanup_free_ char *child = tu_strdupf("%s/foreign/child", tmp);
        char *bad = NULL;
        int fd = -1;

        make_dir(foreign, 0755);
        make_dir(child, 0700);
        assert_int_equal(chown(foreign, 65534, 65534), 0);

        assert_int_equal(fs_open_trusted_dir(child, 0, &fd, NULL, &bad), -EPERM);
        assert_string_equal(bad, foreign);
        free(bad);
        bad = NULL;
        assert_int_equal(fs_open_trusted_dir(foreign, 0, &fd, NULL, &bad), -EPERM);
        assert_string_equal(bad, foreign);
        free(bad);
        assert_int_equal(fs_mkdir_p_trusted(child, 0, &fd), -EPERM);
        assert_int_equal(fd, -1);

        tu_rm_rf(tmp);
}

static void test_foreign_owned_sticky_dir_is_refused(void **state) {
        (void) state;
        if (!tu_is_root())
                skip();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *sticky = tu_strdupf("%s/sticky", tmp);
        _cleanup_free_ char *child = tu_strdupf("%s/sticky/child", tmp);
        char *bad = NULL;
        int fd = -1;

        make_dir(sticky, 01777);
        make_dir(child, 0700);
        assert_int_equal(chown(sticky, 65534, 65534), 0);

        assert_int_equal(fs_open_trusted_dir(sticky, 0, &fd, NULL, &bad), -EPERM);
        assert_string_equal(bad, sticky);
        free(bad);
        bad = NULL;
        assert_int_equal(fs_open_trusted_dir(child, 0, &fd, NULL, &bad), -EPERM);
        assert_string_equal(bad, sticky);
        free(bad);
        assert_int_equal(fd, -1);

        tu_rm_rf(tmp);
}

static void test_own_world_writable_sticky_dir_is_refused_for_non_root(void **state) {
        (void) state;
        if (tu_is_root())
                skip(); /* a root-owned sticky dir is the legitimate /tmp case */

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *sticky = tu_strdupf("%s/sticky", tmp);
        char *bad = NULL;
        int fd = -1;

        make_dir(sticky, 01777);
        assert_int_equal(fs_open_trusted_dir(sticky, geteuid(), &fd, NULL, &bad), -EPERM);
        assert_string_equal(bad, sticky);
        free(bad);

        tu_rm_rf(tmp);
}

static void test_mkdir_p_creates_missing_components_0700(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *path = tu_strdupf("%s/a/b/c", tmp);
        const char *const created[] = { "a", "a/b", "a/b/c" };
        struct stat st;
        int fd = -1;
        (void) state;

        mode_t old = umask(0);  /* 0700 must not depend on a permissive umask */
        assert_int_equal(fs_mkdir_p_trusted(path, geteuid(), &fd), 0);
        umask(old);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(fs_verify_same(fd, st.st_dev, st.st_ino), 0);
        close(fd);

        for (size_t i = 0; i < ELEMENTSOF(created); i++) {
                _cleanup_free_ char *p = tu_strdupf("%s/%s", tmp, created[i]);
                assert_int_equal(lstat(p, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
                assert_int_equal(st.st_mode & 07777, 0700);
                assert_int_equal(st.st_uid, geteuid());
        }

        /* Existing: just opened. */
        assert_int_equal(fs_mkdir_p_trusted(path, geteuid(), &fd), 0);
        close(fd);

        tu_rm_rf(tmp);
}

static void test_mkdir_p_creates_nothing_in_untrusted_parent(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *gw = tu_strdupf("%s/gw", tmp);
        _cleanup_free_ char *under_gw = tu_strdupf("%s/gw/new/deeper", tmp);
        _cleanup_free_ char *gw_new = tu_strdupf("%s/gw/new", tmp);
        _cleanup_free_ char *real = tu_strdupf("%s/real", tmp);
        _cleanup_free_ char *link = tu_strdupf("%s/link", tmp);
        _cleanup_free_ char *via_link = tu_strdupf("%s/link/new", tmp);
        _cleanup_free_ char *real_new = tu_strdupf("%s/real/new", tmp);
        int fd = -1;
        (void) state;

        make_dir(gw, 0770);
        make_dir(real, 0700);
        assert_int_equal(symlink(real, link), 0);

        assert_int_equal(fs_mkdir_p_trusted(under_gw, geteuid(), &fd), -EPERM);
        assert_false(tu_exists(gw_new));
        assert_int_equal(fs_mkdir_p_trusted(via_link, geteuid(), &fd), -ELOOP);
        assert_false(tu_exists(real_new));
        /* A shared sticky dir is fine to create in, not to be a data dir. */
        assert_int_equal(fs_mkdir_p_trusted("/tmp", geteuid(), &fd), -EPERM);
        assert_int_equal(fd, -1);

        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Mount ids and child dirs                                                 */

static void test_mount_id_statx_and_fdinfo_agree(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_close_ int fd = open_dir(tmp);
        _cleanup_close_ int proc = open_dir("/proc");
        uint64_t via_statx, via_fdinfo, proc_statx, proc_fdinfo, unused = 0;
        const char *method = NULL;
        (void) state;

        assert_int_equal(fs_mount_id(fd, &via_statx, &method), 0);
        assert_string_equal(method, "statx");
        assert_int_equal(fs_mount_id(proc, &proc_statx, NULL), 0);

        fs_mount_id_force_fallback(1);
        assert_int_equal(fs_mount_id(fd, &via_fdinfo, &method), 0);
        assert_string_equal(method, "fdinfo");
        assert_int_equal(fs_mount_id(proc, &proc_fdinfo, NULL), 0);

        fs_mount_id_force_fallback(2);
        assert_int_equal(fs_mount_id(fd, &unused, NULL), -EOPNOTSUPP);
        fs_mount_id_force_fallback(0);

        assert_true(via_statx == via_fdinfo);
        assert_true(proc_statx == proc_fdinfo);
        assert_true(via_statx != proc_statx);
        assert_true(unused == 0);

        tu_rm_rf(tmp);
}

static void test_fdinfo_mnt_id_parser_is_strict(void **state) {
        static const struct { const char *text; int r; uint64_t want; } cases[] = {
                { "pos:\t0\nflags:\t02100000\nmnt_id:\t27\nino:\t123\n", 0, 27 },
                { "mnt_id:\t5", 0, 5 },
                { "mnt_id: 7 \n", 0, 7 },
                { "mnt_id:\t18446744073709551615\n", 0, UINT64_MAX },
                { "", -ENOENT, 0 },
                { "pos:\t0\n", -ENOENT, 0 },
                { "xmnt_id:\t3\n", -ENOENT, 0 },
                { "pos:\t0 mnt_id:\t3\n", -ENOENT, 0 },
                { "mnt_id:\tx\n", -EINVAL, 0 },
                { "mnt_id:\t\n", -EINVAL, 0 },
                { "mnt_id:\t-1\n", -EINVAL, 0 },
                { "mnt_id:\t12abc\n", -EINVAL, 0 },
                { "mnt_id:\t99999999999999999999999\n", -ERANGE, 0 },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t id = 42;
                assert_int_equal(fs_fdinfo_parse_mnt_id(cases[i].text, &id), cases[i].r);
                assert_true(id == (cases[i].r == 0 ? cases[i].want : 42));
        }
}

static void test_open_child_dir_refuses_symlinks_and_paths(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *real = tu_strdupf("%s/real", tmp);
        _cleanup_free_ char *link = tu_strdupf("%s/link", tmp);
        _cleanup_close_ int fd = -1;
        struct stat st;
        int child = -1;
        (void) state;

        make_dir(real, 0700);
        assert_int_equal(symlink(real, link), 0);
        fd = open_dir(tmp);

        assert_int_equal(fs_open_child_dir(fd, "real", &child), 0);
        assert_int_equal(stat(real, &st), 0);
        assert_int_equal(fs_verify_same(child, st.st_dev, st.st_ino), 0);
        close(child);
        child = -1;

        int r = fs_open_child_dir(fd, "link", &child);
        assert_true(r == -ELOOP || r == -ENOTDIR);
        assert_int_equal(fs_open_child_dir(fd, "real/..", &child), -EINVAL);
        assert_int_equal(fs_open_child_dir(fd, "..", &child), -EINVAL);
        assert_int_equal(fs_open_child_dir(fd, "", &child), -EINVAL);
        assert_int_equal(child, -1);

        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Removal                                                                  */

static void test_mixed_tree_is_removed_and_outside_targets_survive(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *root = tu_strdupf("%s/root", tmp);
        _cleanup_free_ char *out_file = tu_strdupf("%s/outside-file", tmp);
        _cleanup_free_ char *out_dir = tu_strdupf("%s/outside-dir", tmp);
        _cleanup_free_ char *out_dir_file = tu_strdupf("%s/outside-dir/precious", tmp);
        struct rm_stats stats = { 99, 99, 99 };
        (void) state;

        make_dir(root, 0700);
        make_dir(out_dir, 0700);
        tu_write_file(out_file, "outside");
        tu_write_file(out_dir_file, "precious");

        static const char *const dirs[] = { "d1", "d1/d2", "d1/d2/d3", "empty" };
        static const char *const files[] = { "f1", "d1/f", "d1/d2/d3/f" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *p = tu_strdupf("%s/%s", root, dirs[i]);
                make_dir(p, 0700);
        }
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = tu_strdupf("%s/%s", root, files[i]);
                tu_write_file(p, "inside");
        }
        _cleanup_free_ char *emptyf = tu_strdupf("%s/f2", root);
        _cleanup_free_ char *fifo = tu_strdupf("%s/d1/fifo", root);
        _cleanup_free_ char *l_file = tu_strdupf("%s/link-file", root);
        _cleanup_free_ char *l_dir = tu_strdupf("%s/d1/d2/link-dir", root);
        _cleanup_free_ char *l_up = tu_strdupf("%s/d1/link-up", root);
        _cleanup_free_ char *l_root = tu_strdupf("%s/link-root", root);
        _cleanup_free_ char *l_dangling = tu_strdupf("%s/link-dangling", root);
        _cleanup_free_ char *hard = tu_strdupf("%s/d1/hardlink", root);
        tu_write_file(emptyf, "");
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(symlink(out_file, l_file), 0);
        assert_int_equal(symlink(out_dir, l_dir), 0);
        assert_int_equal(symlink("..", l_up), 0);
        assert_int_equal(symlink("/", l_root), 0);
        assert_int_equal(symlink("/nonexistent/ephemdir", l_dangling), 0);
        assert_int_equal(link(out_file, hard), 0);

        _cleanup_close_ int fd = open_dir(root);
        assert_int_equal(remove_checked(fd, 64, &stats, NULL), 0);

        assert_int_equal(count_entries(root), 0);
        assert_int_equal(stats.files, ELEMENTSOF(files) + 8);
        assert_int_equal(stats.dirs, ELEMENTSOF(dirs));
        assert_true(file_has(out_file, "outside"));
        assert_true(file_has(out_dir_file, "precious"));
        assert_int_equal(count_entries(out_dir), 1);
        assert_true(tu_exists(root)); /* contents only */

        tu_rm_rf(tmp);
}

static void test_o_path_root_fd_is_accepted(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *f = tu_strdupf("%s/f", tmp);
        _cleanup_free_ char *d = tu_strdupf("%s/d", tmp);
        (void) state;

        tu_write_file(f, "x");
        make_dir(d, 0700);
        _cleanup_close_ int fd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(remove_checked(fd, 8, NULL, NULL), 0);
        assert_int_equal(count_entries(tmp), 0);

        tu_rm_rf(tmp);
}

static void test_too_small_fd_budget_is_rejected_before_deleting(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *f = tu_strdupf("%s/f", tmp);
        _cleanup_close_ int fd = -1;
        (void) state;

        tu_write_file(f, "x");
        fd = open_dir(tmp);
        assert_int_equal(remove_checked(fd, 3, NULL, NULL), -EINVAL);
        assert_int_equal(remove_checked(fd, 0, NULL, NULL), -EINVAL);
        assert_true(tu_exists(f));

        tu_rm_rf(tmp);
}

static void test_unreadable_mount_id_refuses_to_delete(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *f = tu_strdupf("%s/f", tmp);
        _cleanup_free_ char *d = tu_strdupf("%s/d", tmp);
        _cleanup_close_ int fd = -1;
        (void) state;

        tu_write_file(f, "x");
        make_dir(d, 0700);
        fd = open_dir(tmp);

        fs_mount_id_force_fallback(2);
        int r = remove_checked(fd, 64, NULL, NULL);
        fs_mount_id_force_fallback(0);
        assert_int_equal(r, -EOPNOTSUPP);
        assert_true(tu_exists(f));
        assert_true(tu_exists(d));

        tu_rm_rf(tmp);
}

static int fault_calls;
static void count_fault(void) {
        fault_calls++;
}

static void test_fault_hook_runs_once_after_first_unlink(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct rm_stats stats;
        (void) state;

        for (int i = 0; i < 50; i++) {
                _cleanup_free_ char *p = tu_strdupf("%s/f%d", tmp, i);
                tu_write_file(p, "x");
        }
        _cleanup_close_ int fd = open_dir(tmp);
        make_chain(fd, 5, "d", true);

        fault_calls = 0;
        assert_int_equal(remove_checked(fd, 64, &stats, count_fault), 0);
        assert_int_equal(fault_calls, 1);
        assert_int_equal(stats.files, 55);
        assert_int_equal(stats.dirs, 5);

        /* Nothing removed, no call. */
        fault_calls = 0;
        assert_int_equal(remove_checked(fd, 64, &stats, count_fault), 0);
        assert_int_equal(fault_calls, 0);

        tu_rm_rf(tmp);
}

/* In a child with RLIMIT_NOFILE `nofile` (0: exactly `budget` free fd
 * numbers, or `free_fds` if not 0, the gaps below the highest open fd
 * filled, so any overrun fails with EMFILE): remove the contents of path
 * with the given budget, split among up to `workers` threads started from
 * the first entry on (0: single-threaded), exit 0 when it succeeded with
 * the expected counts (and, with workers, at least one worker used: 102
 * otherwise). */
static int remove_in_limited_child_par(const char *path, rlim_t nofile, unsigned budget,
                                       unsigned free_fds, unsigned workers, int fallback_level,
                                       uint64_t want_files, uint64_t want_dirs) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        _exit(100);
                if (nofile == 0) {
                        int high = highest_open_fd();
                        for (int i = 0; i < high; i++)
                                if (fcntl(i, F_GETFD) < 0 && open("/dev/null", O_RDONLY) < 0)
                                        _exit(100);
                        nofile = (rlim_t) high + 1 + (free_fds ? free_fds : budget);
                }
                struct rlimit rl = { nofile, nofile };
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        _exit(100);
                fs_mount_id_force_fallback(fallback_level);
                struct rm_opts opts = { .max_open_fds = budget, .max_workers = workers };
                struct rm_stats stats;
                int r = fs_remove_contents_opts(fd, &opts, &stats);
                if (r < 0)
                        _exit(-r < 100 ? -r : 99);
                if (stats.files != want_files || stats.dirs != want_dirs)
                        _exit(101);
                if (workers > 0 && stats.workers == 0)
                        _exit(102);
                _exit(0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int remove_in_limited_child(const char *path, rlim_t nofile, unsigned budget,
                                   int fallback_level, uint64_t want_files, uint64_t want_dirs) {
        return remove_in_limited_child_par(path, nofile, budget, 0, 0, fallback_level,
                                           want_files, want_dirs);
}

static void test_deep_tree_beyond_fd_limit_is_removed(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        (void) state;

        {
                _cleanup_close_ int fd = open_dir(tmp);
                make_chain(fd, 3000, "d", true);
        }
        assert_int_equal(remove_in_limited_child(tmp, 64, 16, 0, 3000, 3000), 0);
        assert_int_equal(count_entries(tmp), 0);

        /* The same with workers: budget 16 leaves room for two, each walking
         * a part of the chain on 5 fds while the caller's walk keeps 6. */
        {
                _cleanup_close_ int fd = open_dir(tmp);
                make_chain(fd, 3000, "d", true);
        }
        assert_int_equal(remove_in_limited_child_par(tmp, 64, 16, 0, 3, 0, 3000, 3000), 0);
        assert_int_equal(count_entries(tmp), 0);

        tu_rm_rf(tmp);
}

static void test_fd_budget_holds_exactly_with_fdinfo_fallback(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        (void) state;

        {
                _cleanup_close_ int fd = open_dir(tmp);
                make_chain(fd, 200, "d", true);
        }
        /* The fallback's transient fdinfo fd is part of the budget too. */
        assert_int_equal(remove_in_limited_child(tmp, 0, 4, 1, 200, 200), 0);
        assert_int_equal(count_entries(tmp), 0);

        {
                _cleanup_close_ int fd = open_dir(tmp);
                make_chain(fd, 200, "d", true);
        }
        assert_int_equal(remove_in_limited_child(tmp, 0, 5, 0, 200, 200), 0);
        assert_int_equal(count_entries(tmp), 0);

        tu_rm_rf(tmp);
}

static void test_path_longer_than_path_max_is_removed(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        char name[241];
        struct rm_stats stats;
        (void) state;

        memset(name, 'n', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        _cleanup_close_ int fd = open_dir(tmp);
        make_chain(fd, 40, name, true); /* 40 * 241 > 9000 > PATH_MAX */

        assert_int_equal(remove_checked(fd, 16, &stats, NULL), 0);
        assert_int_equal(stats.dirs, 40);
        assert_int_equal(stats.files, 40);
        assert_int_equal(count_entries_fd(fd), 0);

        tu_rm_rf(tmp);
}

static void test_wide_tree_with_small_budget_is_fully_removed(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct rm_stats stats;
        (void) state;

        /* Several deep branches plus files around them: the small budget forces
         * ancestors closed and re-entered via "..", restarting their readdir. */
        _cleanup_close_ int fd = open_dir(tmp);
        for (int b = 0; b < 6; b++) {
                char name[16];
                snprintf(name, sizeof(name), "b%d", b);
                int bfd = make_subdir(fd, name);
                for (int i = 0; i < 20; i++) {
                        char f[16];
                        snprintf(f, sizeof(f), "f%d", i);
                        int ffd = openat(bfd, f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                        assert_true(ffd >= 0);
                        close(ffd);
                }
                make_chain(bfd, 12, "x", true);
                make_chain(bfd, 3, "y", false);
                close(bfd);
        }

        assert_int_equal(remove_checked(fd, 4, &stats, NULL), 0);
        assert_int_equal(stats.dirs, 6 * (1 + 12 + 3));
        assert_int_equal(stats.files, 6 * (20 + 12));
        assert_int_equal(count_entries_fd(fd), 0);

        tu_rm_rf(tmp);
}

static void test_undeletable_entry_fails_instead_of_looping(void **state) {
        (void) state;
        if (tu_is_root())
                skip(); /* root bypasses the permission that makes it undeletable */

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *ro = tu_strdupf("%s/a/a/a/ro", tmp);
        _cleanup_free_ char *stuck = tu_strdupf("%s/stuck", ro);
        _cleanup_close_ int fd = open_dir(tmp);

        /* Deep enough for budget 4 to close ancestors: a failure while they
         * are closed must surface, not restart the walk forever. */
        make_chain(fd, 3, "a", true);
        make_dir(ro, 0700);
        tu_write_file(stuck, "x");
        assert_int_equal(chmod(ro, 0500), 0);

        assert_int_equal(remove_checked(fd, 4, NULL, NULL), -EACCES);
        assert_int_equal(remove_checked(fd, 64, NULL, NULL), -EACCES);
        assert_true(tu_exists(stuck));

        assert_int_equal(chmod(ro, 0700), 0);
        tu_rm_rf(tmp);
}

static void test_mount_inside_is_never_crossed(void **state) {
        (void) state;
        if (!tu_is_root())
                skip();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *mnt = tu_strdupf("%s/sub/mnt", tmp);
        _cleanup_free_ char *sub = tu_strdupf("%s/sub", tmp);
        _cleanup_free_ char *kept = tu_strdupf("%s/sub/mnt/kept", tmp);
        make_dir(sub, 0700);
        make_dir(mnt, 0700);
        if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") < 0) {
                assert_int_equal(errno, EPERM);
                tu_rm_rf(tmp);
                skip();
        }
        tu_write_file(kept, "mounted");

        _cleanup_close_ int fd = open_dir(tmp);
        _cleanup_close_ int sub_fd = open_dir(sub);
        int child = -1;
        int r_child = fs_open_child_dir(sub_fd, "mnt", &child);
        int r = remove_checked(fd, 64, NULL, NULL);
        bool survived = file_has(kept, "mounted");
        assert_int_equal(umount2(mnt, 0), 0);

        assert_int_equal(r_child, -EXDEV);
        assert_int_equal(child, -1);
        assert_int_equal(r, -EXDEV);
        assert_true(survived);
        assert_true(tu_exists(mnt));

        /* Unmounted, the same tree goes. */
        assert_int_equal(remove_checked(fd, 64, NULL, NULL), 0);
        assert_int_equal(count_entries_fd(fd), 0);

        tu_rm_rf(tmp);
}

static void test_bind_mount_of_same_filesystem_is_never_crossed(void **state) {
        (void) state;
        if (!tu_is_root())
                skip();

        /* Same st_dev on both sides: only the mount id tells them apart. */
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *src = tu_strdupf("%s/src", tmp);
        _cleanup_free_ char *src_file = tu_strdupf("%s/src/precious", tmp);
        _cleanup_free_ char *root = tu_strdupf("%s/root", tmp);
        _cleanup_free_ char *bind = tu_strdupf("%s/root/bind", tmp);
        make_dir(src, 0700);
        make_dir(root, 0700);
        make_dir(bind, 0700);
        tu_write_file(src_file, "precious");
        if (mount(src, bind, NULL, MS_BIND, NULL) < 0) {
                assert_int_equal(errno, EPERM);
                tu_rm_rf(tmp);
                skip();
        }

        _cleanup_close_ int fd = open_dir(root);
        int r = remove_checked(fd, 64, NULL, NULL);
        fs_mount_id_force_fallback(1);
        int r_fallback = remove_checked(fd, 64, NULL, NULL);
        fs_mount_id_force_fallback(0);
        bool survived = file_has(src_file, "precious");
        assert_int_equal(umount2(bind, 0), 0);

        assert_int_equal(r, -EXDEV);
        assert_int_equal(r_fallback, -EXDEV);
        assert_true(survived);

        tu_rm_rf(tmp);
}

/* The swap attacker: keeps exchanging tree/sub (a real directory) with a
 * symlink to the victim that waits outside the tree. */
static void swap_attacker(int tree_fd, int out_fd, const char *victim, int ready_fd) {
        unsigned replants = 0;

        (void) !write(ready_fd, "x", 1);
        for (;;) {
                if (renameat2(tree_fd, "sub", out_fd, "swap", RENAME_EXCHANGE) == 0)
                        continue;
                if (errno != ENOENT || replants++ >= 3)
                        _exit(0);
                /* Our symlink was unlinked: plant another one (a few times). */
                (void) symlinkat(victim, tree_fd, "sub");
        }
}

static void make_race_tree(const char *tree) {
        _cleanup_close_ int fd = open_dir(tree);
        _cleanup_close_ int sub = make_subdir(fd, "sub");
        for (int i = 0; i < 4; i++) {
                char name[16];
                snprintf(name, sizeof(name), "d%d", i);
                int dfd = make_subdir(sub, name);
                for (int j = 0; j < 30; j++) {
                        char f[16];
                        snprintf(f, sizeof(f), "f%d", j);
                        int ffd = openat(dfd, f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                        assert_true(ffd >= 0);
                        close(ffd);
                }
                make_chain(dfd, 3, "e", true);
                close(dfd);
        }
}

static bool victim_intact(const char *victim) {
        for (int i = 0; i < 10; i++) {
                _cleanup_free_ char *p = tu_strdupf("%s/v%d", victim, i);
                _cleanup_free_ char *q = tu_strdupf("%s/vd/v%d", victim, i);
                if (!file_has(p, "victim") || !file_has(q, "victim"))
                        return false;
        }
        return count_entries(victim) == 11;
}

/* Empty tree_fd the way a race iteration asks: the single-threaded walk
 * with a roomy or a minimal budget (ancestors then re-entered via ".."), or
 * the parallel one, every subdirectory handed to a worker from the start
 * and, on odd iterations, budgets small enough for the workers' walks to
 * re-enter ancestors too. */
static int remove_for_race(int tree_fd, unsigned iteration, bool parallel) {
        if (!parallel)
                return remove_checked(tree_fd, iteration % 2 ? 4 : 64, NULL, NULL);

        struct rm_opts opts = {
                .max_open_fds = iteration % 2 ? 16 : 64,
                .max_workers = 3,
                .workers_after = 0,
        };
        unsigned before = tu_count_open_fds();
        int r = fs_remove_contents_opts(tree_fd, &opts, NULL);
        assert_int_equal(tu_count_open_fds(), before);
        return r;
}

/* A symlink to the victim keeps being exchanged with tree/sub while the tree
 * is deleted: whatever the timing, nothing of the victim may go. */
static void swap_race(bool parallel) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *victim = tu_strdupf("%s/victim", tmp);
        _cleanup_free_ char *victim_dir = tu_strdupf("%s/victim/vd", tmp);
        unsigned iterations = 0, errors = 0, interfered = 0;

        make_dir(victim, 0700);
        make_dir(victim_dir, 0700);
        for (int i = 0; i < 10; i++) {
                _cleanup_free_ char *p = tu_strdupf("%s/v%d", victim, i);
                _cleanup_free_ char *q = tu_strdupf("%s/v%d", victim_dir, i);
                tu_write_file(p, "victim");
                tu_write_file(q, "victim");
        }

        for (; iterations < 400 && (iterations < 100 || interfered < 25); iterations++) {
                _cleanup_free_ char *iter = tu_strdupf("%s/iter%u", tmp, iterations);
                _cleanup_free_ char *tree = tu_strdupf("%s/tree", iter);
                _cleanup_free_ char *swap = tu_strdupf("%s/swap", iter);
                struct stat st;
                int pipefd[2];
                char c;

                make_dir(iter, 0700);
                make_dir(tree, 0700);
                make_race_tree(tree);
                assert_int_equal(symlink(victim, swap), 0);

                _cleanup_close_ int tree_fd = open_dir(tree);
                _cleanup_close_ int iter_fd = open_dir(iter);
                assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0)
                        swap_attacker(tree_fd, iter_fd, victim, pipefd[1]);
                close(pipefd[1]);
                assert_int_equal(read(pipefd[0], &c, 1), 1);
                close(pipefd[0]);

                int r = remove_for_race(tree_fd, iterations, parallel);

                kill(pid, SIGKILL);
                assert_int_equal(waitpid(pid, NULL, 0), pid);

                assert_true(victim_intact(victim));
                if (r < 0)
                        errors++;
                if (r < 0 || (lstat(swap, &st) == 0 && S_ISDIR(st.st_mode)))
                        interfered++;
                tu_rm_rf(iter); /* FTW_PHYS: never follows the symlinks */
        }
        print_message("swap race%s: %u iterations, %u interfered, %u returned an error\n",
                      parallel ? " (parallel)" : "", iterations, interfered, errors);

        assert_true(victim_intact(victim));
        tu_rm_rf(tmp);
}

static void test_symlink_swapped_in_during_deletion_is_not_followed(void **state) {
        (void) state;
        swap_race(false);
}

static void test_symlink_swapped_in_during_parallel_deletion_is_not_followed(void **state) {
        (void) state;
        swap_race(true);
}

static char *moved_from, *moved_to;
static void move_subtree(void) {
        assert_int_equal(rename(moved_from, moved_to), 0);
}

static void test_moved_ancestor_is_detected(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *root = tu_strdupf("%s/root", tmp);
        _cleanup_free_ char *from = tu_strdupf("%s/root/a/b/c", tmp);
        _cleanup_free_ char *elsewhere = tu_strdupf("%s/elsewhere", tmp);
        _cleanup_free_ char *to = tu_strdupf("%s/elsewhere/c", tmp);
        _cleanup_free_ char *b = tu_strdupf("%s/root/a/b", tmp);
        _cleanup_free_ char *file = tu_strdupf("%s/root/a/b/c/d/file", tmp);
        (void) state;

        make_dir(root, 0700);
        make_dir(elsewhere, 0700);
        _cleanup_close_ int fd = open_dir(root);
        make_chain(fd, 1, "a", false);
        _cleanup_free_ char *a = tu_strdupf("%s/root/a", tmp);
        {
                _cleanup_close_ int afd = open_dir(a);
                make_chain(afd, 1, "b", false);
                _cleanup_close_ int bfd = open_dir(b);
                make_chain(bfd, 1, "c", false);
                _cleanup_free_ char *c = tu_strdupf("%s/c", b);
                _cleanup_close_ int cfd = open_dir(c);
                make_chain(cfd, 1, "d", false);
        }
        tu_write_file(file, "x");

        /* Budget 4: a and b are closed while c/d is worked on.  The hook, run
         * after the first unlink (the file in d), moves c out from under b,
         * so re-entering b via c's ".." finds another directory. */
        moved_from = from;
        moved_to = to;
        struct rm_stats stats;
        int r = remove_checked(fd, 4, &stats, move_subtree);
        moved_from = moved_to = NULL;

        assert_int_equal(r, -ESTALE);
        assert_int_equal(stats.files, 1);
        assert_int_equal(stats.dirs, 1);   /* d only: nothing after the detection */
        assert_true(tu_exists(b));
        assert_true(tu_exists(to));
        assert_int_equal(count_entries(to), 0);

        tu_rm_rf(tmp);
}

static char *replaced_path, *replaced_stash;
static void replace_dir(void) {
        assert_int_equal(rename(replaced_path, replaced_stash), 0);
        assert_int_equal(mkdir(replaced_path, 0700), 0);
}

static void test_directory_replaced_under_its_name_is_not_removed(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *root = tu_strdupf("%s/root", tmp);
        _cleanup_free_ char *a = tu_strdupf("%s/root/a", tmp);
        _cleanup_free_ char *file = tu_strdupf("%s/root/a/file", tmp);
        _cleanup_free_ char *stash = tu_strdupf("%s/stash", tmp);
        (void) state;

        make_dir(root, 0700);
        make_dir(a, 0700);
        tu_write_file(file, "x");

        /* After the file inside a is unlinked, a is moved away and a new
         * empty directory takes its name: that one is not ours to rmdir. */
        replaced_path = a;
        replaced_stash = stash;
        _cleanup_close_ int fd = open_dir(root);
        int r = remove_checked(fd, 64, NULL, replace_dir);
        replaced_path = replaced_stash = NULL;

        assert_int_equal(r, -ESTALE);
        assert_true(tu_exists(a));
        assert_true(tu_exists(stash));

        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Parallel removal                                                         */

/* tops x leaves directories of `files` files each below dir_fd: t<i>/l<j>/f<k>. */
static void make_wide_tree(int dir_fd, unsigned tops, unsigned leaves, unsigned files) {
        for (unsigned i = 0; i < tops; i++) {
                char name[32];
                snprintf(name, sizeof(name), "t%u", i);
                int tfd = make_subdir(dir_fd, name);
                for (unsigned j = 0; j < leaves; j++) {
                        snprintf(name, sizeof(name), "l%u", j);
                        int lfd = make_subdir(tfd, name);
                        for (unsigned k = 0; k < files; k++) {
                                snprintf(name, sizeof(name), "f%u", k);
                                int f = openat(lfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                                assert_true(f >= 0);
                                close(f);
                        }
                        close(lfd);
                }
                close(tfd);
        }
}

static int remove_par_checked(int dir_fd, unsigned max_open_fds, unsigned workers, uint64_t after,
                              struct rm_stats *stats, void (*hook)(void)) {
        struct rm_opts opts = {
                .max_open_fds = max_open_fds,
                .max_workers = workers,
                .workers_after = after,
                .fault_mid_delete = hook,
        };
        unsigned before = tu_count_open_fds();
        int r = fs_remove_contents_opts(dir_fd, &opts, stats);
        assert_int_equal(tu_count_open_fds(), before); /* workers closed all theirs */
        return r;
}

static unsigned count_threads(void) {
        _cleanup_close_ int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return count_entries_fd(fd);
}

static void test_large_tree_is_shared_among_workers_with_exact_stats(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *root = tu_strdupf("%s/root", tmp);
        _cleanup_free_ char *out_file = tu_strdupf("%s/outside-file", tmp);
        _cleanup_free_ char *out_dir = tu_strdupf("%s/outside-dir", tmp);
        _cleanup_free_ char *link_in_leaf = tu_strdupf("%s/root/t3/l1/link-dir", tmp);
        _cleanup_free_ char *link_file = tu_strdupf("%s/root/t5/link-file", tmp);
        struct rm_stats stats;
        (void) state;

        make_dir(root, 0700);
        make_dir(out_dir, 0700);
        tu_write_file(out_file, "outside");
        unsigned threads = count_threads(); /* 1, or 2 with a sanitizer's own */
        _cleanup_close_ int fd = open_dir(root);
        make_wide_tree(fd, 16, 8, 40);
        make_chain(fd, 50, "deep", true);
        assert_int_equal(symlink(out_dir, link_in_leaf), 0);
        assert_int_equal(symlink(out_file, link_file), 0);

        /* Workers from the 256th entry on, 3 at most: more than one is used
         * (each offer finds the others busy, so a new one starts). */
        assert_int_equal(remove_par_checked(fd, 64, 3, 256, &stats, NULL), 0);

        assert_int_equal(count_entries_fd(fd), 0);
        assert_int_equal(stats.files, 16 * 8 * 40 + 50 + 2);
        assert_int_equal(stats.dirs, 16 + 16 * 8 + 50);
        assert_true(stats.workers >= 2);
        assert_true(stats.workers <= 3);
        assert_int_equal(count_threads(), threads); /* all joined */
        assert_true(file_has(out_file, "outside"));
        assert_true(tu_exists(out_dir));

        tu_rm_rf(tmp);
}

static void test_small_tree_starts_no_worker(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct rm_stats stats;
        (void) state;

        for (int i = 0; i < 3; i++) {
                _cleanup_free_ char *p = tu_strdupf("%s/f%d", tmp, i);
                tu_write_file(p, "x");
        }
        _cleanup_close_ int fd = open_dir(tmp);
        assert_int_equal(remove_par_checked(fd, 64, 3, RM_WORKERS_AFTER, &stats, NULL), 0);
        assert_int_equal(stats.files, 3);
        assert_int_equal(stats.workers, 0);

        /* Below the threshold, however many subdirectories there are. */
        make_wide_tree(fd, 10, 10, (RM_WORKERS_AFTER - 110) / 100);
        assert_int_equal(remove_par_checked(fd, 64, 3, RM_WORKERS_AFTER, &stats, NULL), 0);
        assert_true(stats.files + stats.dirs < RM_WORKERS_AFTER);
        assert_int_equal(stats.workers, 0);
        assert_int_equal(count_entries_fd(fd), 0);

        tu_rm_rf(tmp);
}

/* The hook must see the caller's thread alone: in crash tests it kills the
 * process, and whatever it interrupts must be a single-threaded walk. */
static unsigned hook_threads;
static pid_t hook_tid;
static void note_hook_thread(void) {
        fault_calls++;
        hook_threads = count_threads();
        hook_tid = gettid();
}

static void test_fault_hook_runs_once_on_callers_thread_before_any_worker(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct rm_stats stats;
        (void) state;

        _cleanup_close_ int fd = open_dir(tmp);
        make_wide_tree(fd, 8, 8, 30);
        unsigned threads = count_threads();
        fault_calls = 0;
        hook_threads = 0;
        assert_int_equal(remove_par_checked(fd, 64, 3, 1, &stats, note_hook_thread), 0);

        assert_int_equal(fault_calls, 1);
        assert_int_equal(hook_threads, threads);
        assert_int_equal(hook_tid, gettid());
        assert_true(stats.workers >= 1);
        assert_int_equal(stats.files, 8 * 8 * 30);
        assert_int_equal(stats.dirs, 8 + 8 * 8);

        tu_rm_rf(tmp);
}

/* The crash tests' second hook must fire while a worker exists, so that a
 * kill there interrupts a deletion shared among threads; and only then: a
 * small tree never calls it. */
static void test_shared_fault_hook_runs_once_on_callers_thread_after_a_hand_over(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct rm_stats stats;
        (void) state;

        _cleanup_close_ int fd = open_dir(tmp);
        make_wide_tree(fd, 8, 8, 30);
        unsigned threads = count_threads();
        struct rm_opts opts = {
                .max_open_fds = 64,
                .max_workers = 3,
                .workers_after = 1,
                .fault_while_shared = note_hook_thread,
        };
        fault_calls = 0;
        hook_threads = 0;
        assert_int_equal(fs_remove_contents_opts(fd, &opts, &stats), 0);

        assert_int_equal(fault_calls, 1);
        assert_true(hook_threads > threads);
        assert_int_equal(hook_tid, gettid());
        assert_int_equal(stats.files, 8 * 8 * 30);
        assert_int_equal(count_entries_fd(fd), 0);

        make_wide_tree(fd, 2, 2, 3);
        opts.workers_after = RM_WORKERS_AFTER;
        fault_calls = 0;
        assert_int_equal(fs_remove_contents_opts(fd, &opts, &stats), 0);
        assert_int_equal(fault_calls, 0);
        assert_int_equal(stats.workers, 0);

        tu_rm_rf(tmp);
}

/* Wide at the top (subtrees to hand over), deep below (each walk must close
 * and re-enter ancestors to stay within its share). */
static void make_budget_tree(const char *path, unsigned *ret_files, unsigned *ret_dirs) {
        _cleanup_close_ int fd = open_dir(path);

        make_wide_tree(fd, 6, 3, 10);
        for (int i = 0; i < 6; i++) {
                char name[16];
                snprintf(name, sizeof(name), "t%d", i);
                _cleanup_close_ int t = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(t >= 0);
                make_chain(t, 40, "d", true);
        }
        *ret_files = 6 * 3 * 10 + 6 * 40;
        *ret_dirs = 6 + 6 * 3 + 6 * 40;
}

static void test_fd_budget_holds_exactly_with_workers(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        unsigned files, dirs;
        (void) state;

        /* Exactly `budget` free fd numbers: the threads together may not
         * use one more.  Budget 10 gives one worker, 16 two, 22 three. */
        for (unsigned budget = 10; budget <= 22; budget += 6) {
                make_budget_tree(tmp, &files, &dirs);
                assert_int_equal(remove_in_limited_child_par(tmp, 0, budget, 0, 3, 0, files, dirs), 0);
                assert_int_equal(count_entries(tmp), 0);
        }
        /* And with the fdinfo fallback's transient fd in every walk. */
        make_budget_tree(tmp, &files, &dirs);
        assert_int_equal(remove_in_limited_child_par(tmp, 0, 16, 0, 2, 1, files, dirs), 0);
        assert_int_equal(count_entries(tmp), 0);

        /* One worker's share, exactly: budget 10 is 5 for the caller's walk
         * and 5 for the worker.  The root holds a single directory, handed
         * over at once, so the caller's walk waits holding only its root
         * stream, and the worker (the fallback's transient fd included)
         * must fit in the 5 others. */
        {
                _cleanup_close_ int fd = open_dir(tmp);
                _cleanup_close_ int one = make_subdir(fd, "one");
                make_chain(one, 60, "d", true);
        }
        assert_int_equal(remove_in_limited_child_par(tmp, 0, 10, 1 + 5, 1, 1, 60, 61), 0);
        assert_int_equal(count_entries(tmp), 0);

        tu_rm_rf(tmp);
}

/* A directory whose subtree was handed over, then closed for the fd budget
 * while the walk went deep elsewhere, is re-entered via "..": the new
 * stream must not list that subtree while the worker still empties it (two
 * walkers in one subtree would report each other's removals as identity
 * changes).  G holds big directories (slow for a worker) and deep chains
 * (which close G, on a budget of 5 fds for the caller's walk), in whatever
 * order readdir gives them. */
static void test_reentered_directory_waits_for_its_handed_over_subtrees(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct rm_stats stats;
        (void) state;

        _cleanup_close_ int fd = open_dir(tmp);
        for (int round = 0; round < 10; round++) {
                _cleanup_close_ int g = make_subdir(fd, "G");
                make_wide_tree(g, 4, 1, 500);
                for (int i = 0; i < 4; i++) {
                        char name[16];
                        snprintf(name, sizeof(name), "y%d", i);
                        _cleanup_close_ int y = make_subdir(g, name);
                        make_chain(y, 20, "d", true);
                }

                assert_int_equal(remove_par_checked(fd, 10, 1, 1, &stats, NULL), 0);
                assert_int_equal(stats.files, 4 * 500 + 4 * 20);
                assert_int_equal(stats.dirs, 1 + 4 * 2 + 4 + 4 * 20);
                assert_int_equal(count_entries_fd(fd), 0);
        }

        tu_rm_rf(tmp);
}

static void test_directories_below_the_size_gate_are_never_handed_over(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct rm_stats stats;
        (void) state;

        /* Workers allowed from the first entry, but no directory is big
         * enough to be worth one: the caller's thread does it all. */
        _cleanup_close_ int fd = open_dir(tmp);
        make_wide_tree(fd, 8, 4, 10);
        struct rm_opts opts = {
                .max_open_fds = 64,
                .max_workers = 3,
                .offer_min_size = UINT64_MAX,
        };
        assert_int_equal(fs_remove_contents_opts(fd, &opts, &stats), 0);
        assert_int_equal(stats.workers, 0);
        assert_int_equal(stats.files, 8 * 4 * 10);
        assert_int_equal(stats.dirs, 8 + 8 * 4);
        assert_int_equal(count_entries_fd(fd), 0);

        tu_rm_rf(tmp);
}

static void test_budget_too_small_for_a_worker_stays_single_threaded(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        struct rm_stats stats;
        (void) state;

        _cleanup_close_ int fd = open_dir(tmp);
        make_wide_tree(fd, 4, 4, 10);
        /* 9 fds: a worker needs 5 and the caller's walk keeps as many. */
        assert_int_equal(remove_par_checked(fd, 9, 3, 0, &stats, NULL), 0);
        assert_int_equal(stats.workers, 0);
        assert_int_equal(stats.files, 4 * 4 * 10);
        assert_int_equal(count_entries_fd(fd), 0);

        tu_rm_rf(tmp);
}

static void test_mount_inside_a_workers_subtree_is_never_crossed(void **state) {
        (void) state;
        if (!tu_is_root())
                skip();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *root = tu_strdupf("%s/root", tmp);
        _cleanup_free_ char *mnt = tu_strdupf("%s/root/t2/l1/mnt", tmp);
        _cleanup_free_ char *kept = tu_strdupf("%s/root/t2/l1/mnt/kept", tmp);
        _cleanup_free_ char *src = tu_strdupf("%s/src", tmp);
        _cleanup_free_ char *src_file = tu_strdupf("%s/src/precious", tmp);
        _cleanup_free_ char *bind = tu_strdupf("%s/root/t3/l0/bind", tmp);
        struct rm_stats stats;

        make_dir(root, 0700);
        make_dir(src, 0700);
        tu_write_file(src_file, "precious");
        _cleanup_close_ int fd = open_dir(root);
        make_wide_tree(fd, 4, 2, 20);
        make_dir(mnt, 0700);
        make_dir(bind, 0700);
        if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") < 0) {
                assert_int_equal(errno, EPERM);
                tu_rm_rf(tmp);
                skip();
        }
        if (mount(src, bind, NULL, MS_BIND, NULL) < 0) {
                assert_int_equal(errno, EPERM);
                assert_int_equal(umount2(mnt, 0), 0);
                tu_rm_rf(tmp);
                skip();
        }
        tu_write_file(kept, "mounted");
        unsigned threads = count_threads();

        /* Workers from the first entry on, one per top directory: the root
         * holds only the four t<i>, each offered while no worker is idle, so
         * each goes to a worker (a new one, up to 4).  Both mounts are met
         * by workers' walks. */
        int r = remove_par_checked(fd, 64, 4, 0, &stats, NULL);
        bool survived = file_has(kept, "mounted") && file_has(src_file, "precious");
        assert_int_equal(umount2(bind, 0), 0);
        assert_int_equal(umount2(mnt, 0), 0);

        assert_int_equal(r, -EXDEV);
        assert_true(survived);
        assert_true(stats.workers >= 1);
        assert_true(tu_exists(mnt));
        assert_true(tu_exists(bind));
        assert_int_equal(count_threads(), threads);

        /* Unmounted, the same tree goes. */
        assert_int_equal(remove_par_checked(fd, 64, 4, 0, &stats, NULL), 0);
        assert_int_equal(count_entries_fd(fd), 0);
        assert_true(file_has(src_file, "precious"));

        tu_rm_rf(tmp);
}

/* A crash (SIGKILL) while workers are deleting leaves a partly deleted tree:
 * half-emptied subtrees, emptied directories not yet removed.  Recovery
 * runs the deletion again on it; that must finish the job. */
static void test_deletion_killed_while_workers_run_can_be_finished(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *task = NULL;
        struct rm_stats stats;
        unsigned threads = 0;
        bool had_workers = false;
        int pipefd[2];
        (void) state;

        _cleanup_close_ int fd = open_dir(tmp);
        make_wide_tree(fd, 20, 10, 100);

        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* Say how many threads there are before any worker (a
                 * sanitizer may run one of its own). */
                threads = count_threads();
                if (write(pipefd[1], &threads, sizeof(threads)) != sizeof(threads))
                        _exit(100);
                struct rm_opts opts = { .max_open_fds = 64, .max_workers = 2, .workers_after = 100 };
                _exit(fs_remove_contents_opts(fd, &opts, NULL) < 0);
        }
        close(pipefd[1]);
        assert_int_equal(read(pipefd[0], &threads, sizeof(threads)), sizeof(threads));
        close(pipefd[0]);

        /* Kill it as soon as a worker thread shows up. */
        task = tu_strdupf("/proc/%d/task", (int) pid);
        for (int i = 0; i < 200000 && !had_workers; i++) {
                _cleanup_close_ int tfd = open(task, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (tfd < 0)
                        break;
                had_workers = count_entries_fd(tfd) > threads;
        }
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(had_workers);
        assert_true(WIFSIGNALED(status));
        assert_true(count_entries_fd(fd) > 0); /* killed mid-way, not after */

        assert_int_equal(remove_par_checked(fd, 64, 2, RM_WORKERS_AFTER, &stats, NULL), 0);
        assert_int_equal(count_entries_fd(fd), 0);
        assert_true(stats.files > 0 && stats.files < 20 * 10 * 100);

        tu_rm_rf(tmp);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_normalize_collapses_dots_and_slashes),
                cmocka_unit_test(test_path_normalize_rejects_empty_and_unanchored),
                cmocka_unit_test(test_path_split_gives_parent_and_last_component),
                cmocka_unit_test(test_path_is_ancestor_or_self_compares_whole_components),
                cmocka_unit_test(test_symlink_component_is_refused_even_to_trusted_dir),
                cmocka_unit_test(test_group_writable_non_sticky_parent_is_refused),
                cmocka_unit_test(test_tmp_is_shared_sticky),
                cmocka_unit_test(test_read_dir_accepts_root_owned_and_refuses_shared_sticky),
                cmocka_unit_test(test_read_dir_refuses_group_writable_final_dir),
                cmocka_unit_test(test_read_dir_follows_own_symlinks_to_trusted_dirs),
                cmocka_unit_test(test_read_dir_checks_what_a_symlink_leads_to),
                cmocka_unit_test(test_read_dir_refuses_a_symlink_owned_by_another_user),
                cmocka_unit_test(test_private_dir_is_trusted_private_and_readable),
                cmocka_unit_test(test_unnormalized_or_relative_path_is_rejected),
                cmocka_unit_test(test_missing_or_non_dir_component_is_reported),
                cmocka_unit_test(test_search_only_component_can_be_walked),
                cmocka_unit_test(test_dir_not_owned_by_requested_uid_is_refused),
                cmocka_unit_test(test_dir_chowned_to_other_uid_is_refused),
                cmocka_unit_test(test_foreign_owned_sticky_dir_is_refused),
                cmocka_unit_test(test_own_world_writable_sticky_dir_is_refused_for_non_root),
                cmocka_unit_test(test_mkdir_p_creates_missing_components_0700),
                cmocka_unit_test(test_mkdir_p_creates_nothing_in_untrusted_parent),
                cmocka_unit_test(test_mount_id_statx_and_fdinfo_agree),
                cmocka_unit_test(test_fdinfo_mnt_id_parser_is_strict),
                cmocka_unit_test(test_open_child_dir_refuses_symlinks_and_paths),
                cmocka_unit_test(test_mixed_tree_is_removed_and_outside_targets_survive),
                cmocka_unit_test(test_o_path_root_fd_is_accepted),
                cmocka_unit_test(test_too_small_fd_budget_is_rejected_before_deleting),
                cmocka_unit_test(test_unreadable_mount_id_refuses_to_delete),
                cmocka_unit_test(test_fault_hook_runs_once_after_first_unlink),
                cmocka_unit_test(test_deep_tree_beyond_fd_limit_is_removed),
                cmocka_unit_test(test_fd_budget_holds_exactly_with_fdinfo_fallback),
                cmocka_unit_test(test_path_longer_than_path_max_is_removed),
                cmocka_unit_test(test_wide_tree_with_small_budget_is_fully_removed),
                cmocka_unit_test(test_undeletable_entry_fails_instead_of_looping),
                cmocka_unit_test(test_mount_inside_is_never_crossed),
                cmocka_unit_test(test_bind_mount_of_same_filesystem_is_never_crossed),
                cmocka_unit_test(test_symlink_swapped_in_during_deletion_is_not_followed),
                cmocka_unit_test(test_symlink_swapped_in_during_parallel_deletion_is_not_followed),
                cmocka_unit_test(test_moved_ancestor_is_detected),
                cmocka_unit_test(test_directory_replaced_under_its_name_is_not_removed),
                cmocka_unit_test(test_large_tree_is_shared_among_workers_with_exact_stats),
                cmocka_unit_test(test_small_tree_starts_no_worker),
                cmocka_unit_test(test_fault_hook_runs_once_on_callers_thread_before_any_worker),
                cmocka_unit_test(test_shared_fault_hook_runs_once_on_callers_thread_after_a_hand_over),
                cmocka_unit_test(test_fd_budget_holds_exactly_with_workers),
                cmocka_unit_test(test_reentered_directory_waits_for_its_handed_over_subtrees),
                cmocka_unit_test(test_directories_below_the_size_gate_are_never_handed_over),
                cmocka_unit_test(test_budget_too_small_for_a_worker_stays_single_threaded),
                cmocka_unit_test(test_mount_inside_a_workers_subtree_is_never_crossed),
                cmocka_unit_test(test_deletion_killed_while_workers_run_can_be_finished),
        };

        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
