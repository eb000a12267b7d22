/* SPDX-License-Identifier: MIT */
/*
 * ephemdir-bench-populate — fill a registry with tracked entries.
 *
 *   ephemdir-bench-populate [--lifetime SECONDS] [--keep-while-in-use]
 *                           DATA_DIR PARENT COUNT
 *
 * Creates COUNT tracked directories under PARENT, registered in DATA_DIR,
 * with no restart policy.  By default they have no time limit either, so no
 * sweep (lazy or explicit) will ever pick them: they only make the registry
 * big.  With --lifetime they become due SECONDS after creation (a sweep run
 * with EPHEMDIR_TEST_CLOCK_OFFSET past that finds them all due), and
 * --keep-while-in-use gives them the in-use policy of
 * `ephemdir new --keep-while-in-use`.
 *
 * One process through the public API, because running `ephemdir new` 100,000
 * times would spend nearly all its time starting processes; and public API
 * only, so the entries are exactly what the CLI would have made.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ephemdir.h"

/* The library never prints: warnings would otherwise be lost. */
static void log_stderr(int level, const char *message, void *userdata) {
        if (level <= EPHEMDIR_LOG_WARNING)
                fprintf(stderr, "ephemdir-bench-populate: %s\n", message);
}

struct populate_opts {
        int64_t lifetime;
        bool keep_while_in_use;
};

static int parse_count(const char *s, unsigned long *ret) {
        char *end;

        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || *s == '-' || v > 10000000) {
                fprintf(stderr, "ephemdir-bench-populate: invalid count '%s'\n", s);
                return -1;
        }
        *ret = v;
        return 0;
}

static int add_entries(ephemdir_ctx *ctx, const char *parent, unsigned long count,
                       const struct populate_opts *p) {
        static const char *const tags[] = { "bench" };
        const struct ephemdir_new_opts opts = {
                .lifetime = p->lifetime,
                .remove_on_restart = EPHEMDIR_NO,
                .keep_while_in_use = p->keep_while_in_use ? EPHEMDIR_YES : EPHEMDIR_NO,
                .parent = parent,
                .tags = tags,
                .n_tags = 1,
                .origin = "bench",
        };

        for (unsigned long i = 0; i < count; i++) {
                ephemdir_dir *d;
                int r = ephemdir_new(ctx, &opts, &d);
                if (r < 0) {
                        const char *detail = ephemdir_last_error(ctx);
                        fprintf(stderr, "ephemdir-bench-populate: entry %lu: %s\n", i,
                                *detail ? detail : ephemdir_strerror(r));
                        return -1;
                }
                ephemdir_dir_free(d);
        }
        return 0;
}

static int usage(void) {
        fprintf(stderr, "Usage: ephemdir-bench-populate [--lifetime SECONDS] [--keep-while-in-use]\n"
                        "                               DATA_DIR PARENT COUNT\n");
        return 2;
}

int main(int argc, char **argv) {
        struct populate_opts p = { .lifetime = EPHEMDIR_FOREVER };
        ephemdir_ctx *ctx;
        unsigned long count, seconds;
        int i = 1;

        for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                if (strcmp(argv[i], "--keep-while-in-use") == 0)
                        p.keep_while_in_use = true;
                else if (strcmp(argv[i], "--lifetime") == 0 && i + 1 < argc) {
                        if (parse_count(argv[++i], &seconds) < 0 || seconds == 0)
                                return usage();
                        p.lifetime = (int64_t) seconds;
                } else
                        return usage();
        }
        if (argc - i != 3)
                return usage();
        argv += i - 1;
        if (parse_count(argv[3], &count) < 0)
                return 2;

        struct ephemdir_ctx_opts opts = { .data_dir = argv[1], .log = log_stderr };
        int r = ephemdir_ctx_open(&ctx, &opts);
        if (r < 0) {
                fprintf(stderr, "ephemdir-bench-populate: %s: %s\n", argv[1], ephemdir_strerror(r));
                return 1;
        }
        r = add_entries(ctx, argv[2], count, &p);
        ephemdir_ctx_close(ctx);
        return r < 0 ? 1 : 0;
}
