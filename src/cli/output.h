/* SPDX-License-Identifier: MIT */
/* Presentation: status icons or ASCII tags, colour, JSON objects. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "jsonw.h"

/* Decide once per command: emoji or ASCII, colour or not. */
struct style {
        bool emoji;
        bool color;
};
void style_init(struct style *st, const struct cli *cli, FILE *out);

const char *status_icon(enum ephemdir_status s, const struct style *st);
const char *status_color(enum ephemdir_status s, const struct style *st);   /* "" without colour */
const char *color_reset(const struct style *st);

/* "1h 59m left", "until restart", "expired 5m ago", "missing; still tracked" */
void status_text(const struct ephemdir_info *i, char *buf, size_t n);

/* A JSON string for bytes that may not be UTF-8 (escaped as \xNN then). */
json_t *json_bytes(const char *s);

/* The members of a list entry's JSON object (fields as documented in
 * ephemdir(1)); the caller opens and closes the object. */
void info_write_json(struct jsonw *w, const struct ephemdir_info *i);

/* Dump strictly (no NaN, sorted keys as inserted), newline-terminated. */
int json_print(json_t *j, FILE *out);

/* Printable form of an untrusted string (control characters as \xNN) and
 * of a path (escaped, home shortened to ~).  Never NULL: falls back to "?". */
char *printable(const char *s);
char *printable_path(const char *path);

/* Does the entry carry tag?  (NULL tag: any entry.) */
bool info_has_tag(const struct ephemdir_info *i, const char *tag);

