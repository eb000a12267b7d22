/* SPDX-License-Identifier: MIT */
/*
 * inuse, lsof backend.  Three parts:
 *  - the -F0 parser, fed crafted output: what is held is BUSY, what lsof
 *    could not say exactly or completely is never FREE;
 *  - the real lsof (skipped when no trusted lsof is installed): children
 *    holding things inside tu_mkdtemp() directories are named;
 *  - how lsof is found and run: only from trusted system directories, with
 *    a minimal environment and no inherited fds, killed when it hangs, and
 *    any failure answering UNKNOWN (fake lsof scripts stand in for it).
 * Runs as root (in a pid namespace of its own, see main()) and as an
 * unprivileged user; root-only cases skip.
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
#include <sys/stat.h>
#include <time.h>

#include "buildconf.h"
#include "inuse-backend.h"
#include "inuse.h"
#include "testutil.h"
#include "util.h"

#define SELF 4242
#define LSOF 4343
#define UID 1000

/* C string literals with NULs in them: (pointer, length). */
#define OUT(lit) lit, sizeof(lit) - 1

/* The scanning process's own set, which every complete output contains;
 * it holds /w/self (which must not count). */
#define SELF_SET "p4242\0cephemdir\0u1000\0\n" "fcwd\0n/w/self\0\n"

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */

struct answer {
        enum inuse_verdict verdict;
        pid_t pid;
        char comm[INUSE_COMM_MAX];
};

static struct inuse_snapshot *parse_as(const char *out, size_t len, uid_t uid) {
        struct inuse_snapshot *s = NULL;

        assert_int_equal(inuse_snapshot_new(&s), 0);
        assert_int_equal(inuse_lsof_parse(s, out, len, uid, SELF, LSOF), 0);
        inuse_snapshot_seal(s);
        return s;
}

static struct answer ask(const struct inuse_snapshot *s, const char *path) {
        struct answer a = { .pid = -1, .comm = "untouched" };

        a.verdict = inuse_check(s, &path, 1, &a.pid, a.comm);
        return a;
}

/* What one path must get from a snapshot. */
struct expect {
        const char *path;
        enum inuse_verdict verdict;
        pid_t pid;
        const char *comm; /* the holder named; NULL: not checked */
};

#define BUSY(path, pid, comm) { (path), INUSE_BUSY, (pid), (comm) }
#define FREE(path) { (path), INUSE_FREE, 0, NULL }
#define UNKNOWN(path, pid, comm) { (path), INUSE_UNKNOWN, (pid), (comm) }
#define UNKNOWN_NAMING_ANYONE(path) { (path), INUSE_UNKNOWN, 0, NULL }

static void assert_answer(const struct inuse_snapshot *s, const struct expect *e) {
        struct answer a = ask(s, e->path);

        if (a.verdict != e->verdict)
                fail_msg("%s: %s (pid %d %s), expected %s", e->path, inuse_verdict_word(a.verdict), (int) a.pid,
                         a.comm, inuse_verdict_word(e->verdict));
        if (e->comm && (a.pid != e->pid || !streq(a.comm, e->comm)))
                fail_msg("%s: %s by pid %d %s, expected pid %d %s", e->path, inuse_verdict_word(a.verdict),
                         (int) a.pid, a.comm, (int) e->pid, e->comm);
}

/* The snapshot's own account of itself, where a case says. */
enum { CHECK_COMPLETE = 1 << 0, CHECK_PROCESSES = 1 << 1, CHECK_HIDDEN = 1 << 2 };
struct expect_stats {
        unsigned check; /* CHECK_*: which of the fields below */
        bool complete;
        size_t processes;
        size_t hidden;
};

#define MAX_EXPECT 16

/* One piece of lsof -F0 output and what it must answer. */
struct parse_case {
        const char *name; /* the test's name, as cmocka reports it */
        const char *out;
        size_t len;
        bool as_root; /* parsed for uid 0 (every process its own), else UID */
        struct expect expect[MAX_EXPECT]; /* up to the first without a path */
        struct expect_stats stats;
};

#define GARBLED(what, lit) \
        { "test_garbled_output_is_unknown: " what, OUT(lit), .expect = { UNKNOWN_NAMING_ANYONE("/w") } }

