/* SPDX-License-Identifier: MIT */
/* ephemdir rm / keep / extend / prune: act on tracked directories. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

enum {
        OPT_FOREVER = OPT_FIRST_COMMAND_OPTION,
        OPT_FORGET,
        OPT_TAG,
};

/* Parse only the common options; positional targets remain at optind. */
static int parse_plain(struct cli *cli, const char *name, int argc, char **argv) {
        static const struct option options[] = { COMMON_LONG_OPTIONS };
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0)
                if ((r = cli_common_option(cli, cli_find_command(name), c, optarg)) >= 0)
                        return r;
        return -1;
}

/* Apply op to every target; go on after a failure, exit with the worst code. */
static int for_each_target(struct cli *cli, int argc, char **argv,
                           int (*op)(ephemdir_ctx *, const char *), const char *done_verb) {
        int worst = EXIT_OK;

        ephemdir_ctx *ctx = cli_ctx(cli);
        if (!ctx)
                return EXIT_FAIL;
        /* No target: the managed directory we stand in (NULL). */
        for (int i = optind; i < argc || (i == optind && argc == optind); i++) {
                const char *target = i < argc ? argv[i] : NULL;
                int r = op(ctx, target);
                if (r < 0) {
                        int code = cli_fail(cli, r);
                        if (code > worst)
                                worst = code;
                } else if (cli->verbosity > 0)
                        cli_error(cli, "%s %s", done_verb, target ? target : ".");
        }
        return worst;
}

int cmd_rm(struct cli *cli, int argc, char **argv) {
        int r = parse_plain(cli, "rm", argc, argv);
        if (r >= 0)
                return r;
        return for_each_target(cli, argc, argv, ephemdir_remove, "removed");
}

int cmd_keep(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "tag", required_argument, NULL, OPT_TAG },
                COMMON_LONG_OPTIONS,
        };
        const char *tag = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == OPT_TAG)
                        tag = optarg;
                else if ((r = cli_common_option(cli, cli_find_command("keep"), c, optarg)) >= 0)
                        return r;
        }
        if (!tag)
                return for_each_target(cli, argc, argv, ephemdir_keep, "kept");

        /* --tag T: every active entry labelled T, and no targets. */
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 0, &r);
        if (!ctx)
                return r;
        r = ephemdir_keep_tag(ctx, tag);
        if (r < 0)
                return cli_fail(cli, r);
        if (cli->verbosity >= 0)
                fprintf(stderr, "ephemdir: keep: kept %d director%s tagged %s\n", r, r == 1 ? "y" : "ies", tag);
        return EXIT_OK;
}

int cmd_extend(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "forever", no_argument, NULL, OPT_FOREVER },
                COMMON_LONG_OPTIONS,
        };
        bool forever = false;
        int64_t seconds;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == OPT_FOREVER)
                        forever = true;
                else if ((r = cli_common_option(cli, cli_find_command("extend"), c, optarg)) >= 0)
                        return r;
        }
        /* TARGET DURATION, TARGET --forever, or inside a managed directory
         * just DURATION / --forever. */
        int n = argc - optind;
        r = cli_check_args(cli, argc, argv, forever ? 0 : 1, forever ? 1 : 2);
        if (r >= 0)
                return r;
        const char *target = (forever ? n == 1 : n == 2) ? argv[optind] : NULL;
        if (forever)
                seconds = EPHEMDIR_FOREVER;
        else if (!cli_parse_duration(cli, "duration", argv[argc - 1], &seconds))
                return EXIT_USAGE;

        ephemdir_ctx *ctx = cli_ctx(cli);
        if (!ctx)
                return EXIT_FAIL;
        r = ephemdir_extend(ctx, target, seconds);
        if (r < 0)
                return cli_fail(cli, r);
        return EXIT_OK;
}

int cmd_prune(struct cli *cli, int argc, char **argv) {
        int r = parse_plain(cli, "prune", argc, argv);
        if (r >= 0)
                return r;
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 0, &r);
        if (!ctx)
                return r;
        r = ephemdir_prune(ctx);
        if (r < 0)
                return cli_fail(cli, r);
        if (cli->verbosity >= 0)
                fprintf(stderr, "ephemdir: prune: forgot %d missing entr%s\n", r, r == 1 ? "y" : "ies");
        return EXIT_OK;
}

int cmd_recover(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "forget", no_argument, NULL, OPT_FORGET },
                COMMON_LONG_OPTIONS,
        };
        bool forget = false;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == OPT_FORGET)
                        forget = true;
                else if ((r = cli_common_option(cli, cli_find_command("recover"), c, optarg)) >= 0)
                        return r;
        }
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 1, &r);
        if (!ctx)
                return r;
        r = ephemdir_recover(ctx, optind < argc ? argv[optind] : NULL, forget);
        if (r < 0)
                return cli_fail(cli, r);
        return EXIT_OK;
}
