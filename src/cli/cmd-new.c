/* SPDX-License-Identifier: MIT */
/* ephemdir new: create a directory and print only its path. */
#include <stdio.h>

#include "cli.h"

enum {
        OPT_KEEP_ON_RESTART = OPT_FIRST_COMMAND_OPTION,
        OPT_KEEP_WHILE_IN_USE,
        OPT_CLEANUP,
        OPT_UNTIL_SWEEP,
        OPT_MAX_SIZE,
        OPT_NAME_STYLE,
        OPT_PREFIX,
        OPT_WORDS,
        OPT_TAG,
        OPT_DESC,
};

static bool parse_cleanup(const struct cli *cli, const char *s, enum ephemdir_cleanup *ret) {
        if (ephemdir_cleanup_from_word(s, ret) == 0)
                return true;
        cli_usage(cli, "invalid --cleanup value '%s' (expected auto or next-sweep)", s);
        return false;
}

static bool parse_name_style(const struct cli *cli, const char *s, enum ephemdir_name_style *ret) {
        if (ephemdir_name_style_from_word(s, ret) == 0)
                return true;
        cli_usage(cli, "invalid --name-style value '%s' (expected auto, secure or clean)", s);
        return false;
}

int cmd_new(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "lifetime", required_argument, NULL, 'l' },
                { "keep-on-restart", no_argument, NULL, OPT_KEEP_ON_RESTART },
                { "keep-while-in-use", no_argument, NULL, OPT_KEEP_WHILE_IN_USE },
                { "cleanup", required_argument, NULL, OPT_CLEANUP },
                { "until-sweep", no_argument, NULL, OPT_UNTIL_SWEEP },
                { "max-size", required_argument, NULL, OPT_MAX_SIZE },
                { "name-style", required_argument, NULL, OPT_NAME_STYLE },
                { "parent", required_argument, NULL, 'p' },
                { "prefix", required_argument, NULL, OPT_PREFIX },
                { "words", required_argument, NULL, OPT_WORDS },
                { "tag", required_argument, NULL, OPT_TAG },
                { "desc", required_argument, NULL, OPT_DESC },
                COMMON_LONG_OPTIONS,
        };
        const char *tags[EPHEMDIR_MAX_TAGS + 1];
        struct ephemdir_new_opts o = { .origin = "cli", .tags = tags };
        ephemdir_dir *d = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS "l:p:", options, NULL)) >= 0) {
                switch (c) {
                case 'l':
                        if (!cli_parse_duration(cli, "lifetime", optarg, &o.lifetime))
                                return EXIT_USAGE;
                        break;
                case OPT_KEEP_ON_RESTART:
                        o.remove_on_restart = EPHEMDIR_NO;
                        break;
                case OPT_KEEP_WHILE_IN_USE:
                        o.keep_while_in_use = EPHEMDIR_YES;
                        break;
                case OPT_CLEANUP:
                        if (!parse_cleanup(cli, optarg, &o.cleanup))
                                return EXIT_USAGE;
                        break;
                case OPT_UNTIL_SWEEP:
                        o.cleanup = EPHEMDIR_CLEANUP_NEXT_SWEEP;
                        break;
                case OPT_MAX_SIZE:
                        if (!cli_parse_size(cli, "max size", optarg, &o.max_size))
                                return EXIT_USAGE;
                        break;
                case OPT_NAME_STYLE:
                        if (!parse_name_style(cli, optarg, &o.name_style))
                                return EXIT_USAGE;
                        break;
                case 'p':
                        o.parent = optarg;
                        break;
                case OPT_PREFIX:
                        o.prefix = optarg;
                        break;
                case OPT_WORDS:
                        if (!cli_parse_int(cli, "word count", optarg, 1, 4, &o.words))
                                return EXIT_USAGE;
                        break;
                case OPT_TAG:
                        /* One slot past the limit so the library names the violation. */
                        if (o.n_tags > EPHEMDIR_MAX_TAGS)
                                return cli_usage(cli, "too many tags (at most %d)", EPHEMDIR_MAX_TAGS);
                        tags[o.n_tags++] = optarg;
                        break;
                case OPT_DESC:
                        o.description = optarg;
                        break;
                default:
                        r = cli_common_option(cli, cli_find_command("new"), c, optarg);
                        if (r >= 0)
                                return r;
                }
        }
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 0, &r);
        if (!ctx)
                return r;
        r = ephemdir_new(ctx, &o, &d);
        if (r < 0)
                return cli_fail(cli, r);
        printf("%s\n", ephemdir_dir_path(d));
        ephemdir_dir_free(d);
        return EXIT_OK;
}
