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

/* The largest --interval a service manager can hold, and what holds it
 * (for the refusal).  A larger value it would not refuse but drop: the
 * sweeps would silently stop. */
struct service_interval_limit {
        int64_t max;           /* seconds */
        const char *holder;    /* e.g. "launchd's StartInterval" */
};

/* Refuse (exit 2, naming the value) an interval above limit; EXIT_OK
 * otherwise.  Shared by every backend, run before anything is written. */
int service_check_interval(const struct cli *cli, const struct service_params *p,
                           const struct service_interval_limit *limit);

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

/* doctor's look at dir, through the same walk but printing nothing: 0 with
 * *ret_fd; -ENOENT when some of it is missing; else -errno with *ret_why
 * naming the component at fault and what is wrong with it. */
int service_peek_dir(const char *dir, uid_t uid, int *ret_fd, char **ret_why);

/* Whether install-service writes a LaunchAgent here rather than systemd
 * units: on macOS, or in a test build when EPHEMDIR_TEST_SERVICE_BACKEND
 * says launchd. */
bool service_use_launchd(void);

/* The user's home directory, absolute and normalized: $HOME, else the
 * password database. */
int service_home(char **ret);

/* The launchd backend (service-launchd.c): a LaunchAgent. */
extern const struct service_interval_limit launchd_interval_limit;
int launchd_install(const struct cli *cli, const struct service_params *p, bool enable);
int launchd_uninstall(const struct cli *cli);

/* What doctor tells about the LaunchAgent: launchd_report() only looks
 * (the trusted walk, the fingerprint, `launchctl print`), changes nothing. */
enum agent_loaded {
        AGENT_LOADED_UNKNOWN,   /* no launchctl here to ask */
        AGENT_LOADED_NO,
        AGENT_LOADED_YES,
        AGENT_LOADED_FAILED,    /* launchctl could not answer: loaded_why */
};

struct launchd_report {
        char *plist;               /* the agent's path; NULL when unknown (file_error) */
        enum service_file file;    /* when file_error is 0 */
        int file_error;            /* -errno: the file could not be looked at */
        char *file_why;            /* with file_error: the component at fault and why, or NULL */
        enum agent_loaded loaded;
        char loaded_why[64];       /* with AGENT_LOADED_FAILED */
        char target[64];           /* gui/<uid>/org.ephemdir.sweep */
};

void launchd_report(struct launchd_report *ret);
void launchd_report_done(struct launchd_report *r);
