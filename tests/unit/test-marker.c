/* SPDX-License-Identifier: MIT */
/*
 * Marker guarantees: ids are fresh random lowercase hex; the marker is a
 * private file created exclusively; and marker_read accepts only a small
 * regular file holding exactly one lowercase id, refusing everything else
 * (missing, symlink, FIFO without blocking, device, directory, oversized,
 * malformed) as -ESTALE, never writing its output on failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "marker.h"
#include "testutil.h"
#include "util.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"
/* What marker_read leaves in its output when it fails: must stay intact. */
#define UNTOUCHED "untouched-untouched-untouched-xx"

struct fixture {
        char *dir;
        int dir_fd;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        f->dir = tu_mkdtemp();
        f->dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->dir_fd >= 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        close(f->dir_fd);
        tu_rm_rf(f->dir);
        free(f->dir);
        free(f);
        return 0;
}

static char *marker_path(const struct fixture *f) {
        return tu_strdupf("%s/" MARKER_NAME, f->dir);
}

static void put_marker_bytes(const struct fixture *f, const void *data, size_t len) {
        char *p = marker_path(f);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        close(fd);
        free(p);
}

/* marker_read must fail with -ESTALE and leave its output alone. */
static void assert_read_rejected(const struct fixture *f, const char *what) {
        char got[MARKER_ID_LEN + 1] = UNTOUCHED;
        int r = marker_read(f->dir_fd, got);

        if (r != -ESTALE)
                fail_msg("%s: marker_read returned %d (%s), expected -ESTALE", what, r,
                         r < 0 ? strerror(-r) : got);
        assert_string_equal(got, UNTOUCHED);
        assert_int_equal(marker_verify(f->dir_fd, ID_A), -ESTALE);
}

static bool is_lower_hex_id(const char *s) {
        if (strlen(s) != MARKER_ID_LEN)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

/* ---- ids ---------------------------------------------------------------------- */

static void test_new_ids_are_32_lowercase_hex_and_differ(void **state) {
        enum { N = 64 };
        char ids[N][MARKER_ID_LEN + 1];
        bool seen_letter = false;

        (void) state;
        for (size_t i = 0; i < N; i++) {
                memset(ids[i], 'X', sizeof(ids[i]));
                assert_int_equal(marker_new_id(ids[i]), 0);
                if (!is_lower_hex_id(ids[i]))
                        fail_msg("id \"%.*s\" is not 32 lowercase hex", MARKER_ID_LEN + 1, ids[i]);
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(ids[i], ids[j]);
                seen_letter |= strpbrk(ids[i], "abcdef") != NULL;
        }
        /* 64 * 32 random nibbles that never hit a-f would mean a broken encoder. */
        assert_true(seen_letter);
}

/* ---- write / read ------------------------------------------------------------------ */

static void test_written_marker_reads_back_and_verifies(void **state) {
        struct fixture *f = *state;
        char got[MARKER_ID_LEN + 1];
        char id[MARKER_ID_LEN + 1];
        char buf[128];
        char *p = marker_path(f);

        assert_int_equal(marker_new_id(id), 0);
        assert_int_equal(marker_write(f->dir_fd, id), 0);
        assert_int_equal(marker_read(f->dir_fd, got), 0);
        assert_string_equal(got, id);
        assert_int_equal(marker_verify(f->dir_fd, id), 0);
        /* Only that id verifies. */
        assert_int_equal(marker_verify(f->dir_fd, ID_B), -ESTALE);
        assert_int_equal(marker_verify(f->dir_fd, NULL), -ESTALE);

        /* On disk: the id and a newline, nothing more. */
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        ssize_t n = read(fd, buf, sizeof(buf));
        close(fd);
        assert_int_equal(n, MARKER_ID_LEN + 1);
        assert_memory_equal(buf, id, MARKER_ID_LEN);
        assert_int_equal(buf[MARKER_ID_LEN], '\n');
        free(p);
}

static void test_marker_without_trailing_newline_is_accepted(void **state) {
        struct fixture *f = *state;
        char got[MARKER_ID_LEN + 1];

        put_marker_bytes(f, ID_A, MARKER_ID_LEN);
        assert_int_equal(marker_read(f->dir_fd, got), 0);
        assert_string_equal(got, ID_A);
}

static void test_write_refuses_malformed_ids(void **state) {
        struct fixture *f = *state;

        assert_int_equal(marker_write(f->dir_fd, "0123"), -EINVAL);
        assert_int_equal(marker_write(f->dir_fd, ID_A "0"), -EINVAL);
        char *p = marker_path(f);
        assert_false(tu_exists(p));
        free(p);
}

static void test_marker_is_created_0600_and_exclusively(void **state) {
        struct fixture *f = *state;
        char got[MARKER_ID_LEN + 1];
        char *p = marker_path(f);
        struct stat st;

        /* With no umask to hide behind, the mode itself must be private. */
        mode_t old = umask(0);
        int r = marker_write(f->dir_fd, ID_A);
        umask(old);
        assert_int_equal(r, 0);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_uid, geteuid());

        /* O_EXCL: a second write fails and the first id survives. */
        assert_int_equal(marker_write(f->dir_fd, ID_B), -EEXIST);
        assert_int_equal(marker_read(f->dir_fd, got), 0);
        assert_string_equal(got, ID_A);
        free(p);
}

static void test_write_never_follows_a_planted_symlink(void **state) {
        struct fixture *f = *state;
        char *p = marker_path(f), *target = tu_strdupf("%s/target", f->dir);

        /* A dangling symlink: following it would create "target". */
        assert_int_equal(symlink("target", p), 0);
        assert_true(marker_write(f->dir_fd, ID_A) < 0);
        assert_false(tu_exists(target));
        free(target);
        free(p);
}

