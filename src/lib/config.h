/* SPDX-License-Identifier: MIT */
/*
 * The user's config.yaml: defaults for struct ephemdir_new_opts
 * (flag > config > built-in).  Loaded with a libcyaml schema; a libyaml event
 * pass in front of it finds the line and column of every key and value and
 * checks what libcyaml is lax about (booleans, integers, duplicate and
 * unknown keys, aliases, tags, NUL bytes), so every error names its place.
 *
 *   lifetime: 6h                # duration, integer seconds, or none / null
 *   remove_on_restart: true     # true/false (yes/no also accepted)
 *   keep_while_in_use: false
 *   cleanup: auto               # auto | next-sweep
 *   max_size: 2GiB              # size, integer bytes, or none / null
 *   name_style: auto            # auto | secure | clean
 *   parent: ~/scratch           # absolute, or ~ / ~/... ($HOME)
 *   prefix: "tmp-"              # names_validate_prefix(); null = ""
 *   words: 2                    # 1..4
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "ephemdir.h"

#define CONFIG_FILE_NAME "config.yaml"
#define CONFIG_TOML_NAME "config.toml"
#define CONFIG_MAX_SIZE (64 * 1024)

struct config {
        struct ephemdir_new_opts defaults;   /* zero = not set in the file; strings owned */
        char *path;                          /* the file read, or NULL */
};

/* Load <config_dir>/config.yaml.
 *
 *  - config_dir or config.yaml absent: empty config, 0.  (config_dir itself
 *    is opened normally: a symlinked ~/.config/ephemdir is fine.)
 *  - config.yaml is opened openat(O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC) relative
 *    to the dir: a symlink is refused with -EPERM, anything but a regular
 *    file (FIFO, directory, device; never blocks) with -EINVAL, a file over
 *    CONFIG_MAX_SIZE with -EFBIG.  *ret_error says which ("<file>: ...").
 *  - Owned by another uid than `uid`, or writable by group/others: ignored,
 *    a warning in *ret_warnings, empty config, 0.
 *  - config.toml in the dir: a warning naming config.yaml (yaml still read).
 *  - Syntax error, unknown or duplicate key, wrong type, bad value: -EINVAL,
 *    *ret_error = "<config_dir>/config.yaml:LINE:COL: message" (1-based,
 *    LINE:COL of the offending key or value).
 *  - Empty file (or only comments, or a null document): empty config.
 *
 * *ret and *ret_warnings (NULL when none; lines joined by '\n') are written
 * only on success; *ret_error only on failure (NULL for -ENOMEM).
 * ret_error and ret_warnings may be NULL. */
int config_load(const char *config_dir, uid_t uid, struct config *ret,
                char **ret_error, char **ret_warnings);

/* The YAML part of config_load() on a buffer (need not be NUL-terminated;
 * may contain NUL bytes, which are an error).  display_path prefixes error
 * messages.  ret->path is left NULL.  Same return and ret_ conventions. */
int config_parse_buffer(const char *buf, size_t len, const char *display_path,
                        struct config *ret, char **ret_error);

/* Free the owned strings and zero *c.  NULL-safe; idempotent. */
void config_done(struct config *c);
