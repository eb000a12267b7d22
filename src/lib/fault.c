/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

#if EPHEMDIR_TEST_HOOKS
void fault_point(const char *name) {
        const char *want = getenv("EPHEMDIR_FAULT");

        if (want && strcmp(want, name) == 0) {
                /* SIGKILL, not abort(): no atexit, no cleanup attribute, no
                 * sanitizer report — the state on disk is exactly what a
                 * crash at this step would leave. */
                kill(getpid(), SIGKILL);
                _exit(137);
        }
}
#endif
