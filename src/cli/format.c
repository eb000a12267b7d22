/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

struct time_unit {
        int64_t seconds;
        char suffix;
};

static const struct time_unit time_units[] = {
        { INT64_C(7) * 24 * 60 * 60, 'w' },
        { INT64_C(24) * 60 * 60,     'd' },
        { INT64_C(60) * 60,          'h' },
        { INT64_C(60),               'm' },
        { INT64_C(1),                's' },
};

#define N_TIME_UNITS (sizeof(time_units) / sizeof(time_units[0]))

void format_remaining(int64_t seconds, char *buf, size_t n) {
        size_t i = 0;
        int64_t major, minor;

        if (!buf || n == 0)
                return;
        if (seconds <= 0) {
                snprintf(buf, n, "0s");
                return;
        }

        while (seconds < time_units[i].seconds)
                i++;

        major = seconds / time_units[i].seconds;
        minor = i + 1 < N_TIME_UNITS ?
                seconds % time_units[i].seconds / time_units[i + 1].seconds : 0;

        /* The second unit only when non-zero: "2h", not "2h 0m". */
        if (minor > 0)
                snprintf(buf, n, "%" PRId64 "%c %" PRId64 "%c",
                         major, time_units[i].suffix, minor, time_units[i + 1].suffix);
        else
                snprintf(buf, n, "%" PRId64 "%c", major, time_units[i].suffix);
}

void format_size(int64_t bytes, char *buf, size_t n) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        const char *sign = bytes < 0 ? "-" : "";
        /* Magnitude in unsigned arithmetic: -INT64_MIN does not fit an int64. */
        uint64_t mag = bytes < 0 ? -(uint64_t) bytes : (uint64_t) bytes;
        uint64_t unit = 1, whole, tenths;
        size_t u = 0;

        if (!buf || n == 0)
                return;

        if (mag < 1024) {
                snprintf(buf, n, "%s%" PRIu64 " B", sign, mag);
                return;
        }

        while (u + 1 < sizeof(units) / sizeof(units[0]) && mag / unit >= 1024) {
                unit *= 1024;
                u++;
        }

        /* rem * 10 + unit / 2 < 11 * 2^60 for unit <= 2^60: no overflow. */
        whole = mag / unit;
        tenths = (mag % unit * 10 + unit / 2) / unit;
        if (tenths == 10) {
                whole++;
                tenths = 0;
        }
        /* Rounding up can reach the next unit: "1.0 MiB", not "1024.0 KiB". */
        if (whole == 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
                whole = 1;
                u++;
        }

        snprintf(buf, n, "%s%" PRIu64 ".%" PRIu64 " %s", sign, whole, tenths, units[u]);
}

static bool is_cont(unsigned char c) {
        return c >= 0x80 && c <= 0xbf;
}

/* Length of the well-formed UTF-8 sequence starting at s (lead byte >=
 * 0x80), or 0.  Overlong forms, surrogates and code points above U+10FFFF
 * are ill-formed.  Stops at the terminating NUL, which is never a
 * continuation byte, so it never reads past the string. */
static size_t utf8_len(const unsigned char *s) {
        unsigned char lo = 0x80, hi = 0xbf;
        size_t len;

        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4;
        else
                return 0;

        /* The second byte's range narrows for the leads that could
         * otherwise encode overlongs, surrogates or too-large values. */
        if (s[0] == 0xe0)
                lo = 0xa0;
        else if (s[0] == 0xed)
                hi = 0x9f;
        else if (s[0] == 0xf0)
                lo = 0x90;
        else if (s[0] == 0xf4)
                hi = 0x8f;

        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (!is_cont(s[i]))
                        return 0;
        return len;
}

bool format_is_utf8(const char *s) {
        const unsigned char *in = (const unsigned char *) s;

        while (*in) {
                size_t k = *in < 0x80 ? 1 : utf8_len(in);
                if (k == 0)
                        return false;
                in += k;
        }
        return true;
}

/* U+0080..U+009F: C1 controls; CSI (U+009B) starts escape sequences in
 * some terminals just like ESC [ does. */
static bool is_c1_control(const unsigned char *s) {
        return s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f;
}

static char *put_hex(char *p, unsigned char c) {
        static const char digits[] = "0123456789abcdef";

        *p++ = '\\';
        *p++ = 'x';
        *p++ = digits[c >> 4];
        *p++ = digits[c & 0xf];
        return p;
}

char *format_escape(const char *s) {
        const unsigned char *in = (const unsigned char *) s;
        size_t len;
        char *out, *p;

        if (!s) {
                errno = EINVAL;
                return NULL;
        }

        /* Worst case every byte becomes "\xNN". */
        len = strlen(s);
        if (len > (SIZE_MAX - 1) / 4) {
                errno = ENOMEM;
                return NULL;
        }
        out = malloc(len * 4 + 1);
        if (!out)
                return NULL;

        p = out;
        while (*in) {
                size_t k;

                if (*in < 0x20 || *in == 0x7f) {
                        p = put_hex(p, *in++);
                        continue;
                }
                if (*in < 0x80) {
                        *p++ = (char) *in++;
                        continue;
                }

                k = utf8_len(in);
                if (k == 0) {
                        /* Escape only the offending byte and resync on the
                         * next one, so one bad byte cannot hide valid text. */
                        p = put_hex(p, *in++);
                } else if (is_c1_control(in)) {
                        p = put_hex(p, *in++);
                        p = put_hex(p, *in++);
                } else {
                        memcpy(p, in, k);
                        p += k;
                        in += k;
                }
        }
        *p = '\0';
        return out;
}

char *format_tilde(const char *path, const char *home) {
        size_t hlen;
        char *out;

        if (!path) {
                errno = EINVAL;
                return NULL;
        }
        if (!home || home[0] != '/')
                return strdup(path);

        /* "/home/a/" is the same home as "/home/a"; "/" (or "//") as home
         * would turn every absolute path into "~/...", which helps no one. */
        hlen = strlen(home);
        while (hlen > 0 && home[hlen - 1] == '/')
                hlen--;
        if (hlen == 0)
                return strdup(path);

        /* Only at a component boundary: "/home/ab" is not under "/home/a". */
        if (strncmp(path, home, hlen) != 0 || (path[hlen] != '\0' && path[hlen] != '/'))
                return strdup(path);

        if (asprintf(&out, "~%s", path + hlen) < 0) {
                errno = ENOMEM;
                return NULL;
        }
        return out;
}
