/* SPDX-License-Identifier: MIT */
/*
 * ephemdir-bench-timeit — wall and CPU time of one run of a command.
 *
 *   ephemdir-bench-timeit COMMAND [ARG...]
 *
 * Runs COMMAND once with its stdout on /dev/null (stderr is kept, so failures
 * are visible), prints "WALL_US CPU_US" on stdout, and exits 0 only if
 * COMMAND did.  CPU is the child's user + system time: on a machine shared
 * with other jobs, wall time includes waiting for a core and CPU time does
 * not, so the two together tell slowness from contention.
 *
 * Timing from the shell would put a fork of the (large) benchmark shell
 * between the clock reads; on a VM where fork is slow that constant is as big
 * as the commands being compared and pulls every ratio towards 1.
 * posix_spawn uses vfork semantics, so the measured interval is essentially
 * exec + the command + exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t timeval_us(struct timeval tv) {
        return (int64_t) tv.tv_sec * 1000000 + tv.tv_usec;
}

static int wait_for(pid_t pid, int *ret_status, struct rusage *ret_usage) {
        while (wait4(pid, ret_status, 0, ret_usage) < 0)
                if (errno != EINTR)
                        return -1;
        return 0;
}

/* Whether the command succeeded; explains on stderr when it did not. */
static int check_status(const char *cmd, int status) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                fprintf(stderr, "ephemdir-bench-timeit: %s exited with status %d\n", cmd, WEXITSTATUS(status));
        else
                fprintf(stderr, "ephemdir-bench-timeit: %s killed by signal %d\n", cmd, WTERMSIG(status));
        return -1;
}

int main(int argc, char **argv) {
        posix_spawn_file_actions_t actions;
        struct rusage usage;
        int status, r;
        pid_t pid;

        if (argc < 2) {
                fprintf(stderr, "Usage: ephemdir-bench-timeit COMMAND [ARG...]\n");
                return 2;
        }
        if (posix_spawn_file_actions_init(&actions) != 0 ||
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0) != 0) {
                fprintf(stderr, "ephemdir-bench-timeit: out of memory\n");
                return 1;
        }

        int64_t start = now_ns();
        r = posix_spawnp(&pid, argv[1], &actions, NULL, argv + 1, environ);
        if (r != 0) {
                fprintf(stderr, "ephemdir-bench-timeit: %s: %s\n", argv[1], strerror(r));
                return 1;
        }
        if (wait_for(pid, &status, &usage) < 0) {
                fprintf(stderr, "ephemdir-bench-timeit: wait4: %s\n", strerror(errno));
                return 1;
        }
        int64_t elapsed = now_ns() - start;

        posix_spawn_file_actions_destroy(&actions);
        if (check_status(argv[1], status) < 0)
                return 1;
        printf("%lld %lld\n", (long long) (elapsed / 1000),
               (long long) (timeval_us(usage.ru_utime) + timeval_us(usage.ru_stime)));
        return 0;
}
