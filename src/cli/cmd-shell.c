/* SPDX-License-Identifier: MIT */
/* ephemdir shell-init / completion: being written. */
#include "cli.h"

int cmd_shell_init(struct cli *cli, int argc, char **argv) {
        return cli_usage(cli, "not implemented yet");
}

int cmd_completion(struct cli *cli, int argc, char **argv) {
        return cli_usage(cli, "not implemented yet");
}
