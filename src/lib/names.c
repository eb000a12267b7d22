/* SPDX-License-Identifier: MIT */
/*
 * Generated names and the small validators shared by every client.
 *
 * The random token is what makes a name unguessable in a shared parent such
 * as /tmp (another user cannot pre-create or squat on it), so all randomness
 * comes from getrandom() and word picks avoid modulo bias.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "names.h"
#include "util.h"

#include "ephemdir.h"

#define STRINGIFY_ARG(x) #x
#define STRINGIFY(x) STRINGIFY_ARG(x)

/* Fill buf entirely from the kernel CSPRNG.  getrandom() may return short
 * or fail with EINTR for large requests or when interrupted by a signal. */
static int random_bytes(void *buf, size_t n) {
        uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = getrandom(p, n, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Uniform index in [0, n).  Values below 2^32 mod n are rejected: without
 * that, the low indexes would come up slightly more often than the rest. */
static int random_index(size_t n, size_t *ret) {
        uint32_t bound = (uint32_t) n, threshold, r;
        int k;

        if (n == 0 || n > UINT32_MAX)
                return -EINVAL;

        threshold = (uint32_t) -bound % bound;
        do {
                k = random_bytes(&r, sizeof(r));
                if (k < 0)
                        return k;
        } while (r < threshold);

        *ret = r % bound;
        return 0;
}

static int random_token(char hex[static NAMES_TOKEN_HEX + 1]) {
        static const char digits[] = "0123456789abcdef";
        uint8_t bytes[NAMES_TOKEN_HEX / 2];
        int r;

        r = random_bytes(bytes, sizeof(bytes));
        if (r < 0)
                return r;

        for (size_t i = 0; i < sizeof(bytes); i++) {
                hex[2 * i] = digits[bytes[i] >> 4];
                hex[2 * i + 1] = digits[bytes[i] & 0xf];
        }
        hex[NAMES_TOKEN_HEX] = '\0';
        return 0;
}

/* Pick words-1 distinct adjectives (so no "brave-brave-otter") and one
 * animal, in name order. */
static int pick_words(int words, const char *picked[static NAMES_MAX_WORDS]) {
        size_t idx[NAMES_MAX_WORDS - 1], animal;
        int n_adj = words - 1, r;

        for (int i = 0; i < n_adj; i++) {
                bool again;
                do {
                        r = random_index(names_n_adjectives, &idx[i]);
                        if (r < 0)
                                return r;
                        again = false;
                        for (int j = 0; j < i; j++)
                                again = again || idx[j] == idx[i];
                } while (again);
                picked[i] = names_adjectives[idx[i]];
        }

        r = random_index(names_n_animals, &animal);
        if (r < 0)
                return r;
        picked[n_adj] = names_animals[animal];
        return 0;
}

int names_generate(const char *prefix, int words, bool with_token, char **ret) {
        const char *picked[NAMES_MAX_WORDS];
        char token[NAMES_TOKEN_HEX + 1];
        _cleanup_free_ char *name = NULL;
        size_t len;
        char *p;
        int r;

        if (!ret)
                return -EINVAL;
        r = names_validate_prefix(prefix, NULL);
        if (r < 0)
                return r;
        r = names_validate_words(words);
        if (r < 0)
                return r;
        if (!prefix)
                prefix = "";

        r = pick_words(words, picked);
        if (r < 0)
                return r;
        if (with_token) {
                r = random_token(token);
                if (r < 0)
                        return r;
        }

        /* Every part is bounded (prefix by NAMES_MAX_PREFIX, words by the
         * lists), so the length cannot overflow. */
        len = strlen(prefix) + (with_token ? 1 + NAMES_TOKEN_HEX : 0) + 1;
        for (int i = 0; i < words; i++)
                len += strlen(picked[i]) + 1;

        name = malloc(len);
        if (!name)
                return -ENOMEM;

        p = stpcpy(name, prefix);
        for (int i = 0; i < words; i++) {
                if (i > 0)
                        *p++ = '-';
                p = stpcpy(p, picked[i]);
        }
        if (with_token) {
                *p++ = '-';
                stpcpy(p, token);
        }

        *ret = TAKE_PTR(name);
        return 0;
}

static bool is_control(unsigned char c) {
        return c < 0x20 || c == 0x7f;
}

int names_validate_prefix(const char *prefix, const char **ret_reason) {
        const char *reason = NULL;

        if (!prefix)
                return 0;

        /* strnlen: do not walk an arbitrarily long string to reject it. */
        if (strnlen(prefix, NAMES_MAX_PREFIX + 1) > NAMES_MAX_PREFIX)
                reason = "is longer than " STRINGIFY(NAMES_MAX_PREFIX) " bytes";
        else if (strchr(prefix, '/'))
                /* The name is joined to the parent: a '/' would create it
                 * somewhere else than the parent that was checked. */
                reason = "contains '/'";
        else if (streq(prefix, ".") || streq(prefix, ".."))
                /* Harmless once a word follows, but a prefix is a name
                 * fragment: refuse the two that name other directories. */
                reason = "is '.' or '..'";
        else
                for (const char *c = prefix; *c; c++)
                        if (is_control((unsigned char) *c)) {
                                /* Terminal escapes and newlines in names
                                 * break listings and scripts. */
                                reason = "contains a control character";
                                break;
                        }

        if (!reason)
                return 0;
        if (ret_reason)
                *ret_reason = reason;
        return -EINVAL;
}

int names_validate_words(int words) {
        return words >= NAMES_MIN_WORDS && words <= NAMES_MAX_WORDS ? 0 : -EINVAL;
}

static bool is_tag_start(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_tag_char(char c) {
        return is_tag_start(c) || c == '.' || c == '_' || c == '-';
}

bool names_tag_is_valid(const char *tag) {
        size_t n;

        if (!tag || !is_tag_start(tag[0]))
                return false;

        for (n = 1; tag[n]; n++)
                if (n >= 32 || !is_tag_char(tag[n]))
                        return false;
        return true;
}

/* NULL means "no description", which is always acceptable. */
bool names_description_is_valid(const char *desc) {
        if (!desc)
                return true;
        if (strnlen(desc, EPHEMDIR_MAX_DESCRIPTION + 1) > EPHEMDIR_MAX_DESCRIPTION)
                return false;
        for (const char *c = desc; *c; c++)
                if (is_control((unsigned char) *c))
                        return false;
        return true;
}
