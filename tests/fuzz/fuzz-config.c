/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for config_parse_buffer(): see meson.build here.
 *
 * Beyond "no crash, no leak, no UB" (the sanitizers), every verdict is
 * checked: success yields only values the options struct can hold, failure
 * is -EINVAL with one "fuzz.yaml:LINE:COL: message" line whose position is
 * inside the input and which holds no control characters, and the output
 * struct is untouched on failure.  The same input parses the same way twice.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "names.h"

/* Config files are small; longer inputs only repeat short ones. */
#define MAX_INPUT 4096
#define DISPLAY_PATH "fuzz.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool limit_ok(int64_t v, int64_t none) {
        return v == 0 || v == none || v > 0;
}

static void check_success(const struct config *c) {
        const struct ephemdir_new_opts *o = &c->defaults;

        if (!limit_ok(o->lifetime, EPHEMDIR_FOREVER) || !limit_ok(o->max_size, EPHEMDIR_NO_SIZE_LIMIT))
                abort();
        if (o->remove_on_restart > EPHEMDIR_NO || o->keep_while_in_use > EPHEMDIR_NO)
                abort();
        if (o->cleanup > EPHEMDIR_CLEANUP_NEXT_SWEEP || o->name_style > EPHEMDIR_NAME_CLEAN)
                abort();
        if (o->words != 0 && names_validate_words(o->words) < 0)
                abort();
        if (o->prefix && names_validate_prefix(o->prefix, NULL) < 0)
                abort();
        if (o->parent && o->parent[0] != '/')
                abort();
        if (c->path || o->tags || o->n_tags || o->description || o->origin)
                abort();
}

static size_t count_lines(const char *buf, size_t len) {
        size_t n = 1;

        /* An upper bound: also NEL, LS and PS, which libyaml counts. */
        for (size_t i = 0; i < len; i++)
                if (strchr("\n\r\x85\xa8\xa9", buf[i]) && buf[i] != '\0')
                        n++;
        return n;
}

static void check_error(const char *error, const char *buf, size_t len) {
        size_t line = 0, col = 0;
        int consumed = 0;

        if (!error || strncmp(error, DISPLAY_PATH ":", strlen(DISPLAY_PATH ":")) != 0)
                abort();
        if (sscanf(error + strlen(DISPLAY_PATH ":"), "%zu:%zu: %n", &line, &col, &consumed) != 2 || consumed == 0)
                abort();
        if (line < 1 || col < 1 || line > count_lines(buf, len) || col > len + 1)
                abort();
        for (const char *p = error; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        abort();
}

static int parse_once(const char *buf, size_t len, struct config *c, char **error) {
        static const struct config sentinel = { .defaults = { .words = 99 } };
        int r;

        *c = sentinel;
        *error = NULL;
        r = config_parse_buffer(buf, len, DISPLAY_PATH, c, error);
        if (r == 0) {
                if (*error)
                        abort();
                check_success(c);
        } else {
                if (r != -EINVAL || memcmp(c, &sentinel, sizeof(sentinel)) != 0)
                        abort();
                check_error(*error, buf, len);
                memset(c, 0, sizeof(*c));
        }
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config a, b;
        char *ea, *eb;
        int ra, rb;

        if (size > MAX_INPUT)
                return 0;

        ra = parse_once((const char *) data, size, &a, &ea);
        rb = parse_once((const char *) data, size, &b, &eb);
        if (ra != rb || (ea && strcmp(ea, eb) != 0))
                abort();
        if (ra == 0 && (a.defaults.lifetime != b.defaults.lifetime || a.defaults.words != b.defaults.words))
                abort();

        config_done(&a);
        config_done(&b);
        free(ea);
        free(eb);
        return 0;
}
