/* SPDX-License-Identifier: MIT */
/* ephemdir explain / stats / last / doctor: read-only questions about the
 * registry and the setup around it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "format.h"
#include "output.h"
#include "service.h"
#include "util.h"

/* Parse --json plus the common options; returns -1 to go on, else an exit code. */
static int parse_json_only(struct cli *cli, const char *name, int argc, char **argv, bool *json) {
        static const struct option options[] = {
                { "json", no_argument, NULL, OPT_JSON },
                COMMON_LONG_OPTIONS,
        };
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == OPT_JSON)
                        *json = true;
                else if ((r = cli_common_option(cli, cli_find_command(name), c, optarg)) >= 0)
                        return r;
        }
        return -1;
}

static json_t *words_json(char **v) {
        json_t *a = json_array();
        for (; v && *v; v++)
                json_array_append_new(a, json_string(*v));
        return a;
}

static json_t *explanation_json(const struct ephemdir_explanation *x) {
        json_t *decision = json_array();

        for (size_t i = 0; i < x->n_decision; i++)
                json_array_append_new(decision, json_pack("{s:s, s:b, s:o}", "check", x->decision[i].check,
                                                          "ok", x->decision[i].ok,
                                                          "detail", json_bytes(x->decision[i].detail)));
        return json_pack("{s:o, s:o, s:s, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                         "path", json_bytes(x->path),
                         "name", json_bytes(x->name),
                         "status", ephemdir_status_word(x->status),
                         "due", x->due,
                         "destructive_allowed", x->destructive_allowed,
                         "reasons", words_json(x->reasons),
                         "blocked_by", words_json(x->blocked_by),
                         "decision", decision,
                         "size_bytes", x->size_bytes >= 0 ? json_integer(x->size_bytes) : json_null(),
                         "max_size_bytes", x->max_size_bytes > 0 ? json_integer(x->max_size_bytes) : json_null(),
                         "expires_at", x->expires_at ? json_integer(x->expires_at) : json_null(),
                         "remaining_seconds", x->expires_at ? json_integer(x->remaining_seconds) : json_null());
}

static void print_words(const char *label, char **v) {
        printf("%-10s", label);
        if (!v || !*v)
                printf(" none");
        for (; v && *v; v++)
                printf(" %s", *v);
        printf("\n");
}

static void print_explanation(const struct cli *cli, const struct ephemdir_explanation *x) {
        struct style st;
        char *name = printable(x->name), *path = printable_path(x->path);

        style_init(&st, cli, stdout);
        printf("%s%s %s%s  %s\n", status_color(x->status, &st), status_icon(x->status, &st), name,
               color_reset(&st), path ? path : "?");
        printf("%-10s %s\n", "verdict",
               x->destructive_allowed ? "due: the next sweep removes it"
               : x->due               ? "due, but blocked: it stays until the blocker is gone"
                                      : "not due: it stays");
        print_words("reasons", x->reasons);
        print_words("blockers", x->blocked_by);
        printf("checks:\n");
        for (size_t i = 0; i < x->n_decision; i++) {
                char *detail = printable(x->decision[i].detail);
                printf("  %s %-15s %s\n", x->decision[i].ok ? (st.emoji ? "✓" : "ok") : (st.emoji ? "✗" : "!!"),
                       x->decision[i].check, detail ? detail : "?");
                free(detail);
        }
        free(name);
        free(path);
}

int cmd_explain(struct cli *cli, int argc, char **argv) {
        struct ephemdir_explanation *x = NULL;
        bool json = false;
        int r = parse_json_only(cli, "explain", argc, argv, &json);
        if (r >= 0)
                return r;
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 1, &r);
        if (!ctx)
                return r;
        r = ephemdir_explain(ctx, optind < argc ? argv[optind] : NULL, &x);
        if (r < 0)
                return cli_fail(cli, r);
        if (json) {
                json_t *j = explanation_json(x);
                r = json_print(j, stdout) < 0 ? EXIT_FAIL : EXIT_OK;
                json_decref(j);
        } else {
                print_explanation(cli, x);
                r = EXIT_OK;
        }
        ephemdir_explanation_free(x);
        return r;
}

