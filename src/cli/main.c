/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include "config.h"
#include "ephemdir.h"
int main(void) {
        printf("ephemdir %s\n", EPHEMDIR_VERSION);
        return 0;
}
