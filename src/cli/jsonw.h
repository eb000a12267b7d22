/* SPDX-License-Identifier: MIT */
/*
 * Streaming JSON writer for the long outputs (list --json, tree --json).
 *
 * jansson builds a whole document tree first and then dumps it with one
 * callback per token; at 10,000 entries that was three quarters of
 * `list --json`'s time.  This writer prints as it goes, in exactly the layout
 * json_print() gets from jansson with JSON_INDENT(2) (the unit tests compare
 * the two byte for byte), so every --json output looks the same whichever
 * way it was made.  Strict JSON only: strings are checked to be UTF-8, and
 * bytes that are not are written escaped as text (\xNN), as json_bytes() does.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSONW_MAX_DEPTH 16

struct jsonw {
        FILE *out;
        char buf[8192];                 /* stdio costs a call per token */
        size_t len;
        unsigned depth;
        bool empty[JSONW_MAX_DEPTH];    /* no member written yet at this depth */
        bool after_key;                 /* the next value completes a member */
        bool failed;                    /* nesting misuse or out of memory */
};

void jsonw_init(struct jsonw *w, FILE *out);

/* '{' or '[' to open, '}' or ']' to close. */
void jsonw_open(struct jsonw *w, char bracket);
void jsonw_close(struct jsonw *w, char bracket);

/* An object member's key (ASCII identifiers only: written as is). */
void jsonw_key(struct jsonw *w, const char *key);

/* Values.  jsonw_string(NULL) writes null. */
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

/* End the document with a newline.  0, or -1 when anything failed (a write
 * error on out included). */
int jsonw_finish(struct jsonw *w);
