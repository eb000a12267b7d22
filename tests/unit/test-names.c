/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ephemdir.h"
#include "names.h"

#define ITERATIONS 500

static bool in_list(const char *w, size_t len, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strlen(list[i]) == len && strncmp(list[i], w, len) == 0)
                        return true;
        return false;
}

static bool is_lower_hex(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* Check name == prefix + adj-...-animal[-<16 hex>] with exactly `words`
 * words from the lists.  Words never contain '-' (checked separately), so
 * splitting on '-' after the prefix is unambiguous. */
static void check_name(const char *name, const char *prefix, int words, bool with_token) {
        const char *p = name;
        size_t plen = strlen(prefix);

        if (strncmp(name, prefix, plen) != 0)
                fail_msg("\"%s\" does not start with prefix \"%s\"", name, prefix);
        p += plen;

        for (int i = 0; i < words; i++) {
                size_t len = strcspn(p, "-");
                bool last = i == words - 1;
                bool ok = last ? in_list(p, len, names_animals, names_n_animals)
                               : in_list(p, len, names_adjectives, names_n_adjectives);
                if (!ok)
                        fail_msg("\"%s\": word %d is not a%s", name, i + 1,
                                 last ? "n animal" : "n adjective");
                p += len;
                if (!last || with_token) {
                        if (*p != '-')
                                fail_msg("\"%s\": missing '-' after word %d", name, i + 1);
                        p++;
                }
        }

        if (with_token) {
                if (strlen(p) != NAMES_TOKEN_HEX || !is_lower_hex(p, NAMES_TOKEN_HEX))
                        fail_msg("\"%s\": token \"%s\" is not 16 lowercase hex", name, p);
        } else if (*p != '\0')
                fail_msg("\"%s\": trailing \"%s\"", name, p);
}

static void test_generated_names_match_pattern(void **state) {
        static const char *const prefixes[] = { "", "scratch-", "build_", "é-" };
        (void) state;

        for (size_t pi = 0; pi < sizeof(prefixes) / sizeof(prefixes[0]); pi++)
                for (int words = NAMES_MIN_WORDS; words <= NAMES_MAX_WORDS; words++)
                        for (int tok = 0; tok <= 1; tok++)
                                for (int i = 0; i < ITERATIONS / 10; i++) {
                                        char *name = NULL;
                                        assert_int_equal(names_generate(prefixes[pi], words, tok, &name), 0);
                                        assert_non_null(name);
                                        check_name(name, prefixes[pi], words, tok);
                                        free(name);
                                }
}

static void test_null_prefix_means_no_prefix(void **state) {
        char *name = NULL;
        (void) state;

        assert_int_equal(names_generate(NULL, 2, true, &name), 0);
        check_name(name, "", 2, true);
        free(name);
}

static void test_prefix_is_prepended_verbatim(void **state) {
        char *name = NULL;
        (void) state;

        assert_int_equal(names_generate("scratch-", 2, true, &name), 0);
        assert_true(strncmp(name, "scratch-", 8) == 0);
        /* "scratch-" + adjective + '-' + animal + '-' + token: no doubled '-'. */
        assert_null(strstr(name, "--"));
        check_name(name, "scratch-", 2, true);
        free(name);
}

static void test_token_is_16_lowercase_hex(void **state) {
        (void) state;

        for (int i = 0; i < ITERATIONS; i++) {
                char *name = NULL;
                const char *dash;

                assert_int_equal(names_generate(NULL, 1, true, &name), 0);
                dash = strrchr(name, '-');
                assert_non_null(dash);
                assert_int_equal(strlen(dash + 1), NAMES_TOKEN_HEX);
                assert_true(is_lower_hex(dash + 1, NAMES_TOKEN_HEX));
                free(name);
        }
}

static void test_generated_names_differ(void **state) {
        char *names[64] = { 0 };
        (void) state;

        for (size_t i = 0; i < 64; i++) {
                assert_int_equal(names_generate(NULL, 2, true, &names[i]), 0);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(names[i], names[j]) == 0)
                                fail_msg("duplicate name \"%s\"", names[i]);
        }
        for (size_t i = 0; i < 64; i++)
                free(names[i]);
}

/* With 3 adjectives drawn from 256, a repeat would turn up in about 1% of
 * names if the generator did not prevent it. */
