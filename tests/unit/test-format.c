/* SPDX-License-Identifier: MIT */
/* Tests for the CLI's src/cli/format.c (compiled into this test directly). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format.h"

struct remaining_case {
        int64_t seconds;
        const char *text;
};

static void test_remaining_shows_two_most_significant_units(void **state) {
        static const struct remaining_case cases[] = {
                { 7199, "1h 59m" },
                { 299, "4m 59s" },
                { 2 * 86400 + 3 * 3600, "2d 3h" },
                { 45, "45s" },
                { 3 * 604800 + 2 * 86400, "3w 2d" },
                { 3 * 604800 + 2 * 86400 + 59, "3w 2d" },  /* truncated, not rounded */
                { 1, "1s" },
                { 60, "1m" },
                { 3600, "1h" },                 /* no "1h 0m" */
                { 3601, "1h" },                 /* seconds are below the two units shown */
                { 86400 + 59, "1d" },
                { 604800, "1w" },
                { 604800 + 3600, "1w" },
                { INT64_MAX, "15250284452471w 3d" },
        };
        (void) state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[64];

                memset(buf, 'X', sizeof(buf));
                format_remaining(cases[i].seconds, buf, sizeof(buf));
                if (strcmp(buf, cases[i].text) != 0)
                        fail_msg("%lld: \"%s\", expected \"%s\"",
                                 (long long) cases[i].seconds, buf, cases[i].text);
        }
}

static void test_remaining_never_negative(void **state) {
        char buf[16];
        (void) state;

        format_remaining(0, buf, sizeof(buf));
        assert_string_equal(buf, "0s");
        format_remaining(-5, buf, sizeof(buf));
        assert_string_equal(buf, "0s");
        format_remaining(INT64_MIN, buf, sizeof(buf));
        assert_string_equal(buf, "0s");
}

static void test_remaining_truncates_within_buffer(void **state) {
        char buf[8];
        (void) state;

        memset(buf, 'X', sizeof(buf));
        format_remaining(7199, buf, 4);
        assert_string_equal(buf, "1h ");
        assert_int_equal(buf[4], 'X');

        /* n == 0: the buffer is not touched at all. */
        memset(buf, 'X', sizeof(buf));
        format_remaining(7199, buf, 0);
        assert_int_equal(buf[0], 'X');
}

struct size_case {
        int64_t bytes;
        const char *text;
};

static void test_size_uses_binary_units_with_one_decimal(void **state) {
        static const struct size_case cases[] = {
                { 0, "0 B" },
                { 1, "1 B" },
                { 512, "512 B" },
                { 1023, "1023 B" },
                { 1024, "1.0 KiB" },
                { 1536, "1.5 KiB" },
                { 1024 * 10 + 1023, "11.0 KiB" },       /* 10.999 rounds up */
                { INT64_C(2147483648), "2.0 GiB" },
                { INT64_C(1610612736), "1.5 GiB" },
                { 1048575, "1.0 MiB" },                 /* not "1024.0 KiB" */
                { INT64_C(1099511627776), "1.0 TiB" },
                { INT64_C(1125899906842624), "1.0 PiB" },
                { INT64_MAX, "8.0 EiB" },
                { -1536, "-1.5 KiB" },
                { -1, "-1 B" },
                { INT64_MIN, "-8.0 EiB" },
        };
        (void) state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[64];

                memset(buf, 'X', sizeof(buf));
                format_size(cases[i].bytes, buf, sizeof(buf));
                if (strcmp(buf, cases[i].text) != 0)
                        fail_msg("%lld: \"%s\", expected \"%s\"",
                                 (long long) cases[i].bytes, buf, cases[i].text);
        }
}

static void test_size_truncates_within_buffer(void **state) {
        char buf[8];
        (void) state;

        memset(buf, 'X', sizeof(buf));
        format_size(1536, buf, 4);
        assert_string_equal(buf, "1.5");
        assert_int_equal(buf[4], 'X');
}

struct text_case {
        const char *in;
        const char *out;
};

