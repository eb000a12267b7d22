/* SPDX-License-Identifier: MIT */
/*
 * ephemdir watch: sweep now and every --interval, in the foreground, until
 * SIGTERM or SIGINT.  The signals stay blocked while a sweep runs, so a stop
 * request never interrupts a deletion half way: it is taken between sweeps.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"

#define DEFAULT_INTERVAL 600

enum {
        OPT_INTERVAL = OPT_FIRST_COMMAND_OPTION,
};

static void log_event(const struct ephemdir_event *ev, void *userdata) {
        const struct cli *cli = userdata;

        if (ev->kind == EPHEMDIR_EVENT_REMOVED || ev->kind == EPHEMDIR_EVENT_RECOVERED) {
                if (cli->verbosity >= 0)
                        printf("%s %s (%s)\n", ev->kind == EPHEMDIR_EVENT_REMOVED ? "removed" : "recovered",
                               ev->path, ev->reason);
        } else if (ev->kind == EPHEMDIR_EVENT_FAILED || ev->kind == EPHEMDIR_EVENT_PARKED)
                cli_warn(cli, "%s: %s", ev->path, ev->detail && *ev->detail ? ev->detail : ev->reason);
        fflush(stdout);
}

/* Wait up to seconds for a stop signal; true when one arrived. */
static bool wait_for_stop(const sigset_t *stop, int64_t seconds) {
        struct timespec ts = { .tv_sec = (time_t) seconds };

        for (;;) {
                int sig = sigtimedwait(stop, NULL, &ts);
                if (sig > 0)
                        return true;
                if (errno == EAGAIN)
                        return false;
                /* EINTR from an unrelated signal: keep waiting (approximately). */
        }
}

int cmd_watch(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "interval", required_argument, NULL, OPT_INTERVAL },
                COMMON_LONG_OPTIONS,
        };
        int64_t interval = DEFAULT_INTERVAL;
        sigset_t stop;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == OPT_INTERVAL) {
                        if (!cli_parse_duration(cli, "interval", optarg, &interval))
                                return EXIT_USAGE;
                } else if ((r = cli_common_option(cli, cli_find_command("watch"), c, optarg)) >= 0)
                        return r;
        }
        r = cli_check_args(cli, argc, argv, 0, 0);
        if (r >= 0)
                return r;

        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        sigprocmask(SIG_BLOCK, &stop, NULL);

        ephemdir_ctx *ctx = cli_ctx(cli);
        if (!ctx)
                return EXIT_FAIL;
        do {
                r = ephemdir_sweep(ctx, 0, log_event, cli);
                if (r < 0) {
                        /* A registry that cannot be read will not heal by waiting. */
                        return cli_fail(cli, r);
                }
        } while (!wait_for_stop(&stop, interval));
        return EXIT_OK;
}