static void test_adjectives_in_one_name_are_distinct(void **state) {
        (void) state;

        for (int i = 0; i < 2000; i++) {
                char *name = NULL, *w[NAMES_MAX_WORDS], *save = NULL;
                int n = 0;

                assert_int_equal(names_generate(NULL, 4, false, &name), 0);
                for (char *t = strtok_r(name, "-", &save); t && n < NAMES_MAX_WORDS;
                     t = strtok_r(NULL, "-", &save))
                        w[n++] = t;
                assert_int_equal(n, 4);
                if (!strcmp(w[0], w[1]) || !strcmp(w[0], w[2]) || !strcmp(w[1], w[2]))
                        fail_msg("repeated adjective in %s-%s-%s-%s", w[0], w[1], w[2], w[3]);
                free(name);
        }
}

/* Every animal must be reachable (catches an off-by-one range).  20000
 * uniform draws miss one of 256 entries with probability ~ 256 * e^-78. */
static void test_every_animal_can_be_picked(void **state) {
        bool *seen = calloc(names_n_animals, sizeof(bool));
        (void) state;

        assert_non_null(seen);
        for (int i = 0; i < 20000; i++) {
                char *name = NULL;
                bool found = false;

                assert_int_equal(names_generate(NULL, 1, false, &name), 0);
                for (size_t k = 0; k < names_n_animals; k++)
                        if (strcmp(name, names_animals[k]) == 0) {
                                seen[k] = found = true;
                                break;
                        }
                assert_true(found);
                free(name);
        }
        for (size_t k = 0; k < names_n_animals; k++)
                if (!seen[k])
                        fail_msg("animal \"%s\" never picked", names_animals[k]);
        free(seen);
}

static void test_generate_rejects_bad_word_counts(void **state) {
        static const int bad[] = { 0, 5, -1, INT_MIN, INT_MAX };
        (void) state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *name = (char *) "untouched";
                assert_int_equal(names_generate(NULL, bad[i], true, &name), -EINVAL);
                assert_string_equal(name, "untouched");
                assert_int_equal(names_validate_words(bad[i]), -EINVAL);
        }
        for (int w = NAMES_MIN_WORDS; w <= NAMES_MAX_WORDS; w++)
                assert_int_equal(names_validate_words(w), 0);
}

static void test_generate_rejects_bad_prefix(void **state) {
        char *name = (char *) "untouched";
        (void) state;

        assert_int_equal(names_generate("a/b", 2, true, &name), -EINVAL);
        assert_int_equal(names_generate("a\nb", 2, true, &name), -EINVAL);
        assert_int_equal(names_generate("..", 2, true, &name), -EINVAL);
        assert_string_equal(name, "untouched");
}

struct prefix_case {
        const char *prefix;
        const char *reason_part;        /* NULL: valid */
};

