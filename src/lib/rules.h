/* SPDX-License-Identifier: MIT */
/*
 * Declarative rules: the *.yaml files of rules.d, read by ephemdir-apply.
 *
 *   version: 1                  # required; the only version there is
 *   directories:                # optional; a list (null or [] = no rules)
 *     - name: build-cache       # required, [a-z0-9][a-z0-9._-]{0,63}
 *       parent: ~/scratch       # required; absolute, or ~ / ~/... ($HOME, user scope only)
 *       lifetime: 2h            # optional; omitted, none or null = no time limit
 *       remove_on_restart: true # default true
 *       keep_while_in_use: true # default false
 *       max_size: 2GiB          # optional; omitted, none or null = no size limit
 *       recreate: true          # default true
 *       name_style: clean       # clean (default) | secure
 *       tags: [build]           # at most 16, each ^[a-z0-9][a-z0-9._-]{0,31}$, no repeats
 *       description: cargo target dir   # <= 256 bytes, no control characters
 *
 * There is no `cleanup` key (an unknown key, like any other).  The file is
 * read like config.yaml (yamlpos.h): a libyaml scan for positions and
 * strictness in front of a libcyaml schema, so an invalid file is reported
 * as "FILE:LINE:COLUMN: message", LINE:COLUMN (1-based) at the offending
 * key or value: unknown key, duplicate key, bad duration or size, bad rule
 * or tag name, more than 16 tags, relative parent, not a mapping / not a
 * list, non-UTF-8 bytes, a YAML syntax error, a rule name repeated in the
 * same file, a missing name or parent (at the rule's mapping), a version
 * other than 1 (at its value), a missing version (at 1:1).
 *
 * Directories (rules_load): each is opened with fs_open_trusted_read_dir():
 * reached from "/", every directory on the way owned by uid or root
 * (group/other-writable only when root's and sticky), and the dir itself
 * owned by uid or root and writable by nobody else; a symlink on the way is
 * followed only when owned by uid or root, and where it leads is checked
 * the same way.  So another user can neither add a rule file nor swap the
 * directory.  A dir
 * that does not exist is skipped; a refused or unreadable one is an error.
 *
 * Precedence (rules_load): dirs are given highest priority first.  Every
 * non-hidden "*.yaml" entry of a dir claims its file name; the entry in the
 * highest dir wins the name and the same name in lower dirs is never read,
 * whatever becomes of the winner:
 *  - a symlink whose target is exactly "/dev/null" masks the name;
 *  - any other symlink is refused with a warning (files are opened with
 *    O_NOFOLLOW: packages ship regular files, admins mask with /dev/null);
 *  - anything but a regular file, a file owned by neither uid nor root, or
 *    one writable by group or others is refused with a warning;
 *  - a file over RULES_MAX_FILE_SIZE, unreadable, or invalid is an error
 *    (its rules are all skipped; the other files still load).
 * The winning files are read in lexical (strcmp) order of file name across
 * all dirs; rules keep their order inside a file.  A rule name already
 * defined by an earlier file: the first wins, a warning names both files.
 *
 * Callers: an invalid file's rules are absent from the set, so "nothing is
 * deleted on the strength of an invalid rule" holds as long as a missing
 * rule never causes a deletion.  When n_errors > 0 the set is incomplete
 * (a rule name of an invalid file may even be served by a lower-sorted file
 * that defines it too): exit 2.  unread lists every file and directory
 * whose rules are unknown this run (invalid, unreadable, refused): while it
 * is not empty, a rule name missing from the set may still be declared
 * there, so its entry is no orphan but unknown, and is left alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ephemdir.h"

#define RULES_SUFFIX ".yaml"
#define RULES_MAX_FILE_SIZE (256 * 1024)
#define RULES_VERSION 1
#define RULES_MAX_NAME 64

/* Search path, highest priority first.  User scope: <config_dir>/rules.d first. */
#define RULES_USER_DIR_NAME "rules.d"
#define RULES_USER_ETC_DIR "/etc/ephemdir/user-rules.d"
#define RULES_USER_LIB_DIR "/usr/lib/ephemdir/user-rules.d"
#define RULES_SYSTEM_ETC_DIR "/etc/ephemdir/rules.d"
#define RULES_SYSTEM_RUN_DIR "/run/ephemdir/rules.d"
#define RULES_SYSTEM_LIB_DIR "/usr/lib/ephemdir/rules.d"

