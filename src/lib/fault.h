/* SPDX-License-Identifier: MIT */
/*
 * Crash-test hooks.  In builds with -Dtest_hooks=true, fault_point("x") kills
 * the process with SIGKILL when EPHEMDIR_FAULT=x: no cleanup handler runs,
 * exactly like a crash or power cut.  Release builds compile it to nothing.
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
