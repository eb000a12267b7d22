/* SPDX-License-Identifier: MIT */
/* Clock, boot id and the per-user directories, with their test hooks. */
#pragma once

#include <stdint.h>

/* Wall clock in epoch seconds (+ EPHEMDIR_TEST_CLOCK_OFFSET in test builds). */
int64_t platform_now(void);

/* Current boot id into a malloc'd string; *ret_source names where it came
 * from ("test-hook", "/proc/sys/kernel/random/boot_id"). */
int platform_boot_id(char **ret, const char **ret_source);

/* $HOME (or the passwd entry), normalized; NULL if unknown. */
const char *platform_home(void);

/* Data and config directories: explicit value, else $EPHEMDIR_*_DIR, else
 * XDG, else ~/.local/share / ~/.config.  Normalized absolute paths. */
int platform_data_dir(const char *explicit_dir, char **ret, const char **ret_source);
int platform_config_dir(const char *explicit_dir, char **ret, const char **ret_source);
