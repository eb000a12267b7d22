/* SPDX-License-Identifier: MIT */
/*
 * install-service's backends share one set of safeguards, kept in
 * cmd-service.c: the runtime trust checks, the trusted walk to the target
 * directory, atomic writes relative to its fd, and the fingerprint that lets
 * uninstall-service remove only what install-service wrote.  A backend only
 * says what text goes where and how its service manager learns about it:
 * systemd (cmd-service.c) or launchd (service-launchd.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli.h"

/* What the scheduled job runs, checked before anything is written. */
struct service_params {
        const char *exe;           /* absolute, symlink-free, trusted */
        const char *data_dir;      /* effective absolute dirs to pin */
        const char *config_dir;
        int64_t interval;          /* seconds between sweeps */
        const char *interval_arg;  /* --interval as given; NULL: the default */
};

/* How a generated file identifies itself: it starts with header, and its
 * last line is seal_open, 16 hex digits of a fingerprint of everything
 * before that line, seal_close and a newline.  The marks suit the format
 * (a comment), so the file stays valid for its reader. */
struct service_style {
        const char *header;
        const char *seal_open;
        const char *seal_close;
};

enum service_file {
        SERVICE_FILE_ABSENT,
        SERVICE_FILE_OURS,
        SERVICE_FILE_FOREIGN,   /* someone else's, edited, or not a regular file */
};

/* Informational line on stderr (stdout is data); hidden by --quiet. */
void service_note(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A generated file's text: a memstream into *buf, *len that starts with
 * the style's header; NULL when out of memory. */
FILE *service_open_text(const struct service_style *style, char **buf, size_t *len);

/* Close the memstream f (its text in *buf, *len) and return that text
 * sealed with its fingerprint line in *ret. */
int service_seal(const struct service_style *style, FILE *f, char **buf, size_t *len, char **ret);

/* Whether dir_fd/name is a file install-service wrote in this style and
 * nobody changed since. */
enum service_file service_file_state(const struct service_style *style, int dir_fd, const char *name);

/* Write each names[i] (0644) with texts[i] into dir_fd, in order, each
 * through a temporary file and a rename, then sync the directory; print
 * each path written.  Refuses (nothing written) when any of them exists
 * and is not ours.  Returns the exit code. */
int service_write_files(const struct cli *cli, const struct service_style *style, int dir_fd, const char *dir,
                        const char *const *names, const char *const *texts, size_t n);

/* Remove the names whose state is ours, print each path removed; name the
 * foreign ones and leave them.  Returns the exit code. */
int service_remove_files(const struct cli *cli, int dir_fd, const char *dir, const char *const *names,
                         const enum service_file *state, size_t n);

/* uninstall-service's start: open dir (no creation) and read the state of
 * each name.  -1 to go on with ret_state[] and *ret_fd; else the exit code
 * to return (0 with a note when nothing is installed). */
int service_find_installed(const struct cli *cli, const struct service_style *style, const char *what,
                           const char *dir, const char *const *names, size_t n, enum service_file *ret_state,
                           int *ret_fd);

/* Open dir through the trusted walk (what names it in messages, e.g. "the
 * unit directory"); with create, make the missing part 0700.  0 with
 * *ret_fd; -ENOENT when it does not exist (without create); else the exit
 * code of the refusal printed. */
int service_open_dir(const struct cli *cli, const char *what, const char *dir, bool create, uid_t uid,
                     int *ret_fd);

/* The user's home directory, absolute and normalized: $HOME, else the
 * password database. */
int service_home(char **ret);

/* The launchd backend (service-launchd.c): a LaunchAgent. */
int launchd_check_interval(const struct cli *cli, const struct service_params *p);
int launchd_install(const struct cli *cli, const struct service_params *p, bool enable);
int launchd_uninstall(const struct cli *cli);