static void test_prefix_validation_names_the_problem(void **state) {
        char long65[NAMES_MAX_PREFIX + 2], long64[NAMES_MAX_PREFIX + 1];
        (void) state;

        memset(long65, 'a', sizeof(long65) - 1);
        long65[sizeof(long65) - 1] = '\0';
        memset(long64, 'a', sizeof(long64) - 1);
        long64[sizeof(long64) - 1] = '\0';

        const struct prefix_case cases[] = {
                { NULL, NULL },
                { "", NULL },
                { "scratch-", NULL },
                { "...", NULL },
                { ".hidden-", NULL },
                { "café-", NULL },
                { long64, NULL },
                { "a/b", "'/'" },
                { "/", "'/'" },
                { "scratch/", "'/'" },
                { "a\nb", "control" },
                { "\t", "control" },
                { "\x1b[31m", "control" },
                { "del\x7f", "control" },
                { ".", "'.'" },
                { "..", "'..'" },
                { long65, "64" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *reason = "untouched";
                int r = names_validate_prefix(cases[i].prefix, &reason);

                if (!cases[i].reason_part) {
                        if (r != 0 || strcmp(reason, "untouched") != 0)
                                fail_msg("case %zu: r=%d reason=\"%s\", expected valid", i, r, reason);
                } else if (r != -EINVAL || !strstr(reason, cases[i].reason_part))
                        fail_msg("case %zu: r=%d reason=\"%s\", expected mention of %s",
                                 i, r, reason, cases[i].reason_part);
        }

        /* The reason pointer is optional. */
        assert_int_equal(names_validate_prefix("a/b", NULL), -EINVAL);
}

static void test_word_lists_are_lowercase_letters_and_short(void **state) {
        const char *const *lists[] = { names_adjectives, names_animals };
        const size_t sizes[] = { names_n_adjectives, names_n_animals };
        (void) state;

        for (size_t l = 0; l < 2; l++)
                for (size_t i = 0; i < sizes[l]; i++) {
                        const char *w = lists[l][i];
                        size_t len = strlen(w);

                        if (len < 1 || len > 12)
                                fail_msg("\"%s\": length %zu", w, len);
                        for (size_t k = 0; k < len; k++)
                                if (w[k] < 'a' || w[k] > 'z')
                                        fail_msg("\"%s\": not lowercase ASCII letters", w);
                }
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void check_no_duplicates(const char *const *list, size_t n) {
        const char **copy = malloc(n * sizeof(*copy));

        assert_non_null(copy);
        memcpy(copy, list, n * sizeof(*copy));
        qsort(copy, n, sizeof(*copy), cmp_str);
        for (size_t i = 1; i < n; i++)
                if (strcmp(copy[i - 1], copy[i]) == 0)
                        fail_msg("duplicate word \"%s\"", copy[i]);
        free(copy);
}

static void test_word_lists_have_no_duplicates(void **state) {
        (void) state;
        check_no_duplicates(names_adjectives, names_n_adjectives);
        check_no_duplicates(names_animals, names_n_animals);
}

/* 256 x 256: the entropy the name style documentation promises. */
static void test_word_lists_have_256_entries(void **state) {
        (void) state;
        assert_int_equal(names_n_adjectives, 256);
        assert_int_equal(names_n_animals, 256);
}

static void test_tag_validation(void **state) {
        static const char *const good[] = {
                "build", "a", "0", "a.b_c-d", "v1.2", "x-", "0123456789abcdef0123456789abcdef",
        };
        static const char *const bad[] = {
                "", "-a", ".a", "_a", "Build", "a b", "a/b", "a\n", "café", "a:b",
                "0123456789abcdef0123456789abcdef0",    /* 33 */
        };
        (void) state;

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                if (!names_tag_is_valid(good[i]))
                        fail_msg("tag \"%s\" should be valid", good[i]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (names_tag_is_valid(bad[i]))
                        fail_msg("tag \"%s\" should be invalid", bad[i]);
        assert_false(names_tag_is_valid(NULL));
}

static void test_description_validation(void **state) {
        char max[EPHEMDIR_MAX_DESCRIPTION + 1], over[EPHEMDIR_MAX_DESCRIPTION + 2];
        (void) state;

        memset(max, 'x', sizeof(max) - 1);
        max[sizeof(max) - 1] = '\0';
        memset(over, 'x', sizeof(over) - 1);
        over[sizeof(over) - 1] = '\0';

        assert_true(names_description_is_valid(NULL));
        assert_true(names_description_is_valid(""));
        assert_true(names_description_is_valid("cargo target dir"));
        assert_true(names_description_is_valid("café \xff bytes"));     /* UTF-8 not required */
        assert_true(names_description_is_valid(max));
        assert_false(names_description_is_valid(over));
        assert_false(names_description_is_valid("two\nlines"));
        assert_false(names_description_is_valid("tab\there"));
        assert_false(names_description_is_valid("\x1b[2J"));
        assert_false(names_description_is_valid("del\x7f"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_generated_names_match_pattern),
                cmocka_unit_test(test_null_prefix_means_no_prefix),
                cmocka_unit_test(test_prefix_is_prepended_verbatim),
                cmocka_unit_test(test_token_is_16_lowercase_hex),
                cmocka_unit_test(test_generated_names_differ),
                cmocka_unit_test(test_adjectives_in_one_name_are_distinct),
                cmocka_unit_test(test_every_animal_can_be_picked),
                cmocka_unit_test(test_generate_rejects_bad_word_counts),
                cmocka_unit_test(test_generate_rejects_bad_prefix),
                cmocka_unit_test(test_prefix_validation_names_the_problem),
                cmocka_unit_test(test_word_lists_are_lowercase_letters_and_short),
                cmocka_unit_test(test_word_lists_have_no_duplicates),
                cmocka_unit_test(test_word_lists_have_256_entries),
                cmocka_unit_test(test_tag_validation),
                cmocka_unit_test(test_description_validation),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
