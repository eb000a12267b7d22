/* SPDX-License-Identifier: MIT */
/*
 * Exact "FILE:LINE:COL: message" errors for the YAML files ephemdir reads
 * (config.yaml, the *.yaml files of rules.d).
 *
 * Each loader runs a libyaml event scan in front of its libcyaml schema: the
 * scan knows where every key and value sits and rejects what libcyaml is
 * lax or vague about (see config.c).  This module is the part of that scan
 * that does not depend on the schema: positions (libyaml marks and reader
 * byte offsets, as 1-based line and column), the error record, escaping of
 * input quoted in messages, the single-document stream, scalar and key
 * checks, and a libcyaml log sink that keeps messages out of stderr.
 *
 * Nothing here prints.  Every failing function records the first error in
 * struct yamlpos_ctx and returns -EINVAL (-ENOMEM when out of memory).
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cyaml/cyaml.h>
#include <yaml.h>

#include "util.h"

/* Where errors go. */
struct yamlpos_ctx {
        const char *path;       /* message prefix */
        char *error;            /* the last error recorded, "<path>:L:C: ..." */
};

/* Record "<path>:<line>:<column>: <message>" (1-based); returns -EINVAL, or
 * -ENOMEM if the message could not be built. */
_printf_(4, 5)
int yamlpos_fail_at(struct yamlpos_ctx *p, size_t line, size_t column, const char *fmt, ...);

/* Input quoted in a message: at most YAMLPOS_SHOWN_INPUT bytes (never half
 * a UTF-8 sequence, "..." when cut), control characters (C0, DEL, C1 as
 * UTF-8) escaped as \xNN / \u00NN so a message cannot drive a terminal. */
#define YAMLPOS_SHOWN_INPUT 64
#define YAMLPOS_SHOWN_SIZE (YAMLPOS_SHOWN_INPUT * 6 + 4)
void yamlpos_show_text(char out[static YAMLPOS_SHOWN_SIZE], const void *s, size_t len);

/* 1-based line and column (in characters) of a byte offset into UTF-8 text,
 * counting line breaks the way libyaml does (LF, CR, CR LF, NEL, LS, PS). */
void yamlpos_offset_position(const char *buf, size_t len, size_t offset, size_t *ret_line, size_t *ret_col);

/* A libyaml parser over a buffer (UTF-8 forced, a leading byte order mark
 * skipped; the buffer need not be NUL-terminated and may contain NUL bytes). */
struct yamlpos_scanner {
        struct yamlpos_ctx *p;
        yaml_parser_t yp;
        const char *buf;
        size_t len;
        size_t end_line, end_col;    /* just after the last byte */
};

int yamlpos_scanner_init(struct yamlpos_scanner *sc, struct yamlpos_ctx *p, const char *buf, size_t len);
void yamlpos_scanner_done(struct yamlpos_scanner *sc);

/* 1-based position of a mark.  Marks past the end of a file without a final
 * newline become the end of its last line, a place an editor can show. */
void yamlpos_mark_position(const struct yamlpos_scanner *sc, const yaml_mark_t *m, size_t *ret_line,
                           size_t *ret_col);

/* yamlpos_fail_at() at the start of an event. */
_printf_(3, 4)
int yamlpos_fail_at_event(struct yamlpos_scanner *sc, const yaml_event_t *ev, const char *fmt, ...);

/* The next event; a syntax or encoding error is recorded at its position
 * (non-UTF-8 input: "... (byte 0xNN): the file must be UTF-8 text"), and
 * *ev is then zeroed (safe to delete). */
int yamlpos_next_event(struct yamlpos_scanner *sc, yaml_event_t *ev);

void yamlpos_event_deletep(yaml_event_t *e);
#define _cleanup_yaml_event_ _cleanup_(yamlpos_event_deletep)

/* STREAM-START (DOCUMENT-START root DOCUMENT-END)? STREAM-END.  root gets
 * the first event of the root node and must consume the rest of it.  A
 * second document is an error.  *ret_no_document: the stream had none (an
 * empty file, or only comments). */
typedef int (*yamlpos_root_fn)(struct yamlpos_scanner *sc, const yaml_event_t *ev, void *userdata);
int yamlpos_scan_stream(struct yamlpos_scanner *sc, yamlpos_root_fn root, void *userdata,
                        bool *ret_no_document);

/* "a list", "a mapping", "an alias", "a single value" */
const char *yamlpos_node_kind(yaml_event_type_t t);

/* Scalar tests; ev must be a SCALAR event. */
bool yamlpos_scalar_is(const yaml_event_t *ev, const char *s);
bool yamlpos_scalar_is_plain(const yaml_event_t *ev);
/* plain "", "~", "null", "Null", "NULL" */
bool yamlpos_scalar_is_null(const yaml_event_t *ev);
/* plain true/yes/false/no in YAML's three spellings (what libcyaml reads as
 * booleans; it loads anything else that is not a "false" word as true) */
bool yamlpos_scalar_is_bool(const yaml_event_t *ev);

/* A scalar value as seen by a scan. */
struct yamlpos_value {
        bool present;
        bool null;                   /* yamlpos_scalar_is_null() */
        size_t key_line;             /* of its key, for "first set on line N" */
        size_t line, column;         /* of the value */
        char shown[YAMLPOS_SHOWN_SIZE];
};

/* ev is the first event of the value of `key`: record its position in *v,
 * then require a scalar without a tag or NUL byte (errors name the key),
 * fill shown[] and null, and set present. */
int yamlpos_scan_scalar(struct yamlpos_scanner *sc, const yaml_event_t *ev, const char *key,
                        struct yamlpos_value *v);

/* ev is a mapping key: it must be an untagged scalar ("keys must be
 * strings", no aliases); shown gets its text for messages. */
int yamlpos_check_key(struct yamlpos_scanner *sc, const yaml_event_t *ev, char shown[static YAMLPOS_SHOWN_SIZE]);

/* Index of the field whose key is the scalar ev in a CYAML_FIELD_END
 * terminated list, or -ENOENT. */
int yamlpos_find_field(const cyaml_schema_field_t *fields, const yaml_event_t *ev);

/* "a, b or c" from an enum field's strings. */
void yamlpos_enum_choices(const cyaml_schema_field_t *field, char *out, size_t size);

/* A libcyaml log_fn (log_ctx: struct yamlpos_cyaml_capture): keeps the
 * first error line and the innermost mapping field of its backtrace. */
struct yamlpos_cyaml_capture {
        char message[256];      /* first error line, without "Load: " */
        char field[64];         /* innermost "in mapping field '...'" */
};

_printf_(3, 0)
void yamlpos_cyaml_capture_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args);

/* A libcyaml mem_fn like cyaml_mem, except that growing a block at least
 * doubles it: libcyaml grows a sequence one entry at a time, quadratic in
 * copies wherever realloc cannot grow in place (sanitizers, some libcs). */
void *yamlpos_cyaml_mem(void *ctx, void *ptr, size_t size);

/* Read all of fd, at most max bytes (the file may have grown since it was
 * checked): -EFBIG when longer, else 0 or -errno.  *ret is malloc'd (not
 * NUL-terminated), written only on success. */
int yamlpos_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
