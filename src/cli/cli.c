/* SPDX-License-Identifier: MIT */
/* Conventions shared by every command: diagnostics, exit codes, common
 * options, parsing helpers, and the library context. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
                        cli_print_command_help(cmd);
                else
                        cli_print_main_help();
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

struct ephemdir_ctx_opts cli_ctx_opts(struct cli *cli) {
        return (struct ephemdir_ctx_opts) { .log = log_to_stderr, .log_userdata = cli, .data_dir = cli->data_dir };
}

ephemdir_ctx *cli_ctx(struct cli *cli) {
        struct ephemdir_ctx_opts opts = cli_ctx_opts(cli);

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

ephemdir_ctx *cli_start(struct cli *cli, int argc, char **argv, int min, int max, int *ret_exit) {
        int r = cli_check_args(cli, argc, argv, min, max);
        if (r >= 0) {
                *ret_exit = r;
                return NULL;
        }
        ephemdir_ctx *ctx = cli_ctx(cli);
        if (!ctx)
                *ret_exit = EXIT_FAIL;
        return ctx;
}
