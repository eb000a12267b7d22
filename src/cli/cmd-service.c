/* SPDX-License-Identifier: MIT */
/* ephemdir install-service / uninstall-service: being written. */
#include "cli.h"

int cmd_install_service(struct cli *cli, int argc, char **argv) {
        return cli_usage(cli, "not implemented yet");
}

int cmd_uninstall_service(struct cli *cli, int argc, char **argv) {
        return cli_usage(cli, "not implemented yet");
}