static const struct parse_case parse_cases[] = {
        {
                "test_every_kind_of_entry_makes_its_directory_busy",
                OUT("p100\0cholder\0u1000\0\n"
                    "fcwd\0n/w/cwd/sub\0\n"
                    "frtd\0n/w/root\0\n"
                    "ftxt\0n/w/txt/prog\0\n"
                    "fmem\0n/w/mem/lib.so\0\n"
                    "fDEL\0n/w/del/mapped\0\n"
                    "f3\0n/w/fd/file\0\n"
                    "f4\0n/w/dir\0\n"
                    SELF_SET),
                .expect = {
                        BUSY("/w/cwd", 100, "holder"),
                        BUSY("/w/cwd/sub", 100, "holder"),
                        BUSY("/w/root", 100, "holder"),
                        BUSY("/w/txt", 100, "holder"),
                        BUSY("/w/mem", 100, "holder"),
                        BUSY("/w/del", 100, "holder"),
                        BUSY("/w/fd", 100, "holder"),
                        BUSY("/w/dir", 100, "holder"),
                        BUSY("/w", 100, "holder"),
                        FREE("/w/other"),
                        FREE("/w/di"),       /* whole components only */
                        FREE("/w/dir/below"), /* held is /w/dir itself */
                },
                /* ourselves not counted */
                .stats = { .check = CHECK_COMPLETE | CHECK_PROCESSES, .complete = true, .processes = 1 },
        },
        {
                "test_name_with_spaces_matches_exactly",
                OUT("p100\0cholder\0u1000\0\n"
                    "fcwd\0n/\0\n"
                    "f3\0n/w/a b/c d\0\n"
                    SELF_SET),
                .expect = {
                        BUSY("/w/a b", 100, "holder"),
                        BUSY("/w/a b/c d", 100, "holder"),
                        FREE("/w/a"),
                        FREE("/w/a b/c"),
                },
        },
        /* " (deleted)", " (path dev=..)" and the like follow the path: the
         * path itself must still match, also for a deleted working
         * directory. */
        {
                "test_deleted_or_annotated_name_still_matches_its_path",
                OUT("p100\0cholder\0u1000\0\n"
                    "fcwd\0n/w/gone (deleted)\0\n"
                    "fmem\0n/w/lib/x.so (path dev=8,1, inode=77)\0\n"
                    "f3\0n/w/file (1)\0\n"
                    SELF_SET),
                .expect = {
                        BUSY("/w/gone", 100, "holder"),
                        BUSY("/w/lib/x.so", 100, "holder"),
                        BUSY("/w/file (1)", 100, "holder"),
                        /* A real "(1)" cannot be told from a note: the
                         * cut-off name counts too.  Deferring a sibling is
                         * the price; never a false FREE. */
                        BUSY("/w/file", 100, "holder"),
                        FREE("/w/gone2"),
                },
        },
        {
                "test_names_that_are_not_paths_are_ignored",
                OUT("p100\0cholder\0u1000\0\n"
                    "fcwd\0n/\0\n"
                    "f3\0npipe\0\n"
                    "f4\0nsocket:[1234]\0\n"
                    "f5\0nanon_inode:[eventfd]\0\n"
                    "ftxt\0nmemfd:x (deleted)\0\n"
                    "f6\0nlocalhost:22->localhost:4000 (ESTABLISHED)\0\n"
                    "f7\0n\0\n"
                    "f8\0\n" /* no name at all */
                    SELF_SET),
                .expect = {
                        FREE("/w"),
                        BUSY("/", 100, "holder"), /* its cwd */
                },
        },
        /* lsof prints "\n", "\x7f", "^A" for unprintable bytes, and '^' and
         * '\' also as themselves: beyond the first of them a name is not
         * certain. */
        {
                "test_escaped_name_is_never_free",
                OUT("p100\0cholder\0u1000\0\n"
                    "fcwd\0n/\0\n"
                    "f3\0n/w/a\\nb/file\0\n"
                    "f4\0n/w/c^Jd\0\n"
                    "f5\0n/w/caf\\xc3\\xa9/x\0\n"
                    SELF_SET),
                .expect = {
                        UNKNOWN("/w/a\nb", 100, "holder"),  /* what "\n" stands for */
                        UNKNOWN("/w/a\\nb", 100, "holder"), /* or a literal backslash (older lsof) */
                        UNKNOWN("/w/c\nd", 100, "holder"),
                        UNKNOWN("/w/c^Jd", 100, "holder"),
                        UNKNOWN("/w/caf\xc3\xa9", 100, "holder"),
                        BUSY("/w", 100, "holder"), /* certainly below /w */
                        FREE("/w/zz"),             /* certainly not there */
                        FREE("/w/b"),
                },
        },
        /* BSD lsof prints "<mount point> (<device>)" when it knows the file
         * system but not the path: the file may be anywhere below. */
        {
                "test_mount_point_name_means_somewhere_below",
                OUT("p100\0cholder\0u1000\0\n"
                    "fcwd\0n/\0\n"
                    "f3\0n/mnt/vol (/dev/sda1)\0\n"
                    SELF_SET),
                .expect = {
                        UNKNOWN("/mnt/vol/x", 100, "holder"),
                        BUSY("/mnt/vol", 100, "holder"),
                        BUSY("/mnt", 100, "holder"),
                        FREE("/mnt/other"),
                        FREE("/w"),
                },
        },
        {
                "test_mount_point_name_means_somewhere_below: the root file system",
                OUT("p100\0cholder\0u1000\0\n"
                    "fcwd\0n/\0\n"
                    "f3\0n/ (/dev/root)\0\n"
                    SELF_SET),
                .expect = { UNKNOWN("/w", 100, "holder") },
        },
        GARBLED("file set before any process", "fcwd\0n/\0\n" SELF_SET),
        GARBLED("unknown set", SELF_SET "x1\0\n"),
        GARBLED("raw newline in a name", SELF_SET "p100\0\nfcwd\0n/w/a\nb\0\n"),
        GARBLED("pid not a number", SELF_SET "p1x\0\nfcwd\0n/\0\n"),
        GARBLED("pid zero", SELF_SET "p0\0\nfcwd\0n/\0\n"),
        GARBLED("negative pid", SELF_SET "p-5\0\nfcwd\0n/\0\n"),
        GARBLED("uid not a number", SELF_SET "p100\0u-1\0\nfcwd\0n/\0\n"),
        GARBLED("empty set", SELF_SET "\n"),
        GARBLED("newline-terminated fields (-F without 0)", "p4242\ncephemdir\nfcwd\nn/\n"),
        GARBLED("too many fields", SELF_SET "p100\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0\n"),
        GARBLED("nothing at all", ""),
        /* Without ourselves in it, the output cannot be the whole picture
         * (another pid namespace, an lsof that gave up early, a fake). */
        {
                "test_output_not_listing_the_scanning_process_is_unknown",
                OUT("p100\0cholder\0u1000\0\n"
                    "fcwd\0n/w/held\0\n"),
                .expect = {
                        UNKNOWN("/w/free", 0, "lsof"),
                        BUSY("/w/held", 100, "holder"), /* BUSY wins over a gap */
                },
        },
        /* lsof drops an entry whose path it cannot read (too long) silently
         * with -w, which is why it runs without; a process of ours without
         * any cwd entry still means something was dropped. */
        {
                "test_own_process_without_cwd_entry_is_unknown_naming_it",
                OUT("p100\0cholder\0u1000\0\n"
                    "f3\0n/w/file\0\n"
                    SELF_SET),
                .expect = { UNKNOWN("/w/free", 100, "holder") },
        },
        /* Another user's process: not ours to see (as in the /proc scan). */
        {
                "test_own_process_without_cwd_entry_is_unknown_naming_it: another user's is not ours to see",
                OUT("p100\0cholder\0u2000\0\n"
                    "f3\0n/x\0\n"
                    SELF_SET),
                .expect = { FREE("/w/free") },
        },
        /* Root: every process is its own. */
        {
                "test_own_process_without_cwd_entry_is_unknown_naming_it: as root every process is its own",
                OUT("p100\0cholder\0u2000\0\n"
                    "f3\0n/x\0\n"
                    SELF_SET),
                .as_root = true,
                .expect = { UNKNOWN("/w/free", 100, "holder") },
        },
        {
                "test_unreadable_entry_of_own_process_is_a_gap_unless_refused_or_vanished",
                OUT("p100\0cholder\0u1000\0\n"
                    "fcwd\0n/proc/100/cwd (readlink: File name too long)\0\n"
                    SELF_SET),
                .expect = { UNKNOWN("/w", 100, "holder") },
        },
        /* Refused: how the kernel hides a non-dumpable process: counted. */
        {
                "test_unreadable_entry_of_own_process_is_a_gap_unless_refused_or_vanished: refused or vanished",
                OUT("p100\0cagent\0u1000\0\n"
                    "fcwd\0n/proc/100/cwd (readlink: Permission denied)\0\n"
                    "fNOFD\0n/proc/100/fd (opendir: Permission denied)\0\n"
                    "p101\0cgone\0u1000\0\n"
                    "fcwd\0n/proc/101/cwd (readlink: No such file or directory)\0\n"
                    SELF_SET),
                .expect = { FREE("/w") },
                .stats = { .check = CHECK_COMPLETE | CHECK_HIDDEN, .complete = true, .hidden = 1 },
        },
        /* Another user's process failing is outside what we can see. */
        {
                "test_unreadable_entry_of_own_process_is_a_gap_unless_refused_or_vanished: another user's",
                OUT("p100\0cholder\0u2000\0\n"
                    "fcwd\0n/proc/100/cwd (readlink: Input/output error)\0\n"
                    SELF_SET),
                .expect = { FREE("/w") },
        },
        {
                "test_scanning_process_and_lsof_itself_do_not_count",
                OUT("p4343\0clsof\0u1000\0\n"
                    "fcwd\0n/w/lsof-cwd\0\n"
                    SELF_SET
                    "f3\0n/w/self-file\0\n"),
                .expect = {
                        FREE("/w/self"),
                        FREE("/w/self-file"),
                        FREE("/w/lsof-cwd"),
                },
        },
        /* Without -Ki (not Linux) a process may come once per thread. */
        {
                "test_repeated_process_sets_are_fine",
                OUT("p100\0cholder\0u1000\0\n"
                    "fcwd\0n/w/a\0\n"
                    "p100\0cholder\0u1000\0\n"
                    "fcwd\0n/w/a\0\n"
                    SELF_SET),
                .expect = {
                        BUSY("/w/a", 100, "holder"),
                        FREE("/w/b"),
                },
        },
};

