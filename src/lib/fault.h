/* SPDX-License-Identifier: MIT */
/*
 * Crash-test hooks.  In builds with -Dtest_hooks=true, fault_point("x") kills
 * the process with SIGKILL when EPHEMDIR_FAULT=x: no cleanup handler runs,
 * exactly like a crash or power cut.  It first stops the process with
 * SIGSTOP when x is in the comma-separated list EPHEMDIR_TEST_PAUSE, so a
 * test can act at exactly that step (start a process that races the
 * deletion) and then let it go on with SIGCONT.  Release builds compile it
 * to nothing.
 */
#pragma once

#include "buildconf.h"

#if EPHEMDIR_TEST_HOOKS
void fault_point(const char *name);
#else
static inline void fault_point(const char *name) {
        (void) name;
}
#endif
