/* SPDX-License-Identifier: MIT */
/*
 * ephemdir-bench-mktree — build the file tree the deletion benchmark removes.
 *
 *   ephemdir-bench-mktree DIR TOPS LEAVES FILES SIZE
 *
 *   ephemdir-bench-mktree --deep DIR LEVELS
 *
 * Creates DIR/dNN/dNNN/fNNN: TOPS directories, each holding LEAVES leaf
 * directories of FILES regular files of SIZE bytes.  With --deep, creates
 * DIR/d/d/.../d instead, LEVELS directories nested in one another: deeper
 * than PATH_MAX allows a path to be, so each level is made relative to the
 * fd of the one above, and only two fds are open at a time.  DIR must
 * already exist (it may be a tracked ephemdir directory: its marker is left
 * alone).
 *
 * Building the tree is not part of any measurement, but a shell loop would
 * make a 100,000-file run take minutes, so it is done here with *at() calls
 * relative to open directory fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (1024 * 1024)

struct tree_shape {
        unsigned long tops;
        unsigned long leaves;
        unsigned long files;
        size_t size;
        const char *payload;
};

static int fail(const char *what, const char *name) {
        fprintf(stderr, "ephemdir-bench-mktree: %s %s: %s\n", what, name, strerror(errno));
        return -1;
}

static int write_all(int fd, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

static int make_file(int dir_fd, const char *name, const struct tree_shape *t) {
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return fail("create", name);
        if (write_all(fd, t->payload, t->size) < 0) {
                fail("write", name);
                close(fd);
                return -1;
        }
        return close(fd) < 0 ? fail("close", name) : 0;
}

/* mkdirat + open, so the caller works relative to the new directory. */
static int make_dir(int parent_fd, const char *name) {
        if (mkdirat(parent_fd, name, 0700) < 0)
                return fail("mkdir", name);
        int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return fail("open", name);
        return fd;
}

static int fill_leaf(int parent_fd, unsigned long leaf, const struct tree_shape *t) {
        char name[32];

        snprintf(name, sizeof(name), "d%03lu", leaf);
        int fd = make_dir(parent_fd, name);
        if (fd < 0)
                return -1;
        for (unsigned long i = 0; i < t->files; i++) {
                snprintf(name, sizeof(name), "f%03lu", i);
                if (make_file(fd, name, t) < 0) {
                        close(fd);
                        return -1;
                }
        }
        close(fd);
        return 0;
}

static int fill_top(int root_fd, unsigned long top, const struct tree_shape *t) {
        char name[32];

        snprintf(name, sizeof(name), "d%02lu", top);
        int fd = make_dir(root_fd, name);
        if (fd < 0)
                return -1;
        for (unsigned long i = 0; i < t->leaves; i++)
                if (fill_leaf(fd, i, t) < 0) {
                        close(fd);
                        return -1;
                }
        close(fd);
        return 0;
}

static int parse_count(const char *s, unsigned long max, unsigned long *ret) {
        char *end;

        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || *s == '-' || v > max) {
                fprintf(stderr, "ephemdir-bench-mktree: invalid count '%s' (0..%lu)\n", s, max);
                return -1;
        }
        *ret = v;
        return 0;
}

static int parse_shape(char **argv, struct tree_shape *t) {
        unsigned long size;

        if (parse_count(argv[0], 1000000, &t->tops) < 0 || parse_count(argv[1], 1000000, &t->leaves) < 0 ||
            parse_count(argv[2], 1000000, &t->files) < 0 || parse_count(argv[3], MAX_FILE_SIZE, &size) < 0)
                return -1;
        t->size = size;
        return 0;
}

static int make_deep(const char *dir, const char *levels_arg) {
        unsigned long levels;

        if (parse_count(levels_arg, 10000000, &levels) < 0)
                return 2;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                fail("open", dir);
                return 1;
        }
        for (unsigned long i = 0; i < levels; i++) {
                int next = make_dir(fd, "d");
                close(fd);
                if (next < 0)
                        return 1;
                fd = next;
        }
        close(fd);
        return 0;
}

int main(int argc, char **argv) {
        static char payload[MAX_FILE_SIZE];
        struct tree_shape t = { .payload = payload };

        if (argc == 4 && strcmp(argv[1], "--deep") == 0)
                return make_deep(argv[2], argv[3]);
        if (argc != 6) {
                fprintf(stderr, "Usage: ephemdir-bench-mktree DIR TOPS LEAVES FILES SIZE\n"
                                "       ephemdir-bench-mktree --deep DIR LEVELS\n");
                return 2;
        }
        if (parse_shape(argv + 2, &t) < 0)
                return 2;
        memset(payload, 'x', t.size);

        int root_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                fail("open", argv[1]);
                return 1;
        }
        for (unsigned long i = 0; i < t.tops; i++)
                if (fill_top(root_fd, i, &t) < 0)
                        return 1;
        close(root_fd);
        return 0;
}