/* The test behind every parse_cases row (its state). */
static void test_parse_case(void **state) {
        const struct parse_case *c = *state;
        struct inuse_snapshot *s = parse_as(c->out, c->len, c->as_root ? 0 : UID);

        for (size_t i = 0; i < MAX_EXPECT && c->expect[i].path; i++)
                assert_answer(s, &c->expect[i]);

        struct inuse_stats st;
        inuse_snapshot_stats(s, &st);
        if (c->stats.check & CHECK_COMPLETE)
                assert_int_equal(st.complete, c->stats.complete);
        if (c->stats.check & CHECK_PROCESSES)
                assert_int_equal(st.processes, c->stats.processes);
        if (c->stats.check & CHECK_HIDDEN)
                assert_int_equal(st.hidden, c->stats.hidden);
        inuse_snapshot_free(s);
}

/* lsof killed mid-output: a cut inside a set is seen, and the answer is
 * UNKNOWN where it is not BUSY; what was read before the cut stays BUSY.
 * (A cut right at a set's end looks whole: the exit status catches that,
 * see test_failing_or_missing_lsof_is_unknown_and_a_clean_exit_1_is_not.) */
#define CUT_HEAD SELF_SET "p100\0cholder\0u1000\0\n" "fcwd\0n/w/held\0\n"
static void test_output_cut_off_inside_a_set_is_never_free(void **state) {
        (void) state;
        static const char head[] = CUT_HEAD;
        static const char out[] = CUT_HEAD "p101\0cother\0u1000\0\n" "fcwd\0n/\0\n" "f3\0n/w/late\0\n";
        static const struct expect held = BUSY("/w/held", 100, "holder");
        const size_t full = sizeof(out) - 1;

        for (size_t cut = 1; cut < full; cut++) {
                if (out[cut - 1] == '\n')
                        continue; /* a set boundary */
                struct inuse_snapshot *s = parse_as(out, cut, UID);
                struct answer a = ask(s, "/w/free");
                if (a.verdict != INUSE_UNKNOWN)
                        fail_msg("cut at %zu of %zu: %s", cut, full, inuse_verdict_word(a.verdict));
                assert_int_equal(a.pid, 0);
                assert_string_equal(a.comm, "lsof");
                assert_int_not_equal(ask(s, "/w/late").verdict, INUSE_FREE);
                if (cut >= sizeof(head) - 1)
                        assert_answer(s, &held);
                inuse_snapshot_free(s);
        }

        static const struct expect whole[] = { FREE("/w/free"), BUSY("/w/late", 101, "other") };
        struct inuse_snapshot *s = parse_as(out, full, UID);
        for (size_t i = 0; i < ELEMENTSOF(whole); i++)
                assert_answer(s, &whole[i]);
        inuse_snapshot_free(s);
}

