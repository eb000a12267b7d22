/* SPDX-License-Identifier: MIT */
/*
 * Generated names (adjective-animal-<16 hex>), prefix validation, and the
 * small validators shared by every client (tags, descriptions).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define NAMES_MIN_WORDS 1
#define NAMES_MAX_WORDS 4
#define NAMES_TOKEN_HEX 16      /* 64-bit random token */
#define NAMES_MAX_PREFIX 64

/* Word lists (words.c).  Lowercase ASCII letters only. */
extern const char *const names_adjectives[];
extern const size_t names_n_adjectives;
extern const char *const names_animals[];
extern const size_t names_n_animals;

/* prefix + (words-1) adjectives + one animal, '-'-joined, then "-<16 hex>"
 * when with_token.  Randomness from getrandom().  -EINVAL for bad words. */
int names_generate(const char *prefix, int words, bool with_token, char **ret);

/* -EINVAL (with a reason in *ret_reason, static string) when the prefix
 * contains '/', a control character, is "." or "..", or exceeds
 * NAMES_MAX_PREFIX bytes.  NULL and "" are valid. */
int names_validate_prefix(const char *prefix, const char **ret_reason);
int names_validate_words(int words);
/* ^[a-z0-9][a-z0-9._-]{0,31}$ */
bool names_tag_is_valid(const char *tag);
/* <= 256 bytes, no control characters, valid UTF-8 not required here. */
bool names_description_is_valid(const char *desc);