static void test_escape_makes_terminal_safe(void **state) {
        static const struct text_case cases[] = {
                { "", "" },
                { "brave-otter", "brave-otter" },
                { "a\nb", "a\\x0ab" },
                { "\x1b[31mred", "\\x1b[31mred" },
                { "\r\t", "\\x0d\\x09" },
                { "del\x7f", "del\\x7f" },
                { "back\\slash", "back\\slash" },       /* kept as is */
                { "café", "café" },                     /* valid UTF-8 kept */
                { "日本", "日本" },
                { "\xf0\x9f\x9f\xa2 ok", "\xf0\x9f\x9f\xa2 ok" },  /* 4-byte emoji */
                { "\xff", "\\xff" },
                { "\xfe\xfe", "\\xfe\\xfe" },
                { "caf\xc3", "caf\\xc3" },              /* truncated sequence */
                { "\xc3(", "\\xc3(" },                  /* bad continuation */
                { "\xe2\x82" "A", "\\xe2\\x82A" },      /* resyncs after bad bytes */
                { "\x80", "\\x80" },                    /* stray continuation */
                { "\xc0\xaf", "\\xc0\\xaf" },           /* overlong '/' */
                { "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },  /* overlong, 3 bytes */
                { "\xed\xa0\x80", "\\xed\\xa0\\x80" },  /* UTF-16 surrogate */
                { "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },  /* > U+10FFFF */
                { "\xc2\x9b" "2J", "\\xc2\\x9b2J" },    /* C1 CSI */
                { "\xc2\xa0", "\xc2\xa0" },             /* U+00A0 is printable */
        };
        (void) state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *out = format_escape(cases[i].in);

                assert_non_null(out);
                if (strcmp(out, cases[i].out) != 0)
                        fail_msg("case %zu: \"%s\", expected \"%s\"", i, out, cases[i].out);
                free(out);
        }
}

static void test_escape_rejects_null(void **state) {
        (void) state;
        errno = 0;
        assert_null(format_escape(NULL));
        assert_int_equal(errno, EINVAL);
}

struct tilde_case {
        const char *path;
        const char *home;
        const char *out;
};

static void test_tilde_only_at_component_boundary(void **state) {
        static const struct tilde_case cases[] = {
                { "/home/a/x", "/home/a", "~/x" },
                { "/home/a", "/home/a", "~" },
                { "/home/a/", "/home/a", "~/" },
                { "/home/a/x", "/home/a/", "~/x" },
                { "/home/a/x", "/home/a//", "~/x" },
                { "/home/ab", "/home/a", "/home/ab" },
                { "/home/ab/x", "/home/a", "/home/ab/x" },
                { "/home/a.b/x", "/home/a", "/home/a.b/x" },
                { "/tmp/x", "/home/a", "/tmp/x" },
                { "/home", "/home/a", "/home" },
                { "x/home/a", "/home/a", "x/home/a" },
                { "/x", "/", "/x" },                    /* "/" is no useful home */
                { "/home/a/x", NULL, "/home/a/x" },
                { "/home/a/x", "", "/home/a/x" },
                { "/home/a/x", "home/a", "/home/a/x" }, /* relative home ignored */
        };
        (void) state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *out = format_tilde(cases[i].path, cases[i].home);

                assert_non_null(out);
                if (strcmp(out, cases[i].out) != 0)
                        fail_msg("\"%s\" with home \"%s\": \"%s\", expected \"%s\"",
                                 cases[i].path, cases[i].home ? cases[i].home : "(null)",
                                 out, cases[i].out);
                free(out);
        }
}

static void test_tilde_rejects_null_path(void **state) {
        (void) state;
        errno = 0;
        assert_null(format_tilde(NULL, "/home/a"));
        assert_int_equal(errno, EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_remaining_shows_two_most_significant_units),
                cmocka_unit_test(test_remaining_never_negative),
                cmocka_unit_test(test_remaining_truncates_within_buffer),
                cmocka_unit_test(test_size_uses_binary_units_with_one_decimal),
                cmocka_unit_test(test_size_truncates_within_buffer),
                cmocka_unit_test(test_escape_makes_terminal_safe),
                cmocka_unit_test(test_escape_rejects_null),
                cmocka_unit_test(test_tilde_only_at_component_boundary),
                cmocka_unit_test(test_tilde_rejects_null_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
