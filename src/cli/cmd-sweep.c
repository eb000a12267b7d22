/* SPDX-License-Identifier: MIT */
/* ephemdir sweep: finish interrupted deletions, remove everything due. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "journal.h"
#include "output.h"

struct sweep_report {
        struct cli *cli;
        json_t *json;     /* dry-run --json: collected events */
        unsigned removed;
};

static const char *event_word(enum ephemdir_event_kind k) {
        switch (k) {
        case EPHEMDIR_EVENT_REMOVED:
                return "removed";
        case EPHEMDIR_EVENT_WOULD_REMOVE:
                return "would-remove";
        case EPHEMDIR_EVENT_BLOCKED:
                return "blocked";
        case EPHEMDIR_EVENT_PARKED:
                return "parked";
        case EPHEMDIR_EVENT_RECOVERED:
                return "recovered";
        default:
                return "failed";
        }
}

static void on_event(const struct ephemdir_event *ev, void *userdata) {
        struct sweep_report *rep = userdata;
        const struct cli *cli = rep->cli;

        if (rep->json) {
                json_array_append_new(rep->json, json_pack("{s:s, s:o, s:o, s:s?, s:o}",
                        "action", event_word(ev->kind), "path", json_bytes(ev->path),
                        "name", json_bytes(ev->name), "reason", ev->reason,
                        "detail", json_bytes(ev->detail && *ev->detail ? ev->detail : NULL)));
                return;
        }
        /* stdout is data: absolute paths (escaped), no ~ shortening. */
        /* Under systemd with stderr on the journal: structured entries. */
        if (journal_log_event(cli, ev, event_word(ev->kind)))
                return;
        char *path = printable(ev->path);
        switch (ev->kind) {
        case EPHEMDIR_EVENT_REMOVED:
        case EPHEMDIR_EVENT_WOULD_REMOVE:
        case EPHEMDIR_EVENT_RECOVERED:
                rep->removed++;
                if (cli->verbosity >= 0)
                        printf("%s %s (%s)\n", event_word(ev->kind), path ? path : "?", ev->reason);
                break;
        case EPHEMDIR_EVENT_BLOCKED:
                /* Missing or replaced entries are reported by list; say so only when asked. */
                if (cli->verbosity > 0)
                        cli_error(cli, "skipped %s (%s)%s%s", path ? path : "?", ev->reason,
                                  ev->detail && *ev->detail ? ": " : "", ev->detail ? ev->detail : "");
                break;
        default:
                cli_error(cli, "%s %s (%s)%s%s", event_word(ev->kind), path ? path : "?", ev->reason,
                          ev->detail && *ev->detail ? ": " : "", ev->detail ? ev->detail : "");
                break;
        }
        free(path);
}

int cmd_sweep(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "dry-run", no_argument, NULL, 'n' },
                { "force", no_argument, NULL, 'f' },
                { "json", no_argument, NULL, OPT_JSON },
                { "tag", required_argument, NULL, OPT_FIRST_COMMAND_OPTION },
                COMMON_LONG_OPTIONS,
        };
        struct sweep_report rep = { .cli = cli };
        const char *tag = NULL;
        unsigned flags = 0;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS "n", options, NULL)) >= 0) {
                if (c == 'n')
                        flags |= EPHEMDIR_SWEEP_DRY_RUN;
                else if (c == 'f')
                        flags |= EPHEMDIR_SWEEP_FORCE;
                else if (c == OPT_JSON)
                        json = true;
                else if (c == OPT_FIRST_COMMAND_OPTION)
                        tag = optarg;
                else if ((r = cli_common_option(cli, cli_find_command("sweep"), c, optarg)) >= 0)
                        return r;
        }
        r = cli_check_args(cli, argc, argv, 0, 0);
        if (r >= 0)
                return r;
        if (json && !(flags & EPHEMDIR_SWEEP_DRY_RUN))
                return cli_usage(cli, "--json needs --dry-run");

        ephemdir_ctx *ctx = cli_ctx(cli);
        if (!ctx)
                return EXIT_FAIL;
        if (json)
                rep.json = json_array();
        r = ephemdir_sweep_tag(ctx, flags, tag, on_event, &rep);
        if (rep.json) {
                if (r >= 0)
                        json_print(rep.json, stdout);
                json_decref(rep.json);
        }
        if (r < 0)
                return cli_fail(cli, r);
        return r > 0 ? EXIT_FAIL : EXIT_OK;
}
