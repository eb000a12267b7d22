/* SPDX-License-Identifier: MIT */
/*
 * ephemdir apply (also the ephemdir-apply binary): reconcile rules.d with
 * the registry, then sweep everything else that is due.
 * Exit: 2 when a rule file was invalid (it was skipped), 1 on conflicts or
 * failures, 0 otherwise.  --validate and --cat-config only read rule files:
 * they never open (or create, or lock) the registry, so they work before
 * ephemdir ever ran, and while the registry is locked or broken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

#define SYSTEM_DATA_DIR "/var/lib/ephemdir"
#define MAX_RULES_DIRS 32

enum {
        OPT_DRY_RUN = OPT_FIRST_COMMAND_OPTION,
        OPT_VALIDATE,
        OPT_CAT_CONFIG,
        OPT_SYSTEM,
        OPT_RULES_ONLY,
        OPT_RULES_DIR,
};

struct apply_output {
        struct cli *cli;
        bool cat_config;
        json_t *json;          /* --json: the report being built */
};

static const char *action_word(enum ephemdir_apply_action a) {
        static const char *const words[] = {
                [EPHEMDIR_APPLY_FILE] = "file",
                [EPHEMDIR_APPLY_CREATED] = "created",
                [EPHEMDIR_APPLY_RECREATED] = "recreated",
                [EPHEMDIR_APPLY_SWEPT] = "swept",
                [EPHEMDIR_APPLY_UPDATED] = "updated",
                [EPHEMDIR_APPLY_CONFLICT] = "conflicts",
                [EPHEMDIR_APPLY_ORPHAN] = "orphans",
                [EPHEMDIR_APPLY_BLOCKED] = "blocked",
                [EPHEMDIR_APPLY_INVALID] = "errors",
                [EPHEMDIR_APPLY_WARNING] = "warnings",
                [EPHEMDIR_APPLY_FAILED] = "failed",
                [EPHEMDIR_APPLY_MASKED] = "masked",
                [EPHEMDIR_APPLY_HELD] = "held",
        };
        return (unsigned) a < sizeof(words) / sizeof(words[0]) && words[a] ? words[a] : "unknown";
}

/* --cat-config: a mask in its place among the files, so that the reader
 * sees why a file of that name is not printed. */
static void cat_mask(const struct ephemdir_apply_event *ev) {
        char *path = printable(ev->file), *detail = printable(ev->detail ? ev->detail : "");

        printf("# %s: masked (%s)\n\n", path, detail);
        free(path);
        free(detail);
}

/* --cat-config: the effective files in order, each under a "# path" line. */
static void cat_file(const char *path) {
        char buf[4096];
        size_t n;
        FILE *f = fopen(path, "re");

        printf("# %s\n", path);
        if (!f)
                return;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                fwrite(buf, 1, n, stdout);
        fclose(f);
        printf("\n");
}

static void add_json(json_t *report, const char *key, const struct ephemdir_apply_event *ev) {
        json_t *list = json_object_get(report, key);
        if (!list) {
                list = json_array();
                json_object_set_new(report, key, list);
        }
        json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:o}", "rule", json_bytes(ev->rule),
                                              "file", json_bytes(ev->file), "path", json_bytes(ev->path),
                                              "detail", json_bytes(ev->detail)));
}

static void on_apply(const struct ephemdir_apply_event *ev, void *userdata) {
        struct apply_output *out = userdata;
        const struct cli *cli = out->cli;
        const char *word = action_word(ev->action);

        if (ev->action == EPHEMDIR_APPLY_FILE) {
                if (out->cat_config)
                        cat_file(ev->file);
                else if (out->json)
                        add_json(out->json, "files", ev);
                else if (cli->verbosity > 0)
                        cli_error(cli, "reading %s", ev->file);
                return;
        }
        if (ev->action == EPHEMDIR_APPLY_MASKED && out->cat_config) {
                cat_mask(ev);
                return;
        }
        if (out->json) {
                add_json(out->json, word, ev);
                return;
        }
        char *path = printable(ev->path ? ev->path : "");
        char *detail = printable(ev->detail ? ev->detail : "");
        switch (ev->action) {
        case EPHEMDIR_APPLY_CREATED:
        case EPHEMDIR_APPLY_RECREATED:
        case EPHEMDIR_APPLY_SWEPT:
        case EPHEMDIR_APPLY_UPDATED:
                if (cli->verbosity >= 0 && !out->cat_config)
                        printf("%s%s %s (rule %s)\n", ev->dry_run ? "would be " : "", word, path,
                               ev->rule ? ev->rule : "?");
                break;
        case EPHEMDIR_APPLY_INVALID:
                cli_error(cli, "%s (skipped)", detail);   /* a file, or a whole rules dir */
                break;
        case EPHEMDIR_APPLY_WARNING:
                cli_warn(cli, "%s", detail);
                break;
        case EPHEMDIR_APPLY_ORPHAN:
                if (cli->verbosity > 0)
                        cli_error(cli, "orphan %s: %s", path, detail);
                break;
        case EPHEMDIR_APPLY_MASKED:
                /* Masks are deliberate: said on request, not at every timer run. */
                if (cli->verbosity > 0) {
                        char *file = printable(ev->file);
                        cli_error(cli, "masked %s (%s)", file, detail);
                        free(file);
                }
                break;
        default:
                cli_error(cli, "%s %s%s%s", ev->action == EPHEMDIR_APPLY_CONFLICT ? "conflict:" : word,
                          path, *detail ? ": " : "", detail);
                break;
        }
        free(path);
        free(detail);
}