struct rule {
        char *name;
        char *parent;              /* absolute, normalized (path_normalize); ~ expanded with $HOME */
        char *file;                /* the rule file's path, as displayed in messages */
        size_t line, column;       /* where the rule's mapping starts, 1-based */
        int64_t lifetime;          /* seconds; 0 = no time limit */
        bool remove_on_restart;    /* default true */
        bool keep_while_in_use;    /* default false */
        bool recreate;             /* default true */
        int64_t max_size;          /* bytes; EPHEMDIR_NO_SIZE_LIMIT = none */
        enum ephemdir_name_style name_style;   /* EPHEMDIR_NAME_CLEAN (default) or _SECURE */
        char **tags;               /* NULL-terminated; NULL when none */
        size_t n_tags;
        char *description;         /* NULL when none */
};

/* A file name masked by a symlink to /dev/null. */
struct rule_mask {
        char *path;                /* the symlink, as displayed */
        char **hidden;             /* the files of that name in lower dirs, never read; NULL-terminated */
        size_t n_hidden;
};

/* Every array is also NULL-terminated (rules, masks: not; use n_rules, n_masks). */
struct rule_set {
        struct rule *rules;        /* effective rules: file order, then position in the file */
        size_t n_rules;
        char **files;              /* valid files read, in order (for --cat-config) */
        size_t n_files;
        struct rule_mask *masks;   /* in lexical order of file name, like files */
        size_t n_masks;
        char **errors;             /* "FILE:LINE:COL: message" (content) or "PATH: message" (I/O,
                                    * size); each such file was skipped whole */
        size_t n_errors;
        char **warnings;           /* duplicate rule names, refused files, ... ("PATH...: message") */
        size_t n_warnings;
        char **unread;             /* paths of the files and dirs behind errors and refusals */
        size_t n_unread;
};

/* Read the rule files of dirs (highest priority first; see above).  A dir
 * that does not exist is skipped; one that cannot be opened or read is an
 * error in the set, and so is one that fails the trust check above (a
 * relative dir is taken from the current directory, and shown as given).
 * Files and dirs must be owned by uid or root (system scope: pass uid 0, so
 * only root) and not be group/other-writable.  In system scope a
 * parent may not use "~".  Returns 0 with *ret filled whatever the files
 * held (look at ret->n_errors), -ENOMEM, or -EINVAL for bad arguments;
 * *ret is written only on success. */
int rules_load(const char *const *dirs, size_t n_dirs, uid_t uid, bool system_scope, struct rule_set *ret);

/* Free everything and zero *s.  NULL-safe; idempotent. */
void rule_set_done(struct rule_set *s);

/* The default search path: user scope <config_dir>/rules.d (config_dir: the
 * resolved $EPHEMDIR_CONFIG_DIR, required), RULES_USER_ETC_DIR,
 * RULES_USER_LIB_DIR; system scope (config_dir ignored) RULES_SYSTEM_*_DIR
 * in the order etc, run, lib.  *ret is a malloc'd NULL-terminated array of
 * malloc'd strings (free each, then the array); *ret_n its length. */
int rules_default_dirs(const char *config_dir, bool system_scope, char ***ret, size_t *ret_n);

/* Parse one file's bytes (need not be NUL-terminated; NUL bytes are an
 * error) as user-scope rules and add them to *into: on success its rules
 * (a rule name already in *into: skipped with a warning naming both files)
 * and display_path to files, 0; when invalid one error line, nothing else,
 * -EINVAL.  -ENOMEM may leave *into partly extended (still consistent:
 * rule_set_done() frees it).  *into must be zeroed or come from earlier
 * calls.  An invalid buffer also adds display_path to unread. */
int rules_parse_buffer(const char *buf, size_t len, const char *display_path, struct rule_set *into);

/* ^[a-z0-9][a-z0-9._-]{0,63}$ */
bool rules_name_is_valid(const char *name);