int cmd_stats(struct cli *cli, int argc, char **argv) {
        struct ephemdir_stats s;
        bool json = false;
        int r = parse_json_only(cli, "stats", argc, argv, &json);
        if (r >= 0)
                return r;
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 0, &r);
        if (!ctx)
                return r;
        r = ephemdir_stats(ctx, &s);
        if (r < 0)
                return cli_fail(cli, r);
        if (json) {
                json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I}", "created", (json_int_t) s.created,
                                      "swept", (json_int_t) s.swept, "removed", (json_int_t) s.removed,
                                      "kept", (json_int_t) s.kept, "tracked", (json_int_t) s.tracked);
                r = json_print(j, stdout) < 0 ? EXIT_FAIL : EXIT_OK;
                json_decref(j);
                return r;
        }
        printf("created  %lld\nswept    %lld\nremoved  %lld\nkept     %lld\ntracked  %lld\n",
               (long long) s.created, (long long) s.swept, (long long) s.removed, (long long) s.kept,
               (long long) s.tracked);
        return EXIT_OK;
}

/* Shared by path and last: print a handle as a path or as JSON. */
int print_dir(ephemdir_dir *d, bool json) {
        int r = EXIT_OK;

        if (json) {
                json_t *j = json_pack("{s:o, s:o, s:I, s:o}", "path", json_bytes(ephemdir_dir_path(d)),
                                      "name", json_bytes(ephemdir_dir_name(d)),
                                      "created_at", (json_int_t) ephemdir_dir_created_at(d),
                                      "expires_at", ephemdir_dir_expires_at(d) ? json_integer(ephemdir_dir_expires_at(d))
                                                                               : json_null());
                r = json_print(j, stdout) < 0 ? EXIT_FAIL : EXIT_OK;
                json_decref(j);
        } else
                printf("%s\n", ephemdir_dir_path(d));
        ephemdir_dir_free(d);
        return r;
}

int cmd_last(struct cli *cli, int argc, char **argv) {
        ephemdir_dir *d = NULL;
        bool json = false;
        int r = parse_json_only(cli, "last", argc, argv, &json);
        if (r >= 0)
                return r;
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 0, &r);
        if (!ctx)
                return r;
        r = ephemdir_last(ctx, &d);
        if (r < 0)
                return cli_fail(cli, r);
        return print_dir(d, json);
}

/* Scheduled cleanup: which of our timers are installed and enabled for
 * this user (read from the unit directory; the manager is not asked). */
static const char *const timers[] = { "ephemdir-sweep.timer", "ephemdir-apply.timer" };

static char *user_unit_dir(void) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        char *p = NULL;

        if (xdg && xdg[0] == '/')
                return asprintf(&p, "%s/systemd/user", xdg) < 0 ? NULL : p;
        if (home && home[0] == '/')
                return asprintf(&p, "%s/.config/systemd/user", home) < 0 ? NULL : p;
        return NULL;
}

static int timer_state(const char *dir, const char *timer) {
        char path[4096];
        struct stat st;

        snprintf(path, sizeof(path), "%s/timers.target.wants/%s", dir ? dir : "", timer);
        if (dir && lstat(path, &st) == 0)
                return 2;   /* enabled (by the user) */
        snprintf(path, sizeof(path), "%s/%s", dir ? dir : "", timer);
        return dir && lstat(path, &st) == 0 ? 1 : 0;
}

static json_t *service_json(void) {
        char *dir = user_unit_dir();
        json_t *o = json_object();

        for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
                static const char *const words[] = { "absent", "installed", "enabled" };
                json_object_set_new(o, timers[i], json_string(words[timer_state(dir, timers[i])]));
        }
        free(dir);
        return o;
}

static void print_service_state(void) {
        char *dir = user_unit_dir();

        for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
                int s = timer_state(dir, timers[i]);
                printf("%-15s %s: %s\n", i == 0 ? "scheduled" : "", timers[i],
                       s == 2 ? "enabled" : s == 1 ? "installed, not enabled" : "not installed for you");
        }
        free(dir);
}

/* The LaunchAgent, where install-service writes one (launchd). */
static const char *agent_file_word(const struct launchd_report *r) {
        static const char *const words[] = {
                [SERVICE_FILE_ABSENT] = "absent",
                [SERVICE_FILE_OURS] = "ours",
                [SERVICE_FILE_FOREIGN] = "foreign",
        };
        return r->file_error ? "unchecked" : words[r->file];
}

