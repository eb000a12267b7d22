/* SPDX-License-Identifier: MIT */
/* ephemdir: global flags and dispatch to the command table (commands.c). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "buildconf.h"

static int run_command(struct cli *cli, const struct command *cmd, int argc, char **argv) {
        cli->command = cmd->name;
        cli->argv = argv;
        optind = 0;   /* reset getopt for the command's own parse (GNU: 0 = full reinit) */
        return cmd->run(cli, argc, argv);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "version", no_argument, NULL, 'V' },
                COMMON_LONG_OPTIONS,
        };
        struct cli cli = { .color = COLOR_AUTO };
        int c, r;

        cli.argv = argv;
        /* "+": stop at the command name; its options are its own. */
        while ((c = getopt_long(argc, argv, "+" COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == 'V') {
                        printf("ephemdir %s\n", EPHEMDIR_VERSION);
                        return EXIT_OK;
                }
                r = cli_common_option(&cli, NULL, c, optarg);
                if (r >= 0)
                        return r;
        }
        if (optind >= argc)
                return cli_usage(&cli, "no command given");

        const struct command *cmd = cli_find_command(argv[optind]);
        if (!cmd)
                return cli_usage(&cli, "unknown command '%s'", argv[optind]);
        r = run_command(&cli, cmd, argc - optind, argv + optind);
        ephemdir_ctx_close(cli.ctx);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                cli_error(&cli, "writing output: %s", strerror(errno));
                return EXIT_FAIL;
        }
        return r;
}
