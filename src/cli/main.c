/* SPDX-License-Identifier: MIT */
/* ephemdir: dispatch, global flags, and the diagnostics conventions. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "buildconf.h"

const struct command cli_commands[] = {
        { "new", cmd_new, "[options]", "create a directory and print its path",
          "  -l, --lifetime D        time to live (90, 30m, 1h30m, 7d, 2w)\n"
          "      --keep-on-restart   do not remove it after a restart\n"
          "      --keep-while-in-use defer removal while files inside are in use\n"
          "      --cleanup MODE      auto (default) or next-sweep\n"
          "      --until-sweep       same as --cleanup next-sweep\n"
          "      --max-size SIZE     due once bigger than SIZE (512K, 2GiB)\n"
          "      --name-style STYLE  auto, secure (default) or clean\n"
          "  -p, --parent DIR        where to create it (default: current directory)\n"
          "      --prefix TEXT       prepended to the generated name\n"
          "      --words N           words in the generated name (1-4, default 2)\n"
          "      --tag TAG           label it (repeatable)\n"
          "      --desc TEXT         a short description\n" },
        { "list", cmd_list, "[options]", "tracked directories, status and time left",
          "      --json              machine-readable output\n"
          "      --tag TAG           only entries with this tag\n" },
        { "path", cmd_path, "[options] [TARGET]",
          "print a tracked directory's path (no target: the one you stand in, else the newest)",
          "      --json              machine-readable output\n" },
        { "last", cmd_last, "[options]", "print the most recently created directory's path",
          "      --json              machine-readable output\n" },
        { "rm", cmd_rm, "[options] [TARGET...]", "remove tracked directories now", "" },
        { "keep", cmd_keep, "[options] [TARGET... | --tag TAG]", "stop tracking, keep on disk forever",
          "      --tag TAG           keep every directory with this tag\n" },
        { "extend", cmd_extend, "[options] [TARGET] (DURATION | --forever)",
          "fresh lifetime counted from now",
          "      --forever           no time limit\n" },
        { "sweep", cmd_sweep, "[options]", "remove everything due now",
          "  -n, --dry-run           show what would be removed, change nothing\n"
          "      --json              with --dry-run: machine-readable output\n"
          "      --force             remove every tracked directory that verifies as ours\n"
          "      --tag TAG           only directories with this tag\n" },
        { "explain", cmd_explain, "[options] [TARGET]", "why a directory is or is not due, and what blocks it",
          "      --json              machine-readable output\n" },
        { "stats", cmd_stats, "[options]", "counts of created, swept, removed, kept and tracked directories",
          "      --json              machine-readable output\n" },
        { "watch", cmd_watch, "[options]", "sweep now and periodically, in the foreground",
          "      --interval D        time between sweeps (default 10m)\n" },
        { "doctor", cmd_doctor, "[options]", "where the registry lives and which safety mechanisms work here",
          "      --json              machine-readable output\n" },
        { "recover", cmd_recover, "[options] TARGET",
          "retry an interrupted deletion, or forget it",
          "      --forget            drop the entry; touch neither the directory nor its staging copy\n" },
        { "prune", cmd_prune, "[options]", "forget tracked entries missing from disk", "" },
        { "install-service", cmd_install_service, "[options]",
          "schedule sweeps with a systemd user timer", "" },
        { "uninstall-service", cmd_uninstall_service, "[options]",
          "remove the scheduled sweep service", "" },
        { "shell-init", cmd_shell_init, "[bash|zsh|fish]",
          "print shell functions ecd and enew (eval \"$(ephemdir shell-init)\")", "" },
        { "completion", cmd_completion, "bash|zsh|fish", "print a shell completion script", "" },
        { NULL, NULL, NULL, NULL, NULL },
};

/* Commands that take TARGETs act, without one, on the managed directory the
 * current directory is inside (or fail closed). */
static const char common_help[] =
        "  -v, --verbose           more output\n"
        "  -q, --quiet             only errors\n"
        "      --color WHEN        auto, always or never (honours NO_COLOR)\n"
        "      --plain             ASCII status tags instead of emoji\n"
        "  -h, --help              show this help\n";

