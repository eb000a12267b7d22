/* SPDX-License-Identifier: MIT */
/*
 * Duration parser: "90" (seconds) or "<n><unit>..." with units w d h m s in
 * strictly decreasing order ("1h30m", "2w", "1w2d3h4m5s").
 *
 * Values come from the command line, config files and rule files, so the
 * parser is strict: no whitespace, signs, fractions or repeated units, and
 * every multiply and add is overflow-checked.  Syntax is checked over the
 * whole string before an overflow is reported, so "99999999999999999999x" is
 * -EINVAL (bad input) rather than -ERANGE (good input, too big).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ephemdir.h"

struct duration_unit {
        char suffix;
        int64_t seconds;
};

/* Most significant first: a unit's index is its rank for the ordering rule. */
static const struct duration_unit duration_units[] = {
        { 'w', INT64_C(7) * 24 * 60 * 60 },
        { 'd', INT64_C(24) * 60 * 60 },
        { 'h', INT64_C(60) * 60 },
        { 'm', INT64_C(60) },
        { 's', INT64_C(1) },
};

#define N_DURATION_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

static bool is_digit(char c) {
        /* Not isdigit(): that is locale-dependent and takes an int that must
         * not be a negative char. */
        return c >= '0' && c <= '9';
}

/* Index of the unit with this suffix, or -1. */
static int unit_index(char c) {
        for (size_t i = 0; i < N_DURATION_UNITS; i++)
                if (duration_units[i].suffix == c)
                        return (int) i;
        return -1;
}

/* Parse one or more digits at *p, advancing *p.  On overflow the digits are
 * still consumed and *overflow is set, so the caller can finish checking the
 * syntax.  Returns false if there is no digit at *p. */
static bool parse_digits(const char **p, int64_t *value, bool *overflow) {
        const char *s = *p;
        int64_t v = 0;

        if (!is_digit(*s))
                return false;

        for (; is_digit(*s); s++) {
                if (__builtin_mul_overflow(v, 10, &v) ||
                    __builtin_add_overflow(v, *s - '0', &v))
                        *overflow = true;
        }

        *p = s;
        *value = v;
        return true;
}

int ephemdir_parse_duration(const char *s, int64_t *ret_seconds) {
        bool overflow = false;
        int64_t total = 0, n;
        int last_rank = -1;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;

        if (!parse_digits(&p, &n, &overflow))
                return -EINVAL;

        if (*p == '\0') {
                /* A bare number is seconds. */
                if (overflow)
                        return -ERANGE;
                if (n <= 0)
                        return -EINVAL;
                if (ret_seconds)
                        *ret_seconds = n;
                return 0;
        }

        for (;;) {
                int rank = unit_index(*p);
                int64_t part;

                /* A trailing number without a unit ("1h30") is rejected too:
                 * reading it as seconds would silently misread "1h30" as
                 * 1h + 30s when the user most likely meant minutes. */
                if (rank < 0 || rank <= last_rank)
                        return -EINVAL;
                last_rank = rank;
                p++;

                if (__builtin_mul_overflow(n, duration_units[rank].seconds, &part) ||
                    __builtin_add_overflow(total, part, &total))
                        overflow = true;

                if (*p == '\0')
                        break;
                if (!parse_digits(&p, &n, &overflow))
                        return -EINVAL;
        }

        if (overflow)
                return -ERANGE;
        if (total <= 0)
                return -EINVAL;

        if (ret_seconds)
                *ret_seconds = total;
        return 0;
}
