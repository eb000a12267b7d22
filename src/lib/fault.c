/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

#if EPHEMDIR_TEST_HOOKS
/* Is name one of the comma-separated words of list? */
static bool listed(const char *list, const char *name) {
        size_t n = strlen(name);

        for (const char *p = list; p && *p; ) {
                size_t len = strcspn(p, ",");
                if (len == n && strncmp(p, name, n) == 0)
                        return true;
                p += len;
                p += *p == ',';
        }
        return false;
}

void fault_point(const char *name) {
        const char *want = getenv("EPHEMDIR_FAULT");

        /* SIGSTOP, not a file to wait for: the test sees the stop in /proc,
         * nothing is created, and a test that dies leaves no waiting loop. */
        if (listed(getenv("EPHEMDIR_TEST_PAUSE"), name))
                kill(getpid(), SIGSTOP);
        if (want && strcmp(want, name) == 0) {
                /* SIGKILL, not abort(): no atexit, no cleanup attribute, no
                 * sanitizer report — the state on disk is exactly what a
                 * crash at this step would leave. */
                kill(getpid(), SIGKILL);
                _exit(137);
        }
}
#endif