/* ---- what marker_read refuses -------------------------------------------------------- */

static void test_read_rejects_missing_marker(void **state) {
        assert_read_rejected(*state, "missing");
}

static void test_read_rejects_symlink_to_valid_marker(void **state) {
        struct fixture *f = *state;
        char *real = tu_strdupf("%s/real-marker", f->dir), *p = marker_path(f);

        tu_write_file(real, ID_A "\n");
        assert_int_equal(symlink("real-marker", p), 0);
        assert_read_rejected(f, "symlink to a valid marker");
        /* Also through an absolute symlink. */
        assert_int_equal(unlink(p), 0);
        assert_int_equal(symlink(real, p), 0);
        assert_read_rejected(f, "absolute symlink to a valid marker");
        free(real);
        free(p);
}

static void test_read_rejects_fifo_without_blocking(void **state) {
        struct fixture *f = *state;
        char *p = marker_path(f);
        int status;

        assert_int_equal(mkfifo(p, 0600), 0);
        /* In a child with an alarm: a blocking open would hang forever (no
         * writer); fail the test instead of the whole run. */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char got[MARKER_ID_LEN + 1] = UNTOUCHED;
                alarm(10);
                int r = marker_read(f->dir_fd, got);
                free(p);   /* keeps leak checkers quiet about the child */
                _exit(r == -ESTALE && streq(got, UNTOUCHED) ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status))
                fail_msg("marker_read on a FIFO did not return (killed by signal %d)", WTERMSIG(status));
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        free(p);
}

static void test_read_rejects_device_node(void **state) {
        struct fixture *f = *state;
        char *p;

        if (!tu_is_root())
                skip();   /* mknod of a character device needs CAP_MKNOD */
        p = marker_path(f);
        /* 1:5 is /dev/zero: reads would succeed forever. */
        if (mknod(p, S_IFCHR | 0600, makedev(1, 5)) < 0) {
                free(p);
                skip();   /* e.g. a container without CAP_MKNOD */
        }
        assert_read_rejected(f, "character device");
        free(p);
}

static void test_read_rejects_directory(void **state) {
        struct fixture *f = *state;
        char *p = marker_path(f);

        assert_int_equal(mkdir(p, 0700), 0);
        assert_read_rejected(f, "directory");
        free(p);
}

static void test_read_rejects_oversized_file(void **state) {
        struct fixture *f = *state;
        char big[4096];

        /* Starts with a valid id: only the size gives it away. */
        memset(big, 'a', sizeof(big));
        memcpy(big, ID_A "\n", MARKER_ID_LEN + 1);
        put_marker_bytes(f, big, sizeof(big));
        assert_read_rejected(f, "4 KiB file");
        /* Just over the limit of 64 bytes. */
        put_marker_bytes(f, big, 65);
        assert_read_rejected(f, "65-byte file");
}

static void test_read_rejects_wrong_content(void **state) {
        struct fixture *f = *state;
        static const struct {
                const char *what;
                const char *content;
        } cases[] = {
                { "empty", "" },
                { "newline only", "\n" },
                { "text", "not a marker\n" },
                { "31 hex", "0123456789abcdef0123456789abcde\n" },
                { "33 hex", "0123456789abcdef0123456789abcdef0\n" },
                { "non-hex letter", "0123456789abcdef0123456789abcdeg\n" },
                { "two newlines", ID_A "\n\n" },
                { "CRLF", ID_A "\r\n" },
                { "leading space", " " ID_A "\n" },
                { "trailing space", ID_A " \n" },
                { "id twice", ID_A "\n" ID_A "\n" },
                { "dashed uuid", "01234567-89ab-cdef-0123-456789abcdef\n" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                put_marker_bytes(f, cases[i].content, strlen(cases[i].content));
                assert_read_rejected(f, cases[i].what);
        }
        /* Embedded NUL: "id\0..." is not "id". */
        put_marker_bytes(f, ID_A "\0\n", MARKER_ID_LEN + 2);
        assert_read_rejected(f, "embedded NUL");
}

static void test_read_rejects_uppercase_hex(void **state) {
        struct fixture *f = *state;

        put_marker_bytes(f, "0123456789ABCDEF0123456789ABCDEF\n", MARKER_ID_LEN + 1);
        assert_read_rejected(f, "uppercase hex");
        /* One uppercase digit is enough. */
        put_marker_bytes(f, "0123456789abcdef0123456789abcdeF\n", MARKER_ID_LEN + 1);
        assert_read_rejected(f, "one uppercase digit");
        /* And verify does not fold case either. */
        put_marker_bytes(f, "0123456789ABCDEF0123456789ABCDEF\n", MARKER_ID_LEN + 1);
        assert_int_equal(marker_verify(f->dir_fd, "0123456789abcdef0123456789abcdef"), -ESTALE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
                T(test_new_ids_are_32_lowercase_hex_and_differ),
                T(test_written_marker_reads_back_and_verifies),
                T(test_marker_without_trailing_newline_is_accepted),
                T(test_write_refuses_malformed_ids),
                T(test_marker_is_created_0600_and_exclusively),
                T(test_write_never_follows_a_planted_symlink),
                T(test_read_rejects_missing_marker),
                T(test_read_rejects_symlink_to_valid_marker),
                T(test_read_rejects_fifo_without_blocking),
                T(test_read_rejects_device_node),
                T(test_read_rejects_directory),
                T(test_read_rejects_oversized_file),
                T(test_read_rejects_wrong_content),
                T(test_read_rejects_uppercase_hex),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
