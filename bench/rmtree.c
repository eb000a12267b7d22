/* SPDX-License-Identifier: MIT */
/*
 * ephemdir-bench-rmtree — the library's recursive delete alone, to compare
 * worker counts without the CLI around it.
 *
 *   ephemdir-bench-rmtree [--workers N] [--after N] [--min-size N] [--fds N] DIR
 *
 * Empties DIR (which stays) with fs_remove_contents_opts, with the sweep's
 * settings unless told otherwise: N worker threads at most (default
 * fs_remove_default_workers()), started once the caller's thread has
 * removed --after entries (default RM_WORKERS_AFTER), handed directories
 * of --min-size bytes or more (default RM_OFFER_MIN_DIR_SIZE), with --fds
 * open fds at most (default 256).  Prints one line: wall ms, cpu ms (user
 * + system of the whole process), files, dirs, workers started.  Exit 1 on
 * failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rmtree.h"

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static double cpu_ms(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
               (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int usage(void) {
        fprintf(stderr, "usage: ephemdir-bench-rmtree [--workers N] [--after N] [--min-size N] [--fds N] DIR\n");
        return 2;
}

int main(int argc, char **argv) {
        struct rm_opts opts = {
                .max_open_fds = 256,
                .max_workers = fs_remove_default_workers(),
                .workers_after = RM_WORKERS_AFTER,
                .offer_min_size = RM_OFFER_MIN_DIR_SIZE,
        };
        int i = 1;

        for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
                unsigned long v = strtoul(argv[i + 1], NULL, 10);
                if (strcmp(argv[i], "--workers") == 0)
                        opts.max_workers = (unsigned) v;
                else if (strcmp(argv[i], "--after") == 0)
                        opts.workers_after = v;
                else if (strcmp(argv[i], "--min-size") == 0)
                        opts.offer_min_size = v;
                else if (strcmp(argv[i], "--fds") == 0)
                        opts.max_open_fds = (unsigned) v;
                else
                        return usage();
        }
        if (i != argc - 1)
                return usage();

        int fd = open(argv[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "ephemdir-bench-rmtree: %s: %s\n", argv[i], strerror(errno));
                return 1;
        }

        struct rm_stats st;
        double c0 = cpu_ms(), t0 = now_ms();
        int r = fs_remove_contents_opts(fd, &opts, &st);
        double t1 = now_ms(), c1 = cpu_ms();
        close(fd);
        if (r < 0) {
                fprintf(stderr, "ephemdir-bench-rmtree: %s: %s\n", argv[i], strerror(-r));
                return 1;
        }
        printf("%.2f %.2f %llu %llu %u\n", t1 - t0, c1 - c0, (unsigned long long) st.files,
               (unsigned long long) st.dirs, st.workers);
        return 0;
}
