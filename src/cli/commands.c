/* SPDX-License-Identifier: MIT */
/* The command table and the help texts built from it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
        { "tree", cmd_tree, "[options]", "tracked directories grouped by parent, with sizes",
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
        { "apply", cmd_apply, "[options]",
          "reconcile rules.d with the registry, then sweep (same as ephemdir-apply)",
          "  -n, --dry-run           show what would change, change nothing\n"
          "      --validate          only read and check the rule files (the registry is not opened)\n"
          "      --cat-config        print the effective rule files and masks in order\n"
          "      --rules-only        do not sweep other due directories\n"
          "      --rules-dir DIR     read rules from DIR (repeatable; replaces the search path)\n"
          "      --system            system scope (root): /etc, /run, /usr/lib rules.d\n"
          "      --json              a JSON report of what was done\n" },
        { "install-service", cmd_install_service, "[options]",
          "schedule sweeps: a systemd user timer (macOS: a LaunchAgent)",
          "      --interval D        time between sweeps (default 10m)\n"
          "      --no-enable         write the files only; print the command that enables them\n" },
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

void cli_print_command_help(const struct command *cmd) {
        printf("Usage: ephemdir %s %s\n\n%s.\n\nOptions:\n%s%s", cmd->name, cmd->usage, cmd->summary,
               cmd->help, common_help);
}

void cli_print_main_help(void) {
        printf("Usage: ephemdir [options] COMMAND [ARGS]\n\n"
               "Temporary directories that clean themselves up.\n\nCommands:\n");
        for (const struct command *c = cli_commands; c->name; c++)
                printf("  %-10s %s\n", c->name, c->summary);
        printf("\nTargets are a full path, an exact name or a unique name prefix.\n\n"
               "Options:\n%s      --version           print the version\n\n"
               "Run 'ephemdir COMMAND --help' for a command's options.\n", common_help);
}
