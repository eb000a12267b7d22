/* SPDX-License-Identifier: MIT */
/* ephemdir-apply: the same as `ephemdir apply`, for units and scripts. */
#include "cli.h"

int main(int argc, char **argv) {
        struct cli cli = { .command = "apply", .argv = argv, .color = COLOR_AUTO };

        int r = cmd_apply(&cli, argc, argv);
        ephemdir_ctx_close(cli.ctx);
        return r;
}
