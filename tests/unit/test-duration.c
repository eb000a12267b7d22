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
        int64_t seconds;
};

struct bad_case {
        const char *input;
        int error;
};

#define SENTINEL INT64_C(-12345)

static void check_good(const struct good_case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int64_t v = SENTINEL;
                int r = ephemdir_parse_duration(cases[i].input, &v);

                if (r != 0 || v != cases[i].seconds)
                        fail_msg("\"%s\": r=%d value=%lld, expected %lld",
                                 cases[i].input, r, (long long) v,
                                 (long long) cases[i].seconds);
        }
}

/* Also checks that the output is left alone on failure. */
static void check_bad(const struct bad_case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int64_t v = SENTINEL;
                int r = ephemdir_parse_duration(cases[i].input, &v);

                if (r != cases[i].error || v != SENTINEL)
                        fail_msg("\"%s\": r=%d value=%lld, expected error %d",
                                 cases[i].input ? cases[i].input : "(null)", r,
                                 (long long) v, cases[i].error);
        }
}

static void test_duration_accepts_documented_forms(void **state) {
        static const struct good_case cases[] = {
                { "90", 90 },
                { "1", 1 },
                { "30m", 1800 },
                { "1h30m", 5400 },
                { "7d", 604800 },
                { "2w", 1209600 },
                { "45s", 45 },
                { "1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5 },
                { "1d1s", 86401 },
                { "0h30m", 1800 },      /* a zero part is fine if the total is not */
                { "007m", 420 },
                { "90m", 5400 },        /* parts need not be "normalised" */
        };
        (void) state;
        check_good(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_duration_units_in_decreasing_order_only(void **state) {
        static const struct bad_case cases[] = {
                { "1m1h", -EINVAL },
                { "1s1w", -EINVAL },
                { "1h1h", -EINVAL },
                { "1d2d", -EINVAL },
                { "1h30m1h", -EINVAL },
        };
        (void) state;
        check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_duration_rejects_malformed_input(void **state) {
        static const struct bad_case cases[] = {
                { NULL, -EINVAL },
                { "", -EINVAL },
                { "-5m", -EINVAL },
                { "+5m", -EINVAL },
                { " 5m", -EINVAL },
                { "5m ", -EINVAL },
                { "5 m", -EINVAL },
                { "1h 30m", -EINVAL },
                { "5\n", -EINVAL },
                { "1.5h", -EINVAL },
                { "m", -EINVAL },
                { "h30m", -EINVAL },
                { "5M", -EINVAL },      /* units are lowercase */
                { "5y", -EINVAL },
                { "5ms", -EINVAL },
                { "5min", -EINVAL },
                { "1h30", -EINVAL },    /* trailing number without a unit */
                { "0x10", -EINVAL },
                { "1e3", -EINVAL },
                { "５m", -EINVAL },      /* fullwidth digit */
                { "99999999999999999999999x", -EINVAL },  /* syntax before range */
        };
        (void) state;
        check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_duration_rejects_zero(void **state) {
        static const struct bad_case cases[] = {
                { "0", -EINVAL },
                { "0s", -EINVAL },
                { "000", -EINVAL },
                { "0w0d0h0m0s", -EINVAL },
        };
        (void) state;
        check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_duration_accepts_int64_limits(void **state) {
        static const struct good_case cases[] = {
                { "9223372036854775807", INT64_MAX },
                { "9223372036854775807s", INT64_MAX },
                { "15250284452471w", INT64_C(15250284452471) * 604800 },
                { "15250284452471w3d", INT64_C(15250284452471) * 604800 + 3 * 86400 },
                { "153722867280912930m7s", INT64_MAX },
        };
        (void) state;
        check_good(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_duration_rejects_overflow(void **state) {
        static const struct bad_case cases[] = {
                { "9223372036854775808", -ERANGE },
                { "9223372036854775808s", -ERANGE },
                { "99999999999999999999999999", -ERANGE },
                { "999999999999999999w", -ERANGE },
                { "15250284452472w", -ERANGE },         /* multiply overflows */
                { "15250284452471w4d", -ERANGE },       /* add overflows */
                { "9223372036854775807s1s", -EINVAL },  /* (s then s: order) */
                { "153722867280912930m8s", -ERANGE },   /* one past INT64_MAX */
        };
        (void) state;
        check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_duration_output_is_optional(void **state) {
        (void) state;
        assert_int_equal(ephemdir_parse_duration("1h", NULL), 0);
        assert_int_equal(ephemdir_parse_duration("1x", NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_duration_accepts_documented_forms),
                cmocka_unit_test(test_duration_units_in_decreasing_order_only),
                cmocka_unit_test(test_duration_rejects_malformed_input),
                cmocka_unit_test(test_duration_rejects_zero),
                cmocka_unit_test(test_duration_accepts_int64_limits),
                cmocka_unit_test(test_duration_rejects_overflow),
                cmocka_unit_test(test_duration_output_is_optional),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
