/* SPDX-License-Identifier: MIT */
/*
 * ephemdir watch: sweep now and every --interval, in the foreground, until
 * SIGTERM or SIGINT.  The signals stay blocked while a sweep runs, so a stop
 * request never interrupts a deletion half way: it is taken between sweeps.
 *
 * Under a service manager (Type=notify) it reports READY=1 after the first
 * sweep and a STATUS= line after every sweep through $NOTIFY_SOCKET, and
 * events go to the journal with EPHEMDIR_* fields when stderr is the journal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "output.h"
#include "format.h"
#include "journal.h"
#include "notify.h"

#define DEFAULT_INTERVAL 600

enum {
        OPT_INTERVAL = OPT_FIRST_COMMAND_OPTION,
};

struct watch {
        struct cli *cli;
        int64_t interval;
        unsigned removed;   /* by the current sweep */
        unsigned failed;
        bool ready_sent;
        bool notify_warned;
};

static void count_event(struct watch *w, enum ephemdir_event_kind kind) {
        if (kind == EPHEMDIR_EVENT_REMOVED || kind == EPHEMDIR_EVENT_RECOVERED)
                w->removed++;
        else if (kind == EPHEMDIR_EVENT_FAILED || kind == EPHEMDIR_EVENT_PARKED)
                w->failed++;
}

static const char *event_action(enum ephemdir_event_kind kind) {
        switch (kind) {
        case EPHEMDIR_EVENT_REMOVED:
                return "removed";
        case EPHEMDIR_EVENT_RECOVERED:
                return "recovered";
        case EPHEMDIR_EVENT_BLOCKED:
                return "blocked";
        case EPHEMDIR_EVENT_PARKED:
                return "parked";
        case EPHEMDIR_EVENT_WOULD_REMOVE:
                return "would-remove";
        default:
                return "failed";
        }
}

static void log_event(const struct ephemdir_event *ev, void *userdata) {
        struct watch *w = userdata;
        const struct cli *cli = w->cli;

        count_event(w, ev->kind);
        if (journal_log_event(cli, ev, event_action(ev->kind)))
                return;
        char *path = printable(ev->path);
        if (ev->kind == EPHEMDIR_EVENT_REMOVED || ev->kind == EPHEMDIR_EVENT_RECOVERED) {
                if (cli->verbosity >= 0)
                        printf("%s %s (%s)\n", ev->kind == EPHEMDIR_EVENT_REMOVED ? "removed" : "recovered",
                               path ? path : "?", ev->reason);
        } else if (ev->kind == EPHEMDIR_EVENT_FAILED || ev->kind == EPHEMDIR_EVENT_PARKED)
                cli_warn(cli, "%s: %s", path ? path : "?", ev->detail && *ev->detail ? ev->detail : ev->reason);
        free(path);
        fflush(stdout);
}

/* Tell the manager (if any) how the sweep went.  A notification that cannot
 * be sent is worth one warning, never a failure: the sweeps matter more. */
static void notify_status(struct watch *w, const char *state) {
        int r = notify_send(state);

        if (r < 0 && !w->notify_warned) {
                cli_warn(w->cli, "cannot notify the service manager: %s", strerror(-r));
                w->notify_warned = true;
        }
}

static void notify_swept(struct watch *w) {
        char next[32], state[160];

        format_remaining(w->interval, next, sizeof(next));
        snprintf(state, sizeof(state), "%sSTATUS=Swept: %u removed, %u failed; next sweep in %s",
                 w->ready_sent ? "" : "READY=1\n", w->removed, w->failed, next);
        notify_status(w, state);
        w->ready_sent = true;
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
        struct watch w = { .cli = cli, .interval = DEFAULT_INTERVAL };
        sigset_t stop;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == OPT_INTERVAL) {
                        if (!cli_parse_duration(cli, "interval", optarg, &w.interval))
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
                w.removed = w.failed = 0;
                r = ephemdir_sweep(ctx, 0, log_event, &w);
                if (r < 0) {
                        /* A registry that cannot be read will not heal by waiting. */
                        notify_status(&w, "STATUS=Sweep failed; stopping");
                        return cli_fail(cli, r);
                }
                notify_swept(&w);
        } while (!wait_for_stop(&stop, w.interval));
        notify_status(&w, "STOPPING=1\nSTATUS=Stopping");
        return EXIT_OK;
}
