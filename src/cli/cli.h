/* SPDX-License-Identifier: MIT */
/*
 * Shared state and conventions of the ephemdir command line:
 *  - stdout carries data only (paths, tables, JSON); diagnostics go to
 *    stderr as "ephemdir: <command>: <reason>";
 *  - exit 0 success, 2 usage/validation error, 1 any other failure.
 */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "ephemdir.h"

enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2,
};

enum color_mode {
        COLOR_AUTO,
        COLOR_ALWAYS,
        COLOR_NEVER,
};

struct cli {
        const char *command;      /* for messages */
        int verbosity;            /* 0 normal, <0 quiet, >0 verbose */
        enum color_mode color;
        bool plain;               /* ASCII status tags instead of emoji */
        ephemdir_ctx *ctx;        /* opened lazily by cli_ctx() */
        char **argv;              /* the command's argv, for getopt error messages */
        const char *data_dir;     /* NULL: the usual default (apply --system sets it) */
};

struct command {
        const char *name;
        int (*run)(struct cli *cli, int argc, char **argv);
        const char *usage;        /* "[options] TARGET" */
        const char *summary;
        const char *help;         /* option lines for --help */
};

/* Options every command accepts.  Commands put COMMON_LONG_OPTIONS at the end
 * of their option table and COMMON_SHORT_OPTIONS in their optstring. */
enum {
        OPT_COLOR = 0x100,
        OPT_PLAIN,
        OPT_JSON,
        OPT_FIRST_COMMAND_OPTION,
};
#define COMMON_SHORT_OPTIONS ":hvq"   /* ":" = we report getopt errors */
#define COMMON_LONG_OPTIONS                                         \
        { "help", no_argument, NULL, 'h' },                         \
        { "verbose", no_argument, NULL, 'v' },                      \
        { "quiet", no_argument, NULL, 'q' },                        \
        { "color", required_argument, NULL, OPT_COLOR },            \
        { "colour", required_argument, NULL, OPT_COLOR },           \
        { "plain", no_argument, NULL, OPT_PLAIN },                  \
        { NULL, 0, NULL, 0 }

/* Handle a common option (or getopt's '?').  Returns -1 when handled and the
 * command should go on, else an exit code (help printed: 0; usage: 2). */
int cli_common_option(struct cli *cli, const struct command *cmd, int opt, const char *arg);

/* The library context, opened on first use; NULL after printing why. */
ephemdir_ctx *cli_ctx(struct cli *cli);
/* The options cli_ctx() opens with (log to stderr): for library calls that
 * need no context, such as ephemdir_apply_validate(). */
struct ephemdir_ctx_opts cli_ctx_opts(struct cli *cli);

/* Print "ephemdir: <command>: <fmt...>" to stderr. */
void cli_error(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_warn(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report a failed library call: the library's detail if any, else the error
 * text.  Returns the exit code for it (2 for -EINVAL, else 1). */
int cli_fail(const struct cli *cli, int err);

/* Usage error: message then a hint to --help; returns 2. */
int cli_usage(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse helpers that print the bad value and return false. */
bool cli_parse_duration(const struct cli *cli, const char *what, const char *s, int64_t *ret);
bool cli_parse_size(const struct cli *cli, const char *what, const char *s, int64_t *ret);
bool cli_parse_int(const struct cli *cli, const char *what, const char *s, int min, int max, int *ret);

/* At most `max` positional arguments remain; else a usage error (2). */
int cli_check_args(const struct cli *cli, int argc, char **argv, int min, int max);

/* The common start of a command after its options: operand count checked,
 * library context open.  NULL: *ret_exit is the exit code to return. */
ephemdir_ctx *cli_start(struct cli *cli, int argc, char **argv, int min, int max, int *ret_exit);

int cmd_new(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_path(struct cli *cli, int argc, char **argv);
int cmd_rm(struct cli *cli, int argc, char **argv);
int cmd_keep(struct cli *cli, int argc, char **argv);
int cmd_extend(struct cli *cli, int argc, char **argv);
int cmd_prune(struct cli *cli, int argc, char **argv);
int cmd_recover(struct cli *cli, int argc, char **argv);
int cmd_apply(struct cli *cli, int argc, char **argv);
int cmd_explain(struct cli *cli, int argc, char **argv);
int cmd_tree(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);
int cmd_last(struct cli *cli, int argc, char **argv);
int cmd_watch(struct cli *cli, int argc, char **argv);
int cmd_doctor(struct cli *cli, int argc, char **argv);

/* Print a directory handle (path, or JSON) and free it; returns an exit code. */
int print_dir(ephemdir_dir *d, bool json);
int cmd_shell_init(struct cli *cli, int argc, char **argv);
int cmd_install_service(struct cli *cli, int argc, char **argv);
int cmd_uninstall_service(struct cli *cli, int argc, char **argv);
int cmd_completion(struct cli *cli, int argc, char **argv);
int cmd_sweep(struct cli *cli, int argc, char **argv);

extern const struct command cli_commands[];
const struct command *cli_find_command(const char *name);
void cli_print_command_help(const struct command *cmd);
void cli_print_main_help(void);
