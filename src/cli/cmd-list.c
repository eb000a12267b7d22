/* SPDX-License-Identifier: MIT */
/* ephemdir list / path: what is tracked, and where. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

enum {
        OPT_TAG = OPT_FIRST_COMMAND_OPTION,
};

/* Streamed: at 10,000 entries, building a jansson tree first took most of
 * the command's time. */
static int print_json(const struct ephemdir_info *items, size_t n, const char *tag) {
        struct jsonw w;

        jsonw_init(&w, stdout);
        jsonw_open(&w, '[');
        for (size_t i = 0; i < n; i++) {
                if (!info_has_tag(&items[i], tag))
                        continue;
                jsonw_open(&w, '{');
                info_write_json(&w, &items[i]);
                jsonw_close(&w, '}');
        }
        jsonw_close(&w, ']');
        return jsonw_finish(&w) < 0 ? EXIT_FAIL : EXIT_OK;
}

static size_t name_width(const struct ephemdir_info *items, size_t n) {
        size_t w = 4;
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(items[i].name);
                if (l > w)
                        w = l;
        }
        return w > 48 ? 48 : w;
}

static void print_table(const struct cli *cli, const struct ephemdir_info *items, size_t n, const char *tag) {
        struct style st;
        char text[160];
        size_t w = name_width(items, n);

        style_init(&st, cli, stdout);
        for (size_t i = 0; i < n; i++) {
                if (!info_has_tag(&items[i], tag))
                        continue;
                char *name = printable(items[i].name);
                char *path = printable_path(items[i].path);
                status_text(&items[i], text, sizeof(text));
                printf("%s%s %-*s  %-26s %s%s\n", status_color(items[i].status, &st),
                       status_icon(items[i].status, &st), (int) w, name ? name : "?", text,
                       path ? path : "?", color_reset(&st));
                free(name);
                free(path);
        }
}

int cmd_list(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, OPT_JSON },
                { "tag", required_argument, NULL, OPT_TAG },
                COMMON_LONG_OPTIONS,
        };
        struct ephemdir_info *items = NULL;
        const char *tag = NULL;
        bool json = false;
        size_t n = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == OPT_JSON)
                        json = true;
                else if (c == OPT_TAG)
                        tag = optarg;
                else if ((r = cli_common_option(cli, cli_find_command("list"), c, optarg)) >= 0)
                        return r;
        }
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 0, &r);
        if (!ctx)
                return r;
        r = ephemdir_list(ctx, &items, &n);
        if (r < 0)
                return cli_fail(cli, r);
        if (json)
                r = print_json(items, n, tag);
        else {
                print_table(cli, items, n, tag);
                r = EXIT_OK;
        }
        ephemdir_info_free_array(items, n);
        return r;
}

int cmd_path(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, OPT_JSON },
                COMMON_LONG_OPTIONS,
        };
        ephemdir_dir *d = NULL;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == OPT_JSON)
                        json = true;
                else if ((r = cli_common_option(cli, cli_find_command("path"), c, optarg)) >= 0)
                        return r;
        }
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 1, &r);
        if (!ctx)
                return r;
        const char *target = optind < argc ? argv[optind] : NULL;
        r = ephemdir_resolve(ctx, target, &d);
        /* Outside any managed directory, a bare `path` means the newest one. */
        if (r == -ENOENT && !target)
                r = ephemdir_last(ctx, &d);
        if (r < 0)
                return cli_fail(cli, r);
        return print_dir(d, json);
}
