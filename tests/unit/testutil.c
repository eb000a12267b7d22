/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
