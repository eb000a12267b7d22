/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ephemdir.h"

struct good_case {
        const char *input;
        int64_t bytes;
};

struct bad_case {
        const char *input;
        int error;
};

#define SENTINEL INT64_C(-12345)
#define KIB INT64_C(1024)

static void check_good(const struct good_case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int64_t v = SENTINEL;
                int r = ephemdir_parse_size(cases[i].input, &v);

                if (r != 0 || v != cases[i].bytes)
                        fail_msg("\"%s\": r=%d value=%lld, expected %lld",
                                 cases[i].input, r, (long long) v,
                                 (long long) cases[i].bytes);
        }
}

/* Also checks that the output is left alone on failure. */
static void check_bad(const struct bad_case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int64_t v = SENTINEL;
                int r = ephemdir_parse_size(cases[i].input, &v);

                if (r != cases[i].error || v != SENTINEL)
                        fail_msg("\"%s\": r=%d value=%lld, expected error %d",
                                 cases[i].input ? cases[i].input : "(null)", r,
                                 (long long) v, cases[i].error);
        }
}

static void test_size_accepts_binary_and_decimal_units(void **state) {
        static const struct good_case cases[] = {
                { "1", 1 },
                { "4096", 4096 },
                { "1B", 1 },
                { "1b", 1 },
                { "512k", 524288 },
                { "512K", 524288 },
                { "1KiB", KIB },
                { "1kib", KIB },
                { "1KIB", KIB },
                { "1KB", 1000 },
                { "1kb", 1000 },
                { "3M", 3 * KIB * KIB },
                { "3MiB", 3 * KIB * KIB },
                { "500MB", 500000000 },
                { "2G", 2 * KIB * KIB * KIB },
                { "2GiB", INT64_C(2147483648) },
                { "2GB", INT64_C(2000000000) },
                { "1T", KIB * KIB * KIB * KIB },
                { "1TiB", KIB * KIB * KIB * KIB },
                { "1TB", INT64_C(1000000000000) },
                { "0010K", 10 * KIB },
        };
        (void) state;
        check_good(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_size_fractions_round_down_exactly(void **state) {
        static const struct good_case cases[] = {
                { "1.5G", INT64_C(1610612736) },
                { "1.5GiB", INT64_C(1610612736) },
                { "0.5K", 512 },
                { "1.25M", 1310720 },
                { "1.1K", 1126 },               /* 1126.4 */
                { "1.001KB", 1001 },
                { "0.001K", 1 },                /* 1.024 */
                { "2.0G", 2 * KIB * KIB * KIB },
                /* 2047.99999...: a long fraction must not round up or
                 * overflow an accumulator. */
                { "1.99999999999999999999999999999999999999K", 2047 },
                { "0.99999999999999999999999999999999999999T", KIB * KIB * KIB * KIB - 1 },
        };
        (void) state;
        check_good(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_size_rejects_malformed_input(void **state) {
        static const struct bad_case cases[] = {
                { NULL, -EINVAL },
                { "", -EINVAL },
                { "-1", -EINVAL },
                { "+1", -EINVAL },
                { "-1K", -EINVAL },
                { " 1K", -EINVAL },
                { "1K ", -EINVAL },
                { "1 K", -EINVAL },
                { "1.5", -EINVAL },     /* fraction without unit */
                { "1.5B", -EINVAL },    /* fraction of a byte */
                { "10XB", -EINVAL },
                { "1..5G", -EINVAL },
                { "1.5.5G", -EINVAL },
                { "1.", -EINVAL },
                { "1.G", -EINVAL },
                { ".5G", -EINVAL },
                { "1,5G", -EINVAL },
                { "K", -EINVAL },
                { "1KK", -EINVAL },
                { "1Ki", -EINVAL },
                { "1iB", -EINVAL },
                { "1kbb", -EINVAL },
                { "1P", -EINVAL },
                { "1e3", -EINVAL },
                { "0x10", -EINVAL },
                { "1K\n", -EINVAL },
                { "99999999999999999999999XB", -EINVAL },  /* syntax before range */
        };
        (void) state;
        check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_size_rejects_zero(void **state) {
        static const struct bad_case cases[] = {
                { "0", -EINVAL },
                { "0B", -EINVAL },
                { "0K", -EINVAL },
                { "0.0G", -EINVAL },
                { "0.0001K", -EINVAL },         /* 0.1024 bytes rounds to 0 */
        };
        (void) state;
        check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_size_accepts_int64_limits(void **state) {
        static const struct good_case cases[] = {
                { "9223372036854775807", INT64_MAX },
                { "9223372036854775807B", INT64_MAX },
                { "8388607T", INT64_C(8388607) * KIB * KIB * KIB * KIB },
                { "8388607.99999999999999999999T", INT64_MAX },
                { "9223372036854775.807KB", INT64_MAX },
        };
        (void) state;
        check_good(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_size_rejects_overflow(void **state) {
        static const struct bad_case cases[] = {
                { "9223372036854775808", -ERANGE },
                { "99999999999999999999999999999", -ERANGE },
                { "8388608T", -ERANGE },                /* multiply overflows */
                { "9007199254740992K", -ERANGE },
                { "9223372036854775.808KB", -ERANGE },  /* fraction add overflows */
                { "99999999999999999999999.5G", -ERANGE },
        };
        (void) state;
        check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_size_output_is_optional(void **state) {
        (void) state;
        assert_int_equal(ephemdir_parse_size("1K", NULL), 0);
        assert_int_equal(ephemdir_parse_size("1X", NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_size_accepts_binary_and_decimal_units),
                cmocka_unit_test(test_size_fractions_round_down_exactly),
                cmocka_unit_test(test_size_rejects_malformed_input),
                cmocka_unit_test(test_size_rejects_zero),
                cmocka_unit_test(test_size_accepts_int64_limits),
                cmocka_unit_test(test_size_rejects_overflow),
                cmocka_unit_test(test_size_output_is_optional),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
