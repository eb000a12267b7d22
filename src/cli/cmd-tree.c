/* SPDX-License-Identifier: MIT */
/* ephemdir tree: tracked directories grouped by parent, with measured sizes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "output.h"

enum {
        OPT_TAG = OPT_FIRST_COMMAND_OPTION,
};

struct sized {
        const struct ephemdir_info *info;
        int64_t bytes;        /* -1: not measured (missing, replaced, ...) */
        bool complete;
};

static int by_parent_then_name(const void *a, const void *b) {
        const struct sized *x = a, *y = b;
        int c = strcmp(x->info->parent, y->info->parent);
        return c ? c : strcmp(x->info->name, y->info->name);
}

static void size_text(const struct sized *s, bool utf8, char *buf, size_t n) {
        char t[32];

        if (s->bytes < 0) {
                snprintf(buf, n, "-");
                return;
        }
        format_size(s->bytes, t, sizeof(t));
        /* A scan that hit its budget gives a lower bound. */
        snprintf(buf, n, "%s%s", s->complete ? "" : utf8 ? "≥ " : ">= ", t);
}

static void print_group_header(const char *parent, const struct sized *v, size_t from, size_t to, bool utf8) {
        int64_t total = 0;
        bool complete = true;
        char t[32];

        for (size_t k = from; k < to; k++)
                if (v[k].bytes >= 0) {
                        total += v[k].bytes;
                        complete = complete && v[k].complete;
                }
        format_size(total, t, sizeof(t));
        char *p = printable_path(parent);
        printf("%s  (%zu director%s, %s%s)\n", p ? p : "?", to - from, to - from == 1 ? "y" : "ies",
               complete ? "" : utf8 ? "≥ " : ">= ", t);
        free(p);
}

static void print_tree(const struct cli *cli, const struct sized *v, size_t n) {
        struct style st;
        char left[96], size[48];

        style_init(&st, cli, stdout);
        for (size_t i = 0; i < n;) {
                size_t j = i;
                while (j < n && strcmp(v[j].info->parent, v[i].info->parent) == 0)
                        j++;
                print_group_header(v[i].info->parent, v, i, j, st.emoji);
                for (size_t k = i; k < j; k++) {
                        char *name = printable(v[k].info->name);
                        status_text(v[k].info, left, sizeof(left));
                        size_text(&v[k], st.emoji, size, sizeof(size));
                        printf("%s %s%s %s  %s  %s%s\n", k + 1 == j ? (st.emoji ? "└──" : "`--") : (st.emoji ? "├──" : "|--"),
                               status_color(v[k].info->status, &st), status_icon(v[k].info->status, &st),
                               name ? name : "?", left, size, color_reset(&st));
                        free(name);
                }
                i = j;
        }
}

/* One group of entries sharing a parent: v[i..ret_end), their total size. */
static int64_t group_end(const struct sized *v, size_t n, size_t i, size_t *ret_end) {
        int64_t total = 0;
        size_t j = i;

        for (; j < n && strcmp(v[j].info->parent, v[i].info->parent) == 0; j++)
                total += v[j].bytes > 0 ? v[j].bytes : 0;
        *ret_end = j;
        return total;
}

static void write_sized_entry(struct jsonw *w, const struct sized *s) {
        jsonw_open(w, '{');
        info_write_json(w, s->info);
        jsonw_key(w, "size_bytes");
        if (s->bytes >= 0)
                jsonw_int(w, s->bytes);
        else
                jsonw_null(w);
        jsonw_key(w, "size_complete");
        jsonw_bool(w, s->bytes >= 0 && s->complete);
        jsonw_close(w, '}');
}

static int print_json(const struct sized *v, size_t n) {
        struct jsonw w;

        jsonw_init(&w, stdout);
        jsonw_open(&w, '[');
        for (size_t i = 0, end; i < n; i = end) {
                int64_t total = group_end(v, n, i, &end);

                jsonw_open(&w, '{');
                jsonw_key(&w, "parent");
                jsonw_string(&w, v[i].info->parent);
                jsonw_key(&w, "total_bytes");
                jsonw_int(&w, total);
                jsonw_key(&w, "entries");
                jsonw_open(&w, '[');
                for (size_t k = i; k < end; k++)
                        write_sized_entry(&w, &v[k]);
                jsonw_close(&w, ']');
                jsonw_close(&w, '}');
        }
        jsonw_close(&w, ']');
        return jsonw_finish(&w) < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_tree(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, OPT_JSON },
                { "tag", required_argument, NULL, OPT_TAG },
                COMMON_LONG_OPTIONS,
        };
        struct ephemdir_info *items = NULL;
        const char *tag = NULL;
        bool json = false;
        size_t n = 0, m = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == OPT_JSON)
                        json = true;
                else if (c == OPT_TAG)
                        tag = optarg;
                else if ((r = cli_common_option(cli, cli_find_command("tree"), c, optarg)) >= 0)
                        return r;
        }
        ephemdir_ctx *ctx = cli_start(cli, argc, argv, 0, 0, &r);
        if (!ctx)
                return r;
        r = ephemdir_list(ctx, &items, &n);
        if (r < 0)
                return cli_fail(cli, r);
        struct sized *v = calloc(n ? n : 1, sizeof(*v));
        if (!v) {
                ephemdir_info_free_array(items, n);
                return cli_fail(cli, -ENOMEM);
        }
        for (size_t i = 0; i < n; i++) {
                if (!info_has_tag(&items[i], tag))
                        continue;
                v[m] = (struct sized) { .info = &items[i], .bytes = -1 };
                if (items[i].exists && ephemdir_measure(ctx, items[i].path, &v[m].bytes, &v[m].complete) < 0)
                        v[m].bytes = -1;
                m++;
        }
        qsort(v, m, sizeof(*v), by_parent_then_name);
        if (json)
                r = print_json(v, m);
        else {
                print_tree(cli, v, m);
                r = EXIT_OK;
        }
        free(v);
        ephemdir_info_free_array(items, n);
        return r;
}
