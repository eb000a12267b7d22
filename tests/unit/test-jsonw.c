/* SPDX-License-Identifier: MIT */
/* The streaming JSON writer against jansson, which serves as the oracle. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonw.h"

static const char *const awkward[] = {
        "",
        "plain",
        "quote \" and backslash \\ and slash /",
        "controls \x01\x02\x1f and \b\f\n\r\t",
        "delete \x7f",
        "UTF-8: é, 日本, 😀",
        "C1 control \xc2\x9b (valid UTF-8, written as is)",
};

/* The same document, twice: into jansson's tree and through the writer. */
static void build_both(json_t **ret_tree, struct jsonw *w) {
        json_t *root = json_array();
        json_t *obj = json_object();

        jsonw_open(w, '[');
        jsonw_open(w, '{');
        for (size_t i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
                char key[16];
                snprintf(key, sizeof(key), "s%zu", i);
                json_object_set_new(obj, key, json_string(awkward[i]));
                jsonw_key(w, key);
                jsonw_string(w, awkward[i]);
        }
        static const int64_t ints[] = { 0, -1, 42, INT64_MIN, INT64_MAX };
        json_t *arr = json_array();
        jsonw_key(w, "ints");
        jsonw_open(w, '[');
        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
                json_array_append_new(arr, json_integer(ints[i]));
                jsonw_int(w, ints[i]);
        }
        jsonw_close(w, ']');
        json_object_set_new(obj, "ints", arr);

        json_object_set_new(obj, "empty_array", json_array());
        jsonw_key(w, "empty_array");
        jsonw_open(w, '[');
        jsonw_close(w, ']');
        json_object_set_new(obj, "empty_object", json_object());
        jsonw_key(w, "empty_object");
        jsonw_open(w, '{');
        jsonw_close(w, '}');
        json_object_set_new(obj, "yes", json_true());
        jsonw_key(w, "yes");
        jsonw_bool(w, true);
        json_object_set_new(obj, "no", json_false());
        jsonw_key(w, "no");
        jsonw_bool(w, false);
        json_object_set_new(obj, "nothing", json_null());
        jsonw_key(w, "nothing");
        jsonw_string(w, NULL);
        json_object_set_new(obj, "nested", json_pack("{s:[{s:i}]}", "a", "b", 1));
        jsonw_key(w, "nested");
        jsonw_open(w, '{');
        jsonw_key(w, "a");
        jsonw_open(w, '[');
        jsonw_open(w, '{');
        jsonw_key(w, "b");
        jsonw_int(w, 1);
        jsonw_close(w, '}');
        jsonw_close(w, ']');
        jsonw_close(w, '}');
        jsonw_close(w, '}');
        json_array_append_new(root, obj);

        json_array_append_new(root, json_string("second"));
        jsonw_string(w, "second");
        jsonw_close(w, ']');
        *ret_tree = root;
}

static void test_output_is_byte_identical_to_jansson_indent_2(void **state) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct jsonw w;
        json_t *tree;

        assert_non_null(f);
        jsonw_init(&w, f);
        build_both(&tree, &w);
        assert_int_equal(jsonw_finish(&w), 0);
        fclose(f);

        char *want = json_dumps(tree, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        assert_non_null(want);
        assert_int_equal(len, strlen(want) + 1);
        assert_memory_equal(text, want, strlen(want));
        assert_int_equal(text[len - 1], '\n');
        free(want);
        free(text);
        json_decref(tree);
}

static void test_bytes_that_are_not_utf8_become_escaped_text(void **state) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct jsonw w;

        jsonw_init(&w, f);
        jsonw_open(&w, '[');
        jsonw_string(&w, "bad \xff byte");
        jsonw_string(&w, "overlong \xc0\xaf");
        jsonw_string(&w, "surrogate \xed\xa0\x80");
        jsonw_close(&w, ']');
        assert_int_equal(jsonw_finish(&w), 0);
        fclose(f);

        /* Strict parse: the output is valid JSON, and the bytes are named. */
        json_error_t err;
        json_t *v = json_loads(text, 0, &err);
        assert_non_null(v);
        assert_string_equal(json_string_value(json_array_get(v, 0)), "bad \\xff byte");
        assert_string_equal(json_string_value(json_array_get(v, 1)), "overlong \\xc0\\xaf");
        assert_string_equal(json_string_value(json_array_get(v, 2)), "surrogate \\xed\\xa0\\x80");
        json_decref(v);
        free(text);
}

static void test_large_output_crosses_the_buffer_intact(void **state) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct jsonw w;
        char big[20000];

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        jsonw_init(&w, f);
        jsonw_open(&w, '[');
        for (int i = 0; i < 3000; i++)
                jsonw_int(&w, i);
        jsonw_string(&w, big);
        jsonw_close(&w, ']');
        assert_int_equal(jsonw_finish(&w), 0);
        fclose(f);

        json_error_t err;
        json_t *v = json_loads(text, 0, &err);
        assert_non_null(v);
        assert_int_equal(json_array_size(v), 3001);
        assert_int_equal(json_integer_value(json_array_get(v, 2999)), 2999);
        assert_int_equal(strlen(json_string_value(json_array_get(v, 3000))), sizeof(big) - 1);
        json_decref(v);
        free(text);
}

static void test_write_error_is_reported(void **state) {
        FILE *f = fopen("/dev/full", "w");
        struct jsonw w;

        if (!f)
                skip();
        jsonw_init(&w, f);
        jsonw_open(&w, '[');
        jsonw_string(&w, "lost");
        jsonw_close(&w, ']');
        assert_int_equal(jsonw_finish(&w), -1);
        fclose(f);
}

static void test_misnesting_is_reported(void **state) {
        FILE *f = fopen("/dev/null", "w");
        struct jsonw w;

        assert_non_null(f);
        jsonw_init(&w, f);
        jsonw_open(&w, '{');
        jsonw_key(&w, "dangling");
        jsonw_close(&w, '}');
        assert_int_equal(jsonw_finish(&w), -1);

        jsonw_init(&w, f);
        jsonw_open(&w, '[');
        assert_int_equal(jsonw_finish(&w), -1);
        fclose(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_output_is_byte_identical_to_jansson_indent_2),
                cmocka_unit_test(test_bytes_that_are_not_utf8_become_escaped_text),
                cmocka_unit_test(test_large_output_crosses_the_buffer_intact),
                cmocka_unit_test(test_write_error_is_reported),
                cmocka_unit_test(test_misnesting_is_reported),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