static void on_sweep(const struct ephemdir_event *ev, void *userdata) {
        struct apply_output *out = userdata;

        if (out->cat_config)
                return;
        if (out->json) {
                struct ephemdir_apply_event a = { .path = ev->path, .detail = ev->reason };
                if (ev->kind == EPHEMDIR_EVENT_REMOVED || ev->kind == EPHEMDIR_EVENT_WOULD_REMOVE)
                        add_json(out->json, "swept_other", &a);
                else if (ev->kind == EPHEMDIR_EVENT_RECOVERED)
                        add_json(out->json, "recovered", &a);
                else if (ev->kind == EPHEMDIR_EVENT_FAILED || ev->kind == EPHEMDIR_EVENT_PARKED)
                        add_json(out->json, "failed", &a);
                return;
        }
        char *path = printable(ev->path);
        if (ev->kind == EPHEMDIR_EVENT_REMOVED || ev->kind == EPHEMDIR_EVENT_RECOVERED) {
                if (out->cli->verbosity >= 0)
                        printf("%s %s (%s)\n", ev->kind == EPHEMDIR_EVENT_REMOVED ? "removed" : "recovered",
                               path, ev->reason);
        } else if (ev->kind == EPHEMDIR_EVENT_WOULD_REMOVE) {
                if (out->cli->verbosity >= 0)
                        printf("would remove %s (%s)\n", path, ev->reason);
        } else if (ev->kind == EPHEMDIR_EVENT_FAILED || ev->kind == EPHEMDIR_EVENT_PARKED)
                cli_error(out->cli, "%s %s: %s", ev->kind == EPHEMDIR_EVENT_PARKED ? "parked" : "failed", path,
                          ev->detail && *ev->detail ? ev->detail : ev->reason);
        else if (out->cli->verbosity > 0)
                cli_error(out->cli, "skipped %s (%s)", path, ev->reason);
        free(path);
}

/* Reading the rules alone needs no registry: a user without a data dir
 * yet can check them, and a locked or broken registry does not matter.
 * -ECANCELED: no context could be opened (reported through the log). */
static int run_apply(struct cli *cli, const char *const *dirs, size_t n_dirs, unsigned flags,
                     struct apply_output *out, struct ephemdir_apply_summary *ret) {
        if (flags & EPHEMDIR_APPLY_VALIDATE) {
                struct ephemdir_ctx_opts opts = cli_ctx_opts(cli);
                int r = ephemdir_apply_validate(&opts, dirs, n_dirs, flags, on_apply, out, ret);
                return r < 0 ? -ECANCELED : r;
        }
        ephemdir_ctx *ctx = cli_ctx(cli);
        if (!ctx)
                return -ECANCELED;
        return ephemdir_apply(ctx, dirs, n_dirs, flags, on_apply, on_sweep, out, ret);
}

static int exit_code(const struct ephemdir_apply_summary *s) {
        if (s->invalid_files)
                return EXIT_USAGE;
        if (s->conflicts || s->failures || s->sweep_failures)
                return EXIT_FAIL;
        return EXIT_OK;
}

int cmd_apply(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "dry-run", no_argument, NULL, OPT_DRY_RUN },
                { "validate", no_argument, NULL, OPT_VALIDATE },
                { "cat-config", no_argument, NULL, OPT_CAT_CONFIG },
                { "system", no_argument, NULL, OPT_SYSTEM },
                { "rules-only", no_argument, NULL, OPT_RULES_ONLY },
                { "rules-dir", required_argument, NULL, OPT_RULES_DIR },
                { "json", no_argument, NULL, OPT_JSON },
                COMMON_LONG_OPTIONS,
        };
        const char *dirs[MAX_RULES_DIRS];
        struct apply_output out = { .cli = cli };
        struct ephemdir_apply_summary sum = {};
        unsigned flags = 0;
        size_t n_dirs = 0;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS "n", options, NULL)) >= 0) {
                switch (c) {
                case 'n':
                case OPT_DRY_RUN:
                        flags |= EPHEMDIR_APPLY_DRY_RUN;
                        break;
                case OPT_VALIDATE:
                        flags |= EPHEMDIR_APPLY_VALIDATE;
                        break;
                case OPT_CAT_CONFIG:
                        flags |= EPHEMDIR_APPLY_VALIDATE;
                        out.cat_config = true;
                        break;
                case OPT_SYSTEM:
                        flags |= EPHEMDIR_APPLY_SYSTEM;
                        break;
                case OPT_RULES_ONLY:
                        flags |= EPHEMDIR_APPLY_RULES_ONLY;
                        break;
                case OPT_RULES_DIR:
                        if (n_dirs == MAX_RULES_DIRS)
                                return cli_usage(cli, "too many --rules-dir (at most %d)", MAX_RULES_DIRS);
                        dirs[n_dirs++] = optarg;
                        break;
                case OPT_JSON:
                        json = true;
                        break;
                default:
                        if ((r = cli_common_option(cli, cli_find_command("apply"), c, optarg)) >= 0)
                                return r;
                }
        }
        r = cli_check_args(cli, argc, argv, 0, 0);
        if (r >= 0)
                return r;
        if (flags & EPHEMDIR_APPLY_SYSTEM) {
                if (geteuid() != 0)
                        return cli_usage(cli, "--system needs root");
                cli->data_dir = SYSTEM_DATA_DIR;
        }

        if (json && !out.cat_config)
                out.json = json_object();
        r = run_apply(cli, n_dirs ? dirs : NULL, n_dirs, flags, &out, &sum);
        if (out.json) {
                if (r >= 0)
                        json_print(out.json, stdout);
                json_decref(out.json);
        }
        if (r == -ECANCELED)
                return EXIT_FAIL;   /* the context did not open: the log said why */
        if (r < 0)
                return cli_fail(cli, r);
        return exit_code(&sum);
}
