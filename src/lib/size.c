/* SPDX-License-Identifier: MIT */
/*
 * Size parser: "4096", "512K", "2GiB", "1.5G", "500MB" -> bytes.
 *
 * Grammar: <digits>[.<digits>][unit], unit case-insensitive:
 *   (none), B                 bytes
 *   K M G T, KiB MiB GiB TiB  powers of 1024
 *   KB MB GB TB               powers of 1000
 *
 * Integer arithmetic only: floating point would round "1.1T" to a value
 * that depends on the platform's double, and cannot represent every int64.
 * The fraction is rounded down exactly, however many digits it has.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ephemdir.h"

struct size_unit {
        const char *suffix;     /* lowercase */
        int64_t bytes;
};

#define KIB INT64_C(1024)
#define KB INT64_C(1000)

static const struct size_unit size_units[] = {
        { "",    1 },
        { "b",   1 },
        { "k",   KIB },
        { "kib", KIB },
        { "kb",  KB },
        { "m",   KIB * KIB },
        { "mib", KIB * KIB },
        { "mb",  KB * KB },
        { "g",   KIB * KIB * KIB },
        { "gib", KIB * KIB * KIB },
        { "gb",  KB * KB * KB },
        { "t",   KIB * KIB * KIB * KIB },
        { "tib", KIB * KIB * KIB * KIB },
        { "tb",  KB * KB * KB * KB },
};

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* ASCII-only, so the result cannot depend on the locale (in a Turkish
 * locale, strcasecmp() need not match "I" with "i"). */
static char ascii_lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static bool ascii_case_equal(const char *a, const char *b) {
        for (; *a && *b; a++, b++)
                if (ascii_lower(*a) != ascii_lower(*b))
                        return false;
        return *a == *b;
}

static int find_unit(const char *suffix, int64_t *ret_bytes) {
        for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++)
                if (ascii_case_equal(suffix, size_units[i].suffix)) {
                        *ret_bytes = size_units[i].bytes;
                        return 0;
                }
        return -EINVAL;
}

/* floor(0.<frac digits> * unit), exactly.  Works from the last digit
 * towards the point: floor((d * unit + x) / 10) == floor((d * unit +
 * floor(x)) / 10) for real x >= 0, so carrying the floored partial result
 * loses nothing, and the partial result never exceeds unit (no overflow). */
static int64_t fraction_bytes(const char *frac, size_t n_frac, int64_t unit) {
        int64_t q = 0;

        for (size_t i = n_frac; i > 0; i--)
                q = ((frac[i - 1] - '0') * unit + q) / 10;
        return q;
}

int ephemdir_parse_size(const char *s, int64_t *ret_bytes) {
        const char *p = s, *frac = NULL;
        size_t n_frac = 0;
        bool overflow = false;
        int64_t whole = 0, unit, total;
        int r;

        if (!s || !is_digit(*s))
                return -EINVAL;

        for (; is_digit(*p); p++)
                if (__builtin_mul_overflow(whole, 10, &whole) ||
                    __builtin_add_overflow(whole, *p - '0', &whole))
                        overflow = true;

        if (*p == '.') {
                frac = ++p;
                for (; is_digit(*p); p++)
                        n_frac++;
                if (n_frac == 0)        /* "1." or "1.G" */
                        return -EINVAL;
        }

        r = find_unit(p, &unit);
        if (r < 0)
                return r;

        /* A fraction of a byte is meaningless; it is almost certainly a
         * forgotten unit ("1.5" meant "1.5G"), so refuse to guess. */
        if (frac && unit == 1)
                return -EINVAL;

        if (overflow ||
            __builtin_mul_overflow(whole, unit, &total) ||
            __builtin_add_overflow(total, fraction_bytes(frac, n_frac, unit), &total))
                return -ERANGE;

        if (total <= 0)
                return -EINVAL;

        if (ret_bytes)
                *ret_bytes = total;
        return 0;
}