/* ------------------------------------------------------------------------ */
/* Fixtures: children holding things, fake lsof scripts                     */

#define DEEP_NAME "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define DEEP_LEVELS 24 /* 24 * 201 bytes: well past PATH_MAX */

/* A working directory whose path is longer than PATH_MAX: readlink() of
 * its cwd fails, and lsof cannot name it. */
static bool hold_cwd_too_deep(const char *path) {
        if (chdir(path) < 0)
                return false;
        for (unsigned i = 0; i < DEEP_LEVELS; i++)
                if ((mkdir(DEEP_NAME, 0700) < 0 && errno != EEXIST) || chdir(DEEP_NAME) < 0)
                        return false;
        return true;
}

/* The same depth, but only an open file down there; cwd back at "/". */
static bool hold_fd_too_deep(const char *path) {
        return hold_cwd_too_deep(path) && open("file", O_RDONLY | O_CREAT | O_CLOEXEC, 0600) >= 0 &&
               chdir("/") == 0;
}

/* rm -rf of the DEEP_LEVELS chain, bottom up through dir fds (paths that
 * long cannot be handed to unlink). */
static void remove_deep_chain(const char *base) {
        int fds[DEEP_LEVELS + 1];

        fds[0] = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fds[0] >= 0);
        unsigned n = 0;
        while (n < DEEP_LEVELS && (fds[n + 1] = openat(fds[n], DEEP_NAME, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
                n++;
        unlinkat(fds[n], "file", 0);
        for (unsigned i = n; i > 0; i--) {
                close(fds[i]);
                unlinkat(fds[i - 1], DEEP_NAME, AT_REMOVEDIR);
        }
        close(fds[0]);
}

static bool have_system_lsof(void) {
        _cleanup_free_ char *path = NULL;
        int fd = -1;

        if (inuse_lsof_resolve(inuse_lsof_system_dirs, &fd, &path) < 0)
                return false;
        close(fd);
        return true;
}

#define REQUIRE_LSOF()                                                          \
        do {                                                                    \
                if (!have_system_lsof()) {                                      \
                        print_message("no trusted lsof installed: skipped\n");  \
                        skip();                                                 \
                }                                                               \
        } while (0)

/* One snapshot through lsof (the system's, or program). */
static struct inuse_snapshot *lsof_snapshot(const char *program, int timeout_ms) {
        const struct inuse_lsof_opts opts = { .program = program, .timeout_ms = timeout_ms };
        struct inuse_snapshot *s = NULL;

        assert_int_equal(inuse_snapshot_new(&s), 0);
        assert_int_equal(inuse_lsof_scan(s, getuid(), &opts), 0);
        inuse_snapshot_seal(s);
        return s;
}

static struct answer lsof_ask(const char *path) {
        struct inuse_snapshot *s = lsof_snapshot(NULL, 0);
        struct answer a = ask(s, path);
        inuse_snapshot_free(s);
        return a;
}

static void assert_lsof_busy_by(const char *path, pid_t pid) {
        struct answer a = lsof_ask(path);
        if (a.verdict != INUSE_BUSY)
                fail_msg("%s: %s (pid %d %s), expected in use by %d", path, inuse_verdict_word(a.verdict),
                         (int) a.pid, a.comm, (int) pid);
        assert_int_equal(a.pid, pid);
        assert_string_equal(a.comm, TU_HOLDER_COMM);
}

static void assert_lsof_free(const char *path) {
        struct answer a = lsof_ask(path);
        if (a.verdict != INUSE_FREE)
                fail_msg("%s: %s (pid %d %s), expected free", path, inuse_verdict_word(a.verdict),
                         (int) a.pid, a.comm);
}

/* An executable script in dir; returns its malloc'd path. */
static char *write_script(const char *dir, const char *name, const char *body) {
        char *path = tu_strdupf("%s/%s", dir, name);
        _cleanup_free_ char *text = tu_strdupf("#!/bin/sh\n%s", body);

        tu_write_file(path, text);
        assert_int_equal(chmod(path, 0755), 0);
        return path;
}

/* What a fake prints to look like a complete lsof run: our own set. */
#define FAKE_SELF "printf 'p%s\\0cephemdir\\0\\nfcwd\\0n/\\0\\n' \"$PPID\"\n"

/* ------------------------------------------------------------------------ */
/* The real lsof                                                            */

static void test_lsof_sees_open_file_cwd_mapping_and_unlinked_file(void **state) {
        REQUIRE_LSOF();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *file = tu_strdupf("%s/file", tmp);
        _cleanup_free_ char *sub = tu_strdupf("%s/sub", tmp);
        _cleanup_free_ char *gone = tu_strdupf("%s/gone", tmp);
        (void) state;

        tu_write_file(file, "some data to map");
        tu_write_file(gone, "x");
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_lsof_free(tmp);

        static const tu_hold_fn holds[] = { tu_hold_open, tu_hold_cwd, tu_hold_mapping_only, tu_hold_open };
        const char *const targets[] = { file, sub, file, gone };
        for (size_t i = 0; i < ELEMENTSOF(holds); i++) {
                pid_t pid = tu_spawn_holder(holds[i], targets[i]);
                if (targets[i] == gone)
                        assert_int_equal(unlink(gone), 0); /* now "<gone> (deleted)" */
                assert_lsof_busy_by(tmp, pid);
                tu_reap(pid);
                assert_lsof_free(tmp);
        }
        tu_rm_rf(tmp);
}

static void test_lsof_sees_root_directory(void **state) {
        (void) state;

        REQUIRE_LSOF();
        if (!tu_is_root())
                skip(); /* chroot needs CAP_SYS_CHROOT */
        _cleanup_free_ char *tmp = tu_mkdtemp();
        pid_t pid = tu_spawn_holder(tu_hold_root, tmp);
        assert_lsof_busy_by(tmp, pid);
        tu_reap(pid);
        assert_lsof_free(tmp);
        tu_rm_rf(tmp);
}

/* With -w lsof would leave these out without a word: a false FREE. */
static void test_path_too_deep_for_lsof_to_name_is_unknown(void **state) {
        (void) state;

        REQUIRE_LSOF();
        static const tu_hold_fn holds[] = { hold_cwd_too_deep, hold_fd_too_deep };
        for (size_t i = 0; i < ELEMENTSOF(holds); i++) {
                _cleanup_free_ char *tmp = tu_mkdtemp();
                pid_t pid = tu_spawn_holder(holds[i], tmp);
                struct answer a = lsof_ask(tmp);
                tu_reap(pid);
                remove_deep_chain(tmp);
                tu_rm_rf(tmp);

                if (a.verdict != INUSE_UNKNOWN)
                        fail_msg("case %zu: %s", i, inuse_verdict_word(a.verdict));
                assert_int_equal(a.pid, pid);
                assert_string_equal(a.comm, TU_HOLDER_COMM);
        }
}

static void test_lsof_name_with_newline_is_never_free(void **state) {
        REQUIRE_LSOF();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *dir = tu_strdupf("%s/new\nline", tmp);
        (void) state;

        assert_int_equal(mkdir(dir, 0700), 0);
        pid_t pid = tu_spawn_holder(tu_hold_cwd, dir);

        struct answer a = lsof_ask(dir);
        assert_int_equal(a.verdict, INUSE_UNKNOWN);
        assert_int_equal(a.pid, pid);
        assert_lsof_busy_by(tmp, pid);
        tu_reap(pid);
        assert_lsof_free(dir);
        tu_rm_rf(tmp);
}

/* lsof runs in C.UTF-8: UTF-8 names come out as they are, and match. */
static void test_lsof_utf8_name_matches_exactly(void **state) {
        REQUIRE_LSOF();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *dir = tu_strdupf("%s/caf\xc3\xa9 \xe2\x9c\x93", tmp);
        _cleanup_free_ char *sibling = tu_strdupf("%s/caf\xc3\xa9", tmp);
        (void) state;

        assert_int_equal(mkdir(dir, 0700), 0);
        pid_t pid = tu_spawn_holder(tu_hold_cwd, dir);
        assert_lsof_busy_by(dir, pid);
        assert_lsof_free(sibling);
        tu_reap(pid);
        tu_rm_rf(tmp);
}

static void test_lsof_scanning_process_own_holdings_do_not_count(void **state) {
        REQUIRE_LSOF();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *file = tu_strdupf("%s/file", tmp);
        (void) state;

        struct tu_self_holdings held;
        tu_write_file(file, "held by the test process itself");
        tu_self_hold_begin(&held, tmp, file);

        /* lsof itself starts in "/", not in our cwd: it holds nothing here. */
        struct answer a = lsof_ask(tmp);

        tu_self_hold_end(&held);
        assert_int_equal(a.verdict, INUSE_FREE);
        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Finding lsof                                                             */

static void test_lsof_is_resolved_from_system_dirs_ignoring_PATH(void **state) {
        REQUIRE_LSOF();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *marker = tu_strdupf("%s/ran", tmp);
        _cleanup_free_ char *body = tu_strdupf("touch %s\n%s", marker, FAKE_SELF);
        _cleanup_free_ char *fake = write_script(tmp, "lsof", body);
        _cleanup_free_ char *old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *new_path = tu_strdupf("%s:%s", tmp, old_path ? old_path : "/usr/bin:/bin");
        int fd = -1;
        (void) state;

        assert_int_equal(setenv("PATH", new_path, 1), 0);

        assert_int_equal(inuse_lsof_resolve(inuse_lsof_system_dirs, &fd, &path), 0);
        bool system_dir = false;
        for (size_t i = 0; inuse_lsof_system_dirs[i]; i++) {
                _cleanup_free_ char *candidate = tu_strdupf("%s/lsof", inuse_lsof_system_dirs[i]);
                system_dir |= streq(path, candidate);
        }
        assert_true(system_dir);
        close(fd);

        struct inuse_snapshot *s = lsof_snapshot(NULL, 0);
        struct inuse_stats st;
        inuse_snapshot_stats(s, &st);
        inuse_snapshot_free(s);

        if (old_path)
                assert_int_equal(setenv("PATH", old_path, 1), 0);
        assert_false(tu_exists(marker)); /* the one on PATH never ran */
        assert_true(st.processes > 0);
        tu_rm_rf(tmp);
}

/* A directory others can write to could have had "lsof" swapped in: it is
 * never run from there.  (Not root: a directory of ours is just as
 * untrusted -- lsof runs with our rights, but must be root's.) */
static void test_lsof_in_a_group_writable_directory_is_refused(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *fake = write_script(tmp, "lsof", FAKE_SELF);
        const char *dirs[] = { tmp, NULL };
        _cleanup_free_ char *path = NULL;
        int fd = -1;
        (void) state;

        assert_int_equal(chmod(tmp, 0775), 0);
        assert_int_equal(inuse_lsof_resolve(dirs, &fd, &path), -EPERM);
        assert_int_equal(fd, -1);
        assert_null(path);

        /* An untrusted candidate does not stop a trusted one further on. */
        if (have_system_lsof()) {
                const char *both[] = { tmp, "/usr/sbin", "/usr/bin", NULL };
                assert_int_equal(inuse_lsof_resolve(both, &fd, &path), 0);
                assert_false(strncmp(path, tmp, strlen(tmp)) == 0);
                close(fd);
        }

        if (tu_is_root()) { /* the control: the same, but root's alone */
                _cleanup_free_ char *ok_path = NULL;
                assert_int_equal(chmod(tmp, 0755), 0);
                assert_int_equal(inuse_lsof_resolve(dirs, &fd, &ok_path), 0);
                assert_string_equal(ok_path, fake);
                close(fd);
        }
        tu_rm_rf(tmp);
}

static void test_lsof_file_others_can_change_or_symlinked_is_refused(void **state) {
        if (!tu_is_root())
                skip(); /* a root-owned directory to put it in */

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *fake = write_script(tmp, "lsof", FAKE_SELF);
        const char *dirs[] = { tmp, NULL };
        _cleanup_free_ char *path = NULL;
        int fd = -1;
        (void) state;

        assert_int_equal(chmod(tmp, 0755), 0);

        assert_int_equal(chmod(fake, 0775), 0);
        assert_int_equal(inuse_lsof_resolve(dirs, &fd, &path), -EPERM);
        assert_int_equal(chmod(fake, 0757), 0);
        assert_int_equal(inuse_lsof_resolve(dirs, &fd, &path), -EPERM);
        assert_int_equal(chmod(fake, 0755), 0);
        assert_int_equal(chown(fake, 65534, 65534), 0);
        assert_int_equal(inuse_lsof_resolve(dirs, &fd, &path), -EPERM);

        /* A symlink is not followed (its target's chain is unchecked). */
        assert_int_equal(unlink(fake), 0);
        assert_int_equal(symlink("/usr/bin/lsof", fake), 0);
        assert_int_equal(inuse_lsof_resolve(dirs, &fd, &path), -ENOENT);
        assert_int_equal(fd, -1);
        tu_rm_rf(tmp);
}

static void test_no_lsof_anywhere_is_enoent(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *missing = tu_strdupf("/nonexistent-ephemdir-%d", (int) getpid());
        _cleanup_free_ char *in_ours = tu_strdupf("%s/sub", tmp);
        const char *dirs[] = { missing, NULL };
        _cleanup_free_ char *path = NULL;
        int fd = -1;
        (void) state;

        assert_int_equal(inuse_lsof_resolve(dirs, &fd, &path), -ENOENT);
        /* Not root: a directory of ours is refused before it is even
         * looked into; that is still no lsof. */
        dirs[0] = in_ours;
        assert_int_equal(inuse_lsof_resolve(dirs, &fd, &path), tu_is_root() ? -ENOENT : -EPERM);
        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Running lsof                                                             */

struct scan_job {
        const char *program;
        int timeout_ms;
        struct answer answer;
        const char *path;
};

static void *scan_thread(void *arg) {
        struct scan_job *job = arg;
        const struct inuse_lsof_opts opts = { .program = job->program, .timeout_ms = job->timeout_ms };
        struct inuse_snapshot *s = NULL;

        if (inuse_snapshot_new(&s) < 0 || inuse_lsof_scan(s, getuid(), &opts) < 0)
                abort();
        inuse_snapshot_seal(s);
        job->answer.verdict = inuse_check(s, &job->path, 1, &job->answer.pid, job->answer.comm);
        inuse_snapshot_free(s);
        return NULL;
}

static bool wait_for_file(const char *path, unsigned ms) {
        for (unsigned i = 0; i < ms / 10; i++) {
                if (tu_exists(path))
                        return true;
                usleep(10000);
        }
        return false;
}

static pid_t read_pid_file(const char *path) {
        FILE *f = fopen(path, "re");
        int pid = 0;

        assert_non_null(f);
        assert_int_equal(fscanf(f, "%d", &pid), 1);
        fclose(f);
        return pid;
}

static char *read_proc(pid_t pid, const char *what, size_t *ret_len) {
        _cleanup_free_ char *path = tu_strdupf("/proc/%d/%s", (int) pid, what);
        char *buf = calloc(1, 65536);
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        assert_non_null(buf);
        assert_true(fd >= 0);
        ssize_t n = read(fd, buf, 65535);
        close(fd);
        assert_true(n >= 0);
        *ret_len = (size_t) n;
        return buf;
}

static char *proc_link(pid_t pid, const char *what) {
        _cleanup_free_ char *path = tu_strdupf("/proc/%d/%s", (int) pid, what);
        char buf[4096];

        ssize_t n = readlink(path, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = '\0';
        return strdup(buf);
}

/* Are the open fds of pid exactly 0, 1 and 2? */
static bool fds_are_only_stdio(pid_t pid) {
        _cleanup_free_ char *fd_dir = tu_strdupf("/proc/%d/fd", (int) pid);
        unsigned n_fds = 0;
        bool other = false;
        DIR *d = opendir(fd_dir);

        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.') {
                        n_fds++;
                        other = other || !(streq(de->d_name, "0") || streq(de->d_name, "1") ||
                                           streq(de->d_name, "2"));
                }
        closedir(d);
        return n_fds == 3 && !other;
}

/* Inspect the running "lsof" (a fake that parks in sleep) from outside.
 * The environment is the one the fake's shell was started with (it adds
 * PWD for what it runs itself). */
static void test_lsof_runs_with_minimal_environment_and_no_inherited_fds(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *pid_file = tu_strdupf("%s/pid", tmp);
        _cleanup_free_ char *env_file = tu_strdupf("%s/environ", tmp);
        _cleanup_free_ char *body = tu_strdupf("cat /proc/$$/environ >%s\n"
                                               "echo $$ >%s.new && mv %s.new %s\n"
                                               "exec sleep 30\n",
                                               env_file, pid_file, pid_file, pid_file);
        _cleanup_free_ char *fake = write_script(tmp, "lsof", body);
        struct scan_job job = { .program = fake, .timeout_ms = 20000, .path = tmp };
        pthread_t t;
        (void) state;

        /* An fd the host forgot to mark O_CLOEXEC must not reach lsof. */
        int leaky = open("/dev/null", O_RDONLY);
        assert_true(leaky >= 0);
        assert_int_equal(pthread_create(&t, NULL, scan_thread, &job), 0);

        assert_true(wait_for_file(pid_file, 10000));
        pid_t pid = read_pid_file(pid_file);
        for (unsigned i = 0; i < 1000; i++) { /* until the exec of sleep */
                size_t n;
                _cleanup_free_ char *comm = read_proc(pid, "comm", &n);
                if (streq(comm, "sleep\n"))
                        break;
                usleep(2000);
        }

        static const char want_env[] = "PATH=/usr/bin:/bin:/usr/sbin:/sbin\0LC_ALL=C.UTF-8";
        FILE *f = fopen(env_file, "re");
        char env[256];
        assert_non_null(f);
        size_t env_len = fread(env, 1, sizeof(env), f);
        fclose(f);
        assert_int_equal(env_len, sizeof(want_env));
        assert_memory_equal(env, want_env, sizeof(want_env));

        /* comm says "sleep" from the exec on, while the dynamic loader still
         * has its libraries open: wait for that to pass.  An inherited fd
         * would stay for good. */
        bool only_stdio = false;
        for (unsigned i = 0; i < 1000 && !only_stdio; i++) {
                if (i > 0)
                        usleep(5000);
                only_stdio = fds_are_only_stdio(pid);
        }
        assert_true(only_stdio);

        _cleanup_free_ char *in = proc_link(pid, "fd/0");
        _cleanup_free_ char *out = proc_link(pid, "fd/1");
        _cleanup_free_ char *err = proc_link(pid, "fd/2");
        _cleanup_free_ char *cwd = proc_link(pid, "cwd");
        assert_string_equal(in, "/dev/null");
        assert_string_equal(err, "/dev/null");
        assert_true(strncmp(out, "pipe:", 5) == 0);
        assert_string_equal(cwd, "/");
        assert_int_equal(getpgid(pid), pid); /* its own group, for the timeout kill */

        kill(pid, SIGKILL);
        assert_int_equal(pthread_join(t, NULL), 0);
        close(leaky);
        assert_int_equal(job.answer.verdict, INUSE_UNKNOWN); /* killed: not a clean run */
        tu_rm_rf(tmp);
}

static bool process_is_gone(pid_t pid) {
        _cleanup_free_ char *stat_path = tu_strdupf("/proc/%d/stat", (int) pid);
        char buf[512] = "";
        FILE *f = fopen(stat_path, "re");

        if (!f)
                return true;
        bool got = fgets(buf, sizeof(buf), f) != NULL;
        fclose(f);
        const char *rp = got ? strrchr(buf, ')') : NULL;
        return rp && (rp[2] == 'Z' || rp[2] == 'X'); /* killed, not yet reaped by init */
}

static void test_hung_lsof_is_killed_with_its_helpers_and_the_answer_is_unknown(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *helper_file = tu_strdupf("%s/helper", tmp);
        _cleanup_free_ char *body = tu_strdupf("%ssleep 600 &\necho $! >%s\nexec sleep 600\n",
                                               FAKE_SELF, helper_file);
        _cleanup_free_ char *fake = write_script(tmp, "lsof", body);
        struct timespec t0, t1;
        (void) state;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct inuse_snapshot *s = lsof_snapshot(fake, 300);
        clock_gettime(CLOCK_MONOTONIC, &t1);

        assert_true(tu_elapsed_ms(&t0, &t1) < 5000);
        assert_answer(s, &(const struct expect) UNKNOWN(tmp, 0, "lsof"));
        inuse_snapshot_free(s);

        assert_true(wait_for_file(helper_file, 2000));
        pid_t helper = read_pid_file(helper_file);
        bool gone = false;
        for (unsigned i = 0; i < 200 && !gone; i++) {
                gone = process_is_gone(helper);
                if (!gone)
                        usleep(10000);
        }
        if (!gone)
                kill(helper, SIGKILL);
        assert_true(gone);
        tu_rm_rf(tmp);
}

static void test_failing_or_missing_lsof_is_unknown_and_a_clean_exit_1_is_not(void **state) {
        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *missing = tu_strdupf("%s/no-such-lsof", tmp);
        static const struct {
                const char *name;
                const char *body;
                enum inuse_verdict want;
        } fakes[] = {
                { "exit-0", FAKE_SELF "exit 0\n", INUSE_FREE },
                { "exit-1", FAKE_SELF "exit 1\n", INUSE_FREE }, /* "nothing matched": not a failure */
                { "exit-2", FAKE_SELF "exit 2\n", INUSE_UNKNOWN },
                { "killed", FAKE_SELF "kill -9 $$\n", INUSE_UNKNOWN },
                { "silent", "exit 0\n", INUSE_UNKNOWN },
                { "garbage", "echo hello\n", INUSE_UNKNOWN },
                { "plain-fields", "printf 'p%s\\ncx\\nfcwd\\nn/\\n' \"$PPID\"\n", INUSE_UNKNOWN },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(fakes); i++) {
                _cleanup_free_ char *fake = write_script(tmp, fakes[i].name, fakes[i].body);
                struct inuse_snapshot *s = lsof_snapshot(fake, 5000);
                struct answer a = ask(s, tmp);
                if (a.verdict != fakes[i].want)
                        fail_msg("%s: %s", fakes[i].name, inuse_verdict_word(a.verdict));
                inuse_snapshot_free(s);
        }

        struct inuse_snapshot *s = lsof_snapshot(missing, 5000);
        assert_answer(s, &(const struct expect) UNKNOWN(tmp, 0, "lsof"));
        inuse_snapshot_free(s);
        tu_rm_rf(tmp);
}

/* inuse_scan() itself goes through lsof when the test hook says so. */
static void test_probe_hook_selects_the_lsof_backend(void **state) {
        if (!EPHEMDIR_TEST_HOOKS)
                skip();

        _cleanup_free_ char *tmp = tu_mkdtemp();
        _cleanup_free_ char *marker = tu_strdupf("%s/ran", tmp);
        _cleanup_free_ char *body = tu_strdupf("echo x >>%s\n%s", marker, FAKE_SELF);
        _cleanup_free_ char *fake = write_script(tmp, "lsof", body);
        struct inuse_snapshot *s = NULL;
        const char *path = tmp;
        (void) state;

        assert_int_equal(setenv("EPHEMDIR_TEST_INUSE_PROBE", "lsof", 1), 0);
        assert_int_equal(setenv("EPHEMDIR_TEST_LSOF", fake, 1), 0);
        assert_int_equal(inuse_scan(getuid(), &s), 0);
        for (unsigned i = 0; i < 100; i++) /* one snapshot, many checks */
                assert_int_equal(inuse_check(s, &path, 1, NULL, NULL), INUSE_FREE);
        inuse_snapshot_free(s);
        unsetenv("EPHEMDIR_TEST_INUSE_PROBE");
        unsetenv("EPHEMDIR_TEST_LSOF");

        size_t runs = 0;
        FILE *f = fopen(marker, "re");
        assert_non_null(f);
        for (int c; (c = fgetc(f)) != EOF;)
                runs += c == '\n';
        fclose(f);
        assert_int_equal(runs, 1);
        tu_rm_rf(tmp);
}

/* ------------------------------------------------------------------------ */
/* Cost                                                                     */

#define COST_ROUNDS 7

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static double median_scan_ms(bool lsof) {
        double ms[COST_ROUNDS];

        for (unsigned r = 0; r < COST_ROUNDS; r++) {
                struct inuse_snapshot *s = NULL;
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                if (lsof)
                        s = lsof_snapshot(NULL, 0);
                else
                        assert_int_equal(inuse_scan(getuid(), &s), 0);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                ms[r] = tu_elapsed_ms(&t0, &t1);
                inuse_snapshot_free(s);
        }
        qsort(ms, COST_ROUNDS, sizeof(ms[0]), cmp_double);
        return ms[COST_ROUNDS / 2];
}

static void test_scan_cost_lsof_vs_proc(void **state) {
        (void) state;

        REQUIRE_LSOF();
        unsetenv("EPHEMDIR_TEST_INUSE_PROBE");
        double proc_ms = median_scan_ms(false);
        double lsof_ms = median_scan_ms(true);
        struct inuse_snapshot *s = lsof_snapshot(NULL, 0);
        struct inuse_stats st;
        inuse_snapshot_stats(s, &st);
        inuse_snapshot_free(s);
        print_message("one scan, median of %d: /proc %.2f ms, lsof %.2f ms (x%.1f); lsof saw %zu processes, "
                      "%zu paths\n", COST_ROUNDS, proc_ms, lsof_ms, lsof_ms / proc_ms, st.processes, st.paths);
}

static int run_all_tests(void) {
        static const struct CMUnitTest others[] = {
                cmocka_unit_test(test_output_cut_off_inside_a_set_is_never_free),
                cmocka_unit_test(test_lsof_sees_open_file_cwd_mapping_and_unlinked_file),
                cmocka_unit_test(test_lsof_sees_root_directory),
                cmocka_unit_test(test_path_too_deep_for_lsof_to_name_is_unknown),
                cmocka_unit_test(test_lsof_name_with_newline_is_never_free),
                cmocka_unit_test(test_lsof_utf8_name_matches_exactly),
                cmocka_unit_test(test_lsof_scanning_process_own_holdings_do_not_count),
                cmocka_unit_test(test_lsof_is_resolved_from_system_dirs_ignoring_PATH),
                cmocka_unit_test(test_lsof_in_a_group_writable_directory_is_refused),
                cmocka_unit_test(test_lsof_file_others_can_change_or_symlinked_is_refused),
                cmocka_unit_test(test_no_lsof_anywhere_is_enoent),
                cmocka_unit_test(test_lsof_runs_with_minimal_environment_and_no_inherited_fds),
                cmocka_unit_test(test_hung_lsof_is_killed_with_its_helpers_and_the_answer_is_unknown),
                cmocka_unit_test(test_failing_or_missing_lsof_is_unknown_and_a_clean_exit_1_is_not),
                cmocka_unit_test(test_probe_hook_selects_the_lsof_backend),
                cmocka_unit_test(test_scan_cost_lsof_vs_proc),
        };
        struct CMUnitTest tests[ELEMENTSOF(parse_cases) + ELEMENTSOF(others)];

        /* One test a parse_cases row, reported under the row's name. */
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++)
                tests[i] = (struct CMUnitTest) {
                        .name = parse_cases[i].name,
                        .test_func = test_parse_case,
                        .initial_state = (void *) &parse_cases[i],
                };
        memcpy(tests + ELEMENTSOF(parse_cases), others, sizeof(others));
        return cmocka_run_group_tests(tests, NULL, NULL);
}

int main(void) {
        return tu_run_with_private_proc(run_all_tests);
}
