/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for rules_parse_buffer(): see meson.build here.
 *
 * Beyond "no crash, no leak, no UB" (the sanitizers), every verdict is
 * checked: success adds only rules that satisfy the schema (valid name and
 * tags, absolute normalized parent, limits in range, a position inside the
 * input) and the file to files[]; failure is -EINVAL with exactly one
 * "fuzz.yaml:LINE:COL: message" line, inside the input and free of control
 * characters, and nothing else added.  The same input parses the same way
 * twice.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "rules.h"

/* Rule files are small; longer inputs only repeat short ones. */
#define MAX_INPUT (16 * 1024)
#define DISPLAY_PATH "fuzz.yaml"
#define FUZZ_HOME "/home/fuzz"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        setenv("HOME", FUZZ_HOME, 1);
        return 0;
}

static size_t count_lines(const char *buf, size_t len) {
        size_t n = 1;

        /* An upper bound: also NEL, LS and PS, which libyaml counts. */
        for (size_t i = 0; i < len; i++)
                if (buf[i] != '\0' && strchr("\n\r\x85\xa8\xa9", buf[i]))
                        n++;
        return n;
}

static bool position_ok(size_t line, size_t col, const char *buf, size_t len) {
        return line >= 1 && col >= 1 && line <= count_lines(buf, len) && col <= len + 1;
}

static bool parent_ok(const char *p) {
        size_t n = strlen(p);

        if (p[0] != '/' || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
                return false;
        return n == 1 || p[n - 1] != '/';
}

static void check_rule(const struct rule *r, const char *buf, size_t len) {
        if (!rules_name_is_valid(r->name) || !r->parent || !parent_ok(r->parent))
                abort();
        if (!r->file || strcmp(r->file, DISPLAY_PATH) != 0 || !position_ok(r->line, r->column, buf, len))
                abort();
        if (r->lifetime < 0 || (r->max_size != EPHEMDIR_NO_SIZE_LIMIT && r->max_size <= 0))
                abort();
        if (r->name_style != EPHEMDIR_NAME_CLEAN && r->name_style != EPHEMDIR_NAME_SECURE)
                abort();
        if (r->n_tags > EPHEMDIR_MAX_TAGS || (r->n_tags == 0) != (r->tags == NULL))
                abort();
        for (size_t i = 0; i < r->n_tags; i++)
                if (!names_tag_is_valid(r->tags[i]))
                        abort();
        if (r->tags && r->tags[r->n_tags])
                abort();
        if (!names_description_is_valid(r->description))
                abort();
}

static void check_success(const struct rule_set *s, const char *buf, size_t len) {
        if (s->n_errors || s->n_masks || s->n_unread || s->n_files != 1 || strcmp(s->files[0], DISPLAY_PATH) != 0)
                abort();
        for (size_t i = 0; i < s->n_rules; i++)
                check_rule(&s->rules[i], buf, len);
        /* One file: a repeated name is an error, never a warning. */
        if (s->n_warnings)
                abort();
}

static void check_error(const struct rule_set *s, const char *buf, size_t len) {
        const char *error;
        size_t line = 0, col = 0;
        int consumed = 0;

        if (s->n_errors != 1 || s->n_rules || s->n_files || s->n_warnings || s->n_masks || s->n_unread != 1)
                abort();
        error = s->errors[0];
        if (strncmp(error, DISPLAY_PATH ":", strlen(DISPLAY_PATH ":")) != 0)
                abort();
        if (sscanf(error + strlen(DISPLAY_PATH ":"), "%zu:%zu: %n", &line, &col, &consumed) != 2 || consumed == 0)
                abort();
        if (!position_ok(line, col, buf, len))
                abort();
        for (const char *p = error; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        abort();
}

static int parse_once(const char *buf, size_t len, struct rule_set *s) {
        int r;

        memset(s, 0, sizeof(*s));
        r = rules_parse_buffer(buf, len, DISPLAY_PATH, s);
        if (r == 0)
                check_success(s, buf, len);
        else if (r == -EINVAL)
                check_error(s, buf, len);
        else
                abort();
        return r;
}

static void check_same(const struct rule_set *a, const struct rule_set *b) {
        if (a->n_rules != b->n_rules || a->n_errors != b->n_errors)
                abort();
        if (a->n_errors && strcmp(a->errors[0], b->errors[0]) != 0)
                abort();
        for (size_t i = 0; i < a->n_rules; i++)
                if (strcmp(a->rules[i].name, b->rules[i].name) != 0 ||
                    strcmp(a->rules[i].parent, b->rules[i].parent) != 0 ||
                    a->rules[i].lifetime != b->rules[i].lifetime)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct rule_set a, b;

        if (size > MAX_INPUT)
                return 0;

        (void) parse_once((const char *) data, size, &a);
        (void) parse_once((const char *) data, size, &b);
        check_same(&a, &b);
        rule_set_done(&a);
        rule_set_done(&b);
        return 0;
}