static json_t *launch_agent_json(void) {
        struct launchd_report r;

        if (!service_use_launchd())
                return json_null();
        launchd_report(&r);
        json_t *o = json_pack("{s:o, s:s, s:o}", "path", r.plist ? json_bytes(r.plist) : json_null(),
                              "file", agent_file_word(&r),
                              "loaded", r.loaded == AGENT_LOADED_YES  ? json_true()
                                        : r.loaded == AGENT_LOADED_NO ? json_false()
                                                                      : json_null());
        launchd_report_done(&r);
        return o;
}

static void print_agent_file(const struct launchd_report *r) {
        _cleanup_free_ char *why = r->file_why ? printable(r->file_why) : NULL;

        if (r->file_error)
                printf("cannot check: %s", why ? why : strerror(-r->file_error));
        else if (r->file == SERVICE_FILE_OURS)
                printf("installed by ephemdir install-service");
        else if (r->file == SERVICE_FILE_FOREIGN)
                printf("not written by ephemdir install-service, or edited since");
        else
                printf("not installed");
}

static void print_agent_loaded(const struct launchd_report *r) {
        if (r->loaded == AGENT_LOADED_YES)
                printf("loaded (%s)", r->target);
        else if (r->loaded == AGENT_LOADED_NO)
                printf("not loaded");
        else if (r->loaded == AGENT_LOADED_FAILED)
                printf("launchctl %s", r->loaded_why);
        else
                printf("launchd not available here");
}

static void print_launch_agent(void) {
        struct launchd_report r;

        if (!service_use_launchd())
                return;
        launchd_report(&r);
        _cleanup_free_ char *path = r.plist ? printable(r.plist) : NULL;
        printf("%-15s %s: ", "launch agent", path ? path : "(home directory unknown)");
        print_agent_file(&r);
        printf("; ");
        print_agent_loaded(&r);
        printf("\n");
        launchd_report_done(&r);
}

int cmd_doctor(struct cli *cli, int argc, char **argv) {
        struct ephemdir_doctor d;
        bool json = false;
        int r = parse_json_only(cli, "doctor", argc, argv, &json);
        if (r >= 0)
                return r;
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 0, &r);
        if (!ctx)
                return r;
        r = ephemdir_doctor(ctx, &d);
        if (r < 0)
                return cli_fail(cli, r);
        if (json) {
                json_t *j = json_pack("{s:o, s:s, s:o, s:s, s:i, s:o, s:b, s:s, s:s, s:b, s:{s:b, s:I, s:I}, s:o, s:o}",
                                      "data_dir", json_bytes(d.data_dir), "data_dir_source", d.data_dir_source,
                                      "config_dir", json_bytes(d.config_dir), "config_dir_source", d.config_dir_source,
                                      "schema_version", d.schema_version,
                                      "mount_id_method", d.mount_id_method ? json_string(d.mount_id_method) : json_null(),
                                      "deletion_possible", d.mount_id_method != NULL,
                                      "boot_id", d.boot_id, "boot_id_source", d.boot_id_source,
                                      "test_hooks", d.test_hooks,
                                      "inuse_probe", "complete", d.inuse_complete,
                                      "processes", (json_int_t) d.inuse_processes,
                                      "hidden", (json_int_t) d.inuse_hidden,
                                      "service", service_json(), "launch_agent", launch_agent_json());
                r = json_print(j, stdout) < 0 ? EXIT_FAIL : EXIT_OK;
                json_decref(j);
        } else {
                char *data = printable(d.data_dir), *config = printable(d.config_dir);
                printf("data dir        %s (from %s)\n", data, d.data_dir_source);
                printf("config dir      %s (from %s)\n", config, d.config_dir_source);
                printf("registry        schema %d\n", d.schema_version);
                printf("mount ids       %s\n", d.mount_id_method ? d.mount_id_method
                                                                  : "unavailable: ephemdir will not delete anything");
                printf("boot id         %s (from %s)\n", d.boot_id, d.boot_id_source);
                printf("in-use probe    /proc: %zu processes inspected%s%s\n", d.inuse_processes,
                       d.inuse_hidden ? ", some hidden by the kernel (not seen)" : "",
                       d.inuse_complete ? "" : "; INCOMPLETE: keep-while-in-use directories are deferred");
                print_service_state();
                print_launch_agent();
                if (d.test_hooks)
                        printf("test hooks      compiled in (EPHEMDIR_TEST_*, EPHEMDIR_FAULT)\n");
                free(data);
                free(config);
                r = EXIT_OK;
        }
        /* No mount ids means no safe deletion: that is a failure to report. */
        return r == EXIT_OK && !d.mount_id_method ? EXIT_FAIL : r;
}