const struct command *cli_find_command(const char *name) {
        for (const struct command *c = cli_commands; c->name; c++)
                if (strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

static void vreport(const struct cli *cli, const char *level, const char *fmt, va_list ap) {
        fprintf(stderr, "ephemdir: ");
        if (cli->command)
                fprintf(stderr, "%s: ", cli->command);
        if (level)
                fprintf(stderr, "%s: ", level);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

void cli_error(const struct cli *cli, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vreport(cli, NULL, fmt, ap);
        va_end(ap);
}

void cli_warn(const struct cli *cli, const char *fmt, ...) {
        va_list ap;
        if (cli->verbosity < 0)
                return;
        va_start(ap, fmt);
        vreport(cli, "warning", fmt, ap);
        va_end(ap);
}

int cli_fail(const struct cli *cli, int err) {
        const char *detail = cli->ctx ? ephemdir_last_error(cli->ctx) : "";

        cli_error(cli, "%s", *detail ? detail : ephemdir_strerror(err));
        return err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
}

int cli_usage(const struct cli *cli, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vreport(cli, NULL, fmt, ap);
        va_end(ap);
        fprintf(stderr, "Try 'ephemdir %s%s--help' for more information.\n",
                cli->command ? cli->command : "", cli->command ? " " : "");
        return EXIT_USAGE;
}

static void print_command_help(const struct command *cmd) {
        printf("Usage: ephemdir %s %s\n\n%s.\n\nOptions:\n%s%s", cmd->name, cmd->usage, cmd->summary,
               cmd->help, common_help);
}

static void print_main_help(void) {
        printf("Usage: ephemdir [options] COMMAND [ARGS]\n\n"
               "Temporary directories that clean themselves up.\n\nCommands:\n");
        for (const struct command *c = cli_commands; c->name; c++)
                printf("  %-10s %s\n", c->name, c->summary);
        printf("\nTargets are a full path, an exact name or a unique name prefix.\n\n"
               "Options:\n%s      --version           print the version\n\n"
               "Run 'ephemdir COMMAND --help' for a command's options.\n", common_help);
}

static bool parse_color(const char *s, enum color_mode *ret) {
        if (strcmp(s, "auto") == 0)
                *ret = COLOR_AUTO;
        else if (strcmp(s, "always") == 0)
                *ret = COLOR_ALWAYS;
        else if (strcmp(s, "never") == 0)
                *ret = COLOR_NEVER;
        else
                return false;
        return true;
}

int cli_common_option(struct cli *cli, const struct command *cmd, int opt, const char *arg) {
        switch (opt) {
        case 'h':
                if (cmd)
                        print_command_help(cmd);
                else
                        print_main_help();
                return EXIT_OK;
        case 'v':
                cli->verbosity++;
                return -1;
        case 'q':
                cli->verbosity = -1;
                return -1;
        case OPT_COLOR:
                if (!parse_color(arg, &cli->color))
                        return cli_usage(cli, "invalid --color value '%s' (expected auto, always or never)", arg);
                return -1;
        case OPT_PLAIN:
                cli->plain = true;
                return -1;
        case ':':
                if (optopt)
                        return cli_usage(cli, "option '-%c' needs an argument", optopt);
                return cli_usage(cli, "option '%s' needs an argument", cli->argv[optind - 1]);
        default:
                if (optopt)
                        return cli_usage(cli, "unknown option '-%c'", optopt);
                return cli_usage(cli, "unknown option '%s'", cli->argv[optind - 1]);
        }
}

static void log_to_stderr(int level, const char *message, void *userdata) {
        const struct cli *cli = userdata;

        /* Errors reach the user once, through cli_fail(); but a context that
         * failed to open is gone by then, so its reason is printed here. */
        if (level <= EPHEMDIR_LOG_ERR) {
                if (!cli->ctx)
                        cli_error(cli, "%s", message);
                return;
        }
        if (level <= EPHEMDIR_LOG_WARNING)
                cli_warn(cli, "%s", message);
        else if (level <= EPHEMDIR_LOG_INFO ? cli->verbosity > 0 : cli->verbosity > 1)
                cli_error(cli, "%s", message);
}

ephemdir_ctx *cli_ctx(struct cli *cli) {
        struct ephemdir_ctx_opts opts = { .log = log_to_stderr, .log_userdata = cli };

        if (!cli->ctx && ephemdir_ctx_open(&cli->ctx, &opts) < 0)
                return NULL;
        return cli->ctx;
}

bool cli_parse_duration(const struct cli *cli, const char *what, const char *s, int64_t *ret) {
        int r = ephemdir_parse_duration(s, ret);
        if (r < 0) {
                cli_usage(cli, "invalid %s '%s' (%s; examples: 90, 30m, 1h30m, 7d, 2w)", what, s,
                          r == -ERANGE ? "too large" : "not a duration");
                return false;
        }
        return true;
}

bool cli_parse_size(const struct cli *cli, const char *what, const char *s, int64_t *ret) {
        int r = ephemdir_parse_size(s, ret);
        if (r < 0) {
                cli_usage(cli, "invalid %s '%s' (%s; examples: 4096, 512K, 2GiB, 500MB)", what, s,
                          r == -ERANGE ? "too large" : "not a size");
                return false;
        }
        return true;
}

bool cli_parse_int(const struct cli *cli, const char *what, const char *s, int min, int max, int *ret) {
        char *end;

        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max) {
                cli_usage(cli, "invalid %s '%s' (expected %d..%d)", what, s, min, max);
                return false;
        }
        *ret = (int) v;
        return true;
}

int cli_check_args(const struct cli *cli, int argc, char **argv, int min, int max) {
        int n = argc - optind;

        if (n < min)
                return cli_usage(cli, "missing argument");
        if (max >= 0 && n > max)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + max]);
        return -1;
}

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
