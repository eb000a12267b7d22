/* SPDX-License-Identifier: MIT */
/*
 * rules.d guarantees: every key of a rule reaches struct rule, omitted keys
 * take the documented defaults; the highest directory wins a file name, a
 * /dev/null symlink masks it; files are read in lexical order across
 * directories; a rule name defined twice keeps the first with a warning
 * naming both files; every invalid file is one exact "FILE:LINE:COL: ..."
 * error, skipped whole, while the other files still load; files someone
 * else could have written are refused with a warning; only *.yaml entries
 * are looked at; the sample files shipped in rules.d/ load cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules.h"
#include "testutil.h"
#include "util.h"

#define HOME "/home/rules-test"

struct fixture {
        char *root;
        char *hi;           /* highest priority */
        char *lo;
        char *saved_home;
        struct rule_set set;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        const char *home = getenv("HOME");

        assert_non_null(f);
        f->root = tu_mkdtemp();
        f->hi = tu_strdupf("%s/hi", f->root);
        f->lo = tu_strdupf("%s/lo", f->root);
        assert_int_equal(mkdir(f->hi, 0700), 0);
        assert_int_equal(mkdir(f->lo, 0700), 0);
        f->saved_home = home ? strdup(home) : NULL;
        setenv("HOME", HOME, 1);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        if (f->saved_home)
                setenv("HOME", f->saved_home, 1);
        else
                unsetenv("HOME");
        rule_set_done(&f->set);
        tu_rm_rf(f->root);
        free(f->root);
        free(f->hi);
        free(f->lo);
        free(f->saved_home);
        free(f);
        return 0;
}

static char *write_bytes(const char *dir, const char *name, const char *data, size_t len, mode_t mode) {
        char *path = tu_strdupf("%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
        return path;
}

static char *write_rules(const char *dir, const char *name, const char *text) {
        return write_bytes(dir, name, text, strlen(text), 0644);
}

static int load_as(struct fixture *f, uid_t uid, bool system_scope) {
        const char *const dirs[] = { f->hi, f->lo };

        rule_set_done(&f->set);
        return rules_load(dirs, ELEMENTSOF(dirs), uid, system_scope, &f->set);
}

static int load(struct fixture *f) {
        return load_as(f, geteuid(), false);
}

static void assert_clean(const struct rule_set *s) {
        for (size_t i = 0; i < s->n_errors; i++)
                print_error("unexpected error: %s\n", s->errors[i]);
        for (size_t i = 0; i < s->n_warnings; i++)
                print_error("unexpected warning: %s\n", s->warnings[i]);
        assert_int_equal(s->n_errors, 0);
        assert_int_equal(s->n_warnings, 0);
}

static void assert_starts_with(const char *s, const char *want) {
        assert_non_null(s);
        if (strncmp(s, want, strlen(want)) != 0)
                fail_msg("\"%s\"\n  does not start with \"%s\"", s, want);
}

static void assert_contains(const char *s, const char *want) {
        assert_non_null(s);
        if (!strstr(s, want))
                fail_msg("\"%s\"\n  does not contain \"%s\"", s, want);
}

static const struct rule *find(const struct rule_set *s, const char *name) {
        for (size_t i = 0; i < s->n_rules; i++)
                if (streq(s->rules[i].name, name))
                        return &s->rules[i];
        return NULL;
}

static const char *const ok_file = "version: 1\ndirectories:\n  - name: still-here\n    parent: /srv\n";

/* ---- values ---------------------------------------------------------------- */

static void test_every_key_is_loaded(void **state) {
        struct fixture *f = *state;
        char *path = write_rules(f->hi, "50-build.yaml",
                                 "# build cache\n"
                                 "version: 1\n"
                                 "directories:\n"
                                 "  - name: build-cache\n"
                                 "    parent: ~/scratch\n"
                                 "    lifetime: 2h\n"
                                 "    remove_on_restart: false\n"
                                 "    keep_while_in_use: true\n"
                                 "    max_size: 2GiB\n"
                                 "    recreate: false\n"
                                 "    name_style: secure\n"
                                 "    tags: [build, cache.v2]\n"
                                 "    description: cargo target dir\n");
        const struct rule *r;

        assert_int_equal(load(f), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_rules, 1);
        r = &f->set.rules[0];
        assert_string_equal(r->name, "build-cache");
        assert_string_equal(r->parent, HOME "/scratch");
        assert_string_equal(r->file, path);
        assert_int_equal(r->line, 4);
        assert_int_equal(r->column, 5);
        assert_int_equal(r->lifetime, 2 * 3600);
        assert_false(r->remove_on_restart);
        assert_true(r->keep_while_in_use);
        assert_int_equal(r->max_size, INT64_C(2) << 30);
        assert_false(r->recreate);
        assert_int_equal(r->name_style, EPHEMDIR_NAME_SECURE);
        assert_int_equal(r->n_tags, 2);
        assert_string_equal(r->tags[0], "build");
        assert_string_equal(r->tags[1], "cache.v2");
        assert_null(r->tags[2]);
        assert_string_equal(r->description, "cargo target dir");
        assert_int_equal(f->set.n_files, 1);
        assert_string_equal(f->set.files[0], path);
        assert_null(f->set.files[1]);
        assert_int_equal(f->set.n_masks, 0);
        assert_int_equal(f->set.n_unread, 0);
        free(path);
}

static void test_omitted_keys_take_defaults(void **state) {
        struct fixture *f = *state;
        const struct rule *r;

        free(write_rules(f->hi, "10-min.yaml", "version: 1\ndirectories:\n- {name: scratch, parent: /var/tmp/x}\n"));
        assert_int_equal(load(f), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_rules, 1);
        r = &f->set.rules[0];
        assert_string_equal(r->parent, "/var/tmp/x");
        assert_int_equal(r->line, 3);
        assert_int_equal(r->column, 3);
        assert_int_equal(r->lifetime, 0);
        assert_true(r->remove_on_restart);
        assert_false(r->keep_while_in_use);
        assert_true(r->recreate);
        assert_int_equal(r->max_size, EPHEMDIR_NO_SIZE_LIMIT);
        assert_int_equal(r->name_style, EPHEMDIR_NAME_CLEAN);
        assert_null(r->tags);
        assert_int_equal(r->n_tags, 0);
        assert_null(r->description);
}

static void test_none_and_null_mean_no_limit(void **state) {
        static const char *const spellings[] = { "none", "\"none\"", "~", "null", "" };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(spellings); i++) {
                char *text = tu_strdupf("version: 1\ndirectories:\n  - name: a\n    parent: /a\n"
                                        "    lifetime: %s\n    max_size: %s\n    tags: ~\n    description:\n",
                                        spellings[i], spellings[i]);
                free(write_rules(f->hi, "10-a.yaml", text));
                assert_int_equal(load(f), 0);
                assert_clean(&f->set);
                assert_int_equal(f->set.n_rules, 1);
                assert_int_equal(f->set.rules[0].lifetime, 0);
                assert_int_equal(f->set.rules[0].max_size, EPHEMDIR_NO_SIZE_LIMIT);
                assert_null(f->set.rules[0].tags);
                assert_null(f->set.rules[0].description);
                free(text);
        }
}

static void test_parent_is_expanded_and_normalized(void **state) {
        static const struct {
                const char *parent, *want;
        } cases[] = {
                { "~/scratch", HOME "/scratch" },
                { "\"~\"", HOME },
                { "\"~/a b/\"", HOME "/a b" },
                { "/var//tmp/./x/../y/", "/var/tmp/y" },
                { "/", "/" },
        };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *text = tu_strdupf("version: 1\ndirectories:\n  - name: a\n    parent: %s\n", cases[i].parent);
                free(write_rules(f->hi, "10-a.yaml", text));
                assert_int_equal(load(f), 0);
                assert_clean(&f->set);
                assert_string_equal(f->set.rules[0].parent, cases[i].want);
                free(text);
        }
}

static void test_rules_keep_their_order_in_a_file(void **state) {
        struct fixture *f = *state;

        free(write_rules(f->hi, "10-a.yaml",
                         "version: 1\ndirectories:\n"
                         "  - {name: zeta, parent: /z}\n"
                         "  - {name: alpha, parent: /a}\n"
                         "  - {name: mid, parent: /m}\n"));
        assert_int_equal(load(f), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_rules, 3);
        assert_string_equal(f->set.rules[0].name, "zeta");
        assert_string_equal(f->set.rules[1].name, "alpha");
        assert_string_equal(f->set.rules[2].name, "mid");
        assert_int_equal(f->set.rules[2].line, 5);
}

static void test_empty_directories_are_no_rules(void **state) {
        static const char *const texts[] = {
                "version: 1\n", "version: 1\ndirectories: []\n", "version: 1\ndirectories:\n",
                "{version: 1, directories: ~}\n",
        };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                free(write_rules(f->hi, "10-a.yaml", texts[i]));
                assert_int_equal(load(f), 0);
                assert_clean(&f->set);
                assert_int_equal(f->set.n_rules, 0);
                assert_int_equal(f->set.n_files, 1);
        }
}

static void test_byte_order_mark_and_crlf_are_read_like_an_editor_shows_them(void **state) {
        struct fixture *f = *state;
        char *path = write_rules(f->hi, "10-a.yaml", "\xef\xbb\xbfversion: 1\r\ndirectories:\r\n"
                                                     "  - name: a\r\n    parent: /a\r\n    lifetime: 1x\r\n");
        char *want = tu_strdupf("%s:5:15: lifetime: invalid value '1x'", path);

        assert_int_equal(load(f), 0);
        assert_int_equal(f->set.n_errors, 1);
        assert_starts_with(f->set.errors[0], want);
        free(write_rules(f->hi, "10-a.yaml", "\xef\xbb\xbfversion: 1\r\ndirectories:\r\n"
                                             "  - name: a\r\n    parent: /a\r\n"));
        assert_int_equal(load(f), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_rules, 1);
        assert_int_equal(f->set.rules[0].line, 3);
        assert_int_equal(f->set.rules[0].column, 5);
        free(want);
        free(path);
}

/* ---- precedence ------------------------------------------------------------ */

static void test_higher_dir_wins_the_file_name(void **state) {
        struct fixture *f = *state;
        char *winner = write_rules(f->hi, "50-x.yaml", "version: 1\ndirectories: [{name: from-hi, parent: /h}]\n");

        free(write_rules(f->lo, "50-x.yaml", "version: 1\ndirectories: [{name: from-lo, parent: /l}]\n"));
        assert_int_equal(load(f), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_rules, 1);
        assert_string_equal(f->set.rules[0].name, "from-hi");
        assert_int_equal(f->set.n_files, 1);
        assert_string_equal(f->set.files[0], winner);
        free(winner);
}

static void test_higher_file_wins_even_when_invalid(void **state) {
        struct fixture *f = *state;

        free(write_rules(f->hi, "50-x.yaml", "version: 1\ndirectories: [{name: from-hi, parent: rel}]\n"));
        free(write_rules(f->lo, "50-x.yaml", "version: 1\ndirectories: [{name: from-lo, parent: /l}]\n"));
        assert_int_equal(load(f), 0);
        assert_int_equal(f->set.n_errors, 1);
        assert_int_equal(f->set.n_rules, 0);
}

static void test_dev_null_symlink_masks(void **state) {
        struct fixture *f = *state;
        char *mask = tu_strdupf("%s/50-x.yaml", f->hi);
        char *hidden = write_rules(f->lo, "50-x.yaml", "version: 1\ndirectories: [{name: masked, parent: /l}]\n");

        assert_int_equal(symlink("/dev/null", mask), 0);
        free(write_rules(f->lo, "60-y.yaml", "version: 1\ndirectories: [{name: kept, parent: /l}]\n"));
        assert_int_equal(load(f), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_rules, 1);
        assert_string_equal(f->set.rules[0].name, "kept");
        assert_int_equal(f->set.n_files, 1);
        /* A deliberate choice, not an unreadable file. */
        assert_int_equal(f->set.n_unread, 0);
        free(mask);
        free(hidden);
}

/* So that a user can see why a rule written in a lower file is not applied. */
static void test_mask_records_its_path_and_the_files_it_hides(void **state) {
        struct fixture *f = *state;
        char *mask = tu_strdupf("%s/50-x.yaml", f->hi);
        char *lone = tu_strdupf("%s/70-z.yaml", f->hi);
        char *hidden = write_rules(f->lo, "50-x.yaml", "version: 1\ndirectories: [{name: masked, parent: /l}]\n");

        assert_int_equal(symlink("/dev/null", mask), 0);
        assert_int_equal(symlink("/dev/null", lone), 0);
        free(write_rules(f->lo, "60-y.yaml", ok_file));
        assert_int_equal(load(f), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_masks, 2);
        assert_string_equal(f->set.masks[0].path, mask);
        assert_int_equal(f->set.masks[0].n_hidden, 1);
        assert_string_equal(f->set.masks[0].hidden[0], hidden);
        assert_null(f->set.masks[0].hidden[1]);
        assert_string_equal(f->set.masks[1].path, lone);
        assert_int_equal(f->set.masks[1].n_hidden, 0);
        assert_null(f->set.masks[1].hidden);
        free(mask);
        free(lone);
        free(hidden);
}

static void test_files_are_read_in_lexical_order_across_dirs(void **state) {
        struct fixture *f = *state;
        char *a = write_rules(f->lo, "10-a.yaml", "version: 1\ndirectories: [{name: from-a, parent: /a}]\n");
        char *b = write_rules(f->hi, "20-b.yaml", "version: 1\ndirectories: [{name: from-b, parent: /b}]\n");
        char *c = write_rules(f->lo, "30-c.yaml", "version: 1\ndirectories: [{name: from-c, parent: /c}]\n");

        assert_int_equal(load(f), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_rules, 3);
        assert_string_equal(f->set.rules[0].name, "from-a");
        assert_string_equal(f->set.rules[1].name, "from-b");
        assert_string_equal(f->set.rules[2].name, "from-c");
        assert_int_equal(f->set.n_files, 3);
        assert_string_equal(f->set.files[0], a);
        assert_string_equal(f->set.files[1], b);
        assert_string_equal(f->set.files[2], c);
        free(a);
        free(b);
        free(c);
}

static void test_duplicate_rule_name_first_file_wins_with_warning(void **state) {
        struct fixture *f = *state;
        char *first = write_rules(f->lo, "10-a.yaml", "version: 1\ndirectories:\n  - {name: cache, parent: /first}\n");
        char *second = write_rules(f->hi, "20-b.yaml",
                                   "version: 1\ndirectories:\n  - {name: other, parent: /o}\n"
                                   "  - {name: cache, parent: /second}\n");
        char *want;

        assert_int_equal(load(f), 0);
        assert_int_equal(f->set.n_errors, 0);
        assert_int_equal(f->set.n_rules, 2);
        assert_string_equal(find(&f->set, "cache")->parent, "/first");
        assert_non_null(find(&f->set, "other"));
        assert_int_equal(f->set.n_warnings, 1);
        want = tu_strdupf("%s:4:5: rule 'cache' ignored: already defined in %s:3:5", second, first);
        assert_starts_with(f->set.warnings[0], want);
        free(want);
        free(first);
        free(second);
}

/* ---- invalid files --------------------------------------------------------- */

static const struct {
        const char *text;
        const char *where;
        const char *message;
} invalid[] = {
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    colour: red\n",
          "5:5", "unknown key 'colour' (known keys: name, parent, lifetime," },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    cleanup: auto\n",
          "5:5", "unknown key 'cleanup' (known keys: " },
        { "version: 1\nrules: []\n", "2:1", "unknown key 'rules' (known keys: version, directories)" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    lifetime: 2 hours\n",
          "5:15", "lifetime: invalid value '2 hours' (expected e.g. 90, 30m, 1h30m, 7d, 2w, or none)" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    max_size: 2 gigs\n",
          "5:15", "max_size: invalid value '2 gigs'" },
        { "version: 1\ndirectories:\n  - name: Build_Cache\n    parent: /a\n",
          "3:11", "name: 'Build_Cache' is not a valid rule name" },
        { "version: 1\ndirectories:\n  - name: -x\n    parent: /a\n", "3:11", "name: '-x' is not a valid rule name" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    name: b\n",
          "5:5", "duplicate key 'name' (first set on line 3)" },
        { "version: 1\nversion: 1\n", "2:1", "duplicate key 'version' (first set on line 1)" },
        { "version: 1\ndirectories:\n  name: a\n", "3:3", "directories: expected a list of directories, not a mapping" },
        { "version: 1\ndirectories: a\n", "2:14", "directories: expected a list of directories, not a single value" },
        { "version: 1\ndirectories:\n  - a\n", "3:5",
          "directories: each entry must be a mapping of keys to values, not a single value" },
        { "- version: 1\n", "1:1", "the top level must be a mapping of keys to values, not a list" },
        { "# comment\nrules\n", "2:1", "the top level must be a mapping of keys to values, not a single value" },
        { "version: 1\ndirectories:\n  - name: caf\xff\n    parent: /a\n", "3:14",
          "invalid leading UTF-8 octet (byte 0xff): the file must be UTF-8 text" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: scratch\n",
          "4:13", "parent: 'scratch' is not an absolute path (use /... or ~/...)" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: \"/a\\u0085b\"\n", "4:13",
          "parent: '/a\\u0085b' contains a control character" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: ~bob/x\n", "4:13", "parent: '~bob/x' is not an absolute path" },
        { "version: 1\ndirectories:\n  - name: a\n    parent:\n", "4:12", "parent: expected a directory path" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: ~\n", "4:13",
          "parent: a plain ~ is YAML's null: write \"~\" for the home directory" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    tags: [ok, Not-OK]\n",
          "5:16", "tags: invalid tag 'Not-OK' (expected 1 to 32 of a-z, 0-9, '.', '_', '-'," },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    tags: [a, b, a]\n", "5:18", "tags: duplicate tag 'a'" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n"
          "    tags: [t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17]\n",
          "5:83", "tags: more than 16 tags" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    tags: build\n",
          "5:11", "tags: expected a list of tags, not a single value" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    recreate: maybe\n",
          "5:15", "recreate: expected true or false, got 'maybe'" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    name_style: auto\n",
          "5:17", "name_style: expected clean or secure, got 'auto'" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n    description: \"bell\\a\"\n",
          "5:18", "description: must be at most 256 bytes, without control characters" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: /a\n  - name: a\n    parent: /b\n",
          "5:11", "name: duplicate rule name 'a' (first defined on line 3)" },
        { "version: 1\ndirectories:\n  - {name: a, parent: /a}\n  - {name: b, parent: /b}\n  - {name: b, parent: /b}\n"
          "  - {name: a, parent: /a, lifetime: x}\n",
          "5:12", "name: duplicate rule name 'b' (first defined on line 4)" },
        { "version: 1\ndirectories:\n  - parent: /a\n", "3:5", "missing required key 'name' in this rule" },
        { "version: 1\ndirectories:\n  - name: a\n", "3:5", "missing required key 'parent' in this rule" },
        { "# no version\ndirectories: []\n", "1:1", "missing required key 'version' (add \"version: 1\")" },
        { "", "1:1", "missing required key 'version'" },
        { "directories: []\nversion: 2\n", "2:10", "version: unsupported version '2' (this ephemdir reads version 1)" },
        { "version: 1\ndirectories:\n  - name: a\n    parent: [/a]\n", "4:13", "parent: expected a single value, not a list" },
        { "version: 1\ndirectories: [\n", "3:1", "did not find expected node content" },
        { "version: 1\n---\nversion: 1\n", "2:1", "only one YAML document is allowed" },
        { "version: 1\ndirectories:\n  - &r {name: a, parent: /a}\n  - *r\n", "4:5",
          "directories: aliases are not supported" },
};

static void test_invalid_file_is_reported_at_its_position_and_skipped(void **state) {
        struct fixture *f = *state;
        char *good = write_rules(f->lo, "99-ok.yaml", ok_file);

        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                char *bad = write_rules(f->hi, "50-bad.yaml", invalid[i].text);
                char *want = tu_strdupf("%s:%s: %s", bad, invalid[i].where, invalid[i].message);

                assert_int_equal(load(f), 0);
                if (f->set.n_errors != 1)
                        fail_msg("case %zu: %zu errors, want \"%s\"", i, f->set.n_errors, want);
                assert_starts_with(f->set.errors[0], want);
                assert_null(f->set.errors[1]);
                assert_int_equal(f->set.n_warnings, 0);
                assert_int_equal(f->set.n_rules, 1);            /* nothing from the bad file */
                assert_string_equal(f->set.rules[0].name, "still-here");
                assert_int_equal(f->set.n_files, 1);
                assert_string_equal(f->set.files[0], good);
                free(want);
                free(bad);
        }
        free(good);
}

static void test_nul_byte_is_an_error(void **state) {
        static const char text[] = "version: 1\ndirectories:\n  - name: \"a\\0b\"\n    parent: /a\n";
        struct fixture *f = *state;
        char *bad = write_bytes(f->hi, "50-bad.yaml", text, sizeof(text) - 1, 0644);
        char *want = tu_strdupf("%s:3:11: name: the value contains a NUL byte", bad);

        assert_int_equal(load(f), 0);
        assert_int_equal(f->set.n_errors, 1);
        assert_string_equal(f->set.errors[0], want);
        free(want);
        free(bad);
}

static void test_messages_escape_control_characters(void **state) {
        struct fixture *f = *state;
        char *bad = write_rules(f->hi, "50-bad.yaml", "version: 1\ndirectories:\n  - name: \"a\\e[31m\"\n    parent: /a\n");

        assert_int_equal(load(f), 0);
        assert_int_equal(f->set.n_errors, 1);
        assert_contains(f->set.errors[0], "name: 'a\\x1b[31m' is not a valid rule name");
        free(bad);
}

static void test_system_scope_refuses_tilde(void **state) {
        struct fixture *f = *state;
        char *bad = write_rules(f->hi, "50-a.yaml", "version: 1\ndirectories:\n  - name: a\n    parent: ~/x\n");
        char *want = tu_strdupf("%s:4:13: parent: '~' cannot be used in system rules", bad);

        /* As root the file is root's; as a user, pass our uid so only the
         * scope differs (rules_load's system callers pass 0). */
        assert_int_equal(load_as(f, geteuid(), true), 0);
        assert_int_equal(f->set.n_errors, 1);
        assert_starts_with(f->set.errors[0], want);
        free(want);
        free(bad);
}

static void test_oversized_file_is_an_error(void **state) {
        struct fixture *f = *state;
        size_t n = RULES_MAX_FILE_SIZE + 1;
        char *big = malloc(n), *path, *want;

        assert_non_null(big);
        memset(big, '#', n);
        path = write_bytes(f->hi, "50-big.yaml", big, n, 0644);
        want = tu_strdupf("%s: larger than 256 KiB", path);
        free(write_rules(f->lo, "99-ok.yaml", ok_file));
        assert_int_equal(load(f), 0);
        assert_int_equal(f->set.n_errors, 1);
        assert_string_equal(f->set.errors[0], want);
        assert_int_equal(f->set.n_rules, 1);
        free(want);
        free(path);
        free(big);
}

/* A full-size file of small rules, twice: linear enough to stay quick even
 * under the sanitizers (libcyaml alone grows its list one entry at a time). */
static void test_thousands_of_rules_load_quickly(void **state) {
        struct fixture *f = *state;
        size_t size = 0, cap = RULES_MAX_FILE_SIZE, n = 0;
        char *text = malloc(cap + 1), *last;

        assert_non_null(text);
        size = (size_t) snprintf(text, cap, "version: 1\ndirectories:\n");
        for (; size + 40 < cap; n++)
                size += (size_t) snprintf(text + size, cap - size, "- {name: rule-%zu, parent: /p}\n", n);
        free(write_rules(f->lo, "10-a.yaml", text));
        free(write_rules(f->hi, "20-b.yaml", text));
        alarm(60);
        assert_int_equal(load(f), 0);
        alarm(0);
        assert_int_equal(f->set.n_errors, 0);
        assert_int_equal(f->set.n_rules, n);
        assert_int_equal(f->set.n_warnings, n);      /* every rule of 20-b.yaml */
        last = tu_strdupf("rule-%zu", n - 1);
        assert_string_equal(f->set.rules[n - 1].name, last);
        assert_contains(f->set.warnings[n - 1], "/20-b.yaml:");
        assert_contains(f->set.warnings[n - 1], "/10-a.yaml:");
        free(last);
        free(text);
}

/* ---- trust and file types ---------------------------------------------------- */

static void test_group_or_other_writable_file_is_refused_with_warning(void **state) {
        static const mode_t modes[] = { 0664, 0646, 0666 };
        struct fixture *f = *state;

        free(write_rules(f->lo, "99-ok.yaml", ok_file));
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                char *path = write_bytes(f->hi, "50-w.yaml", ok_file, strlen(ok_file), modes[i]);
                char *want = tu_strdupf("%s: ignored: writable by group or others", path);

                /* ok_file again: refused, so its rule is not a duplicate. */
                assert_int_equal(load(f), 0);
                assert_int_equal(f->set.n_errors, 0);
                assert_int_equal(f->set.n_warnings, 1);
                assert_starts_with(f->set.warnings[0], want);
                assert_int_equal(f->set.n_rules, 1);
                assert_string_equal(f->set.rules[0].file + strlen(f->lo), "/99-ok.yaml");
                free(want);
                free(path);
        }
}

static void test_foreign_owned_file_is_refused_with_warning(void **state) {
        struct fixture *f = *state;
        char *path = write_rules(f->hi, "50-foreign.yaml", ok_file);
        char *want = tu_strdupf("%s: ignored: owned by uid ", path);

        if (!tu_is_root()) {
                free(want);
                free(path);
                skip();
        }
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(load(f), 0);
        assert_int_equal(f->set.n_rules, 0);
        assert_int_equal(f->set.n_errors, 0);
        assert_int_equal(f->set.n_warnings, 1);
        assert_starts_with(f->set.warnings[0], want);
        assert_contains(f->set.warnings[0], "65534, not by root");
        free(want);
        free(path);
}

/* Without root: the dirs and files are ours, the caller's uid is not, so
 * the dirs are refused before any file in them is looked at, naming the
 * first directory on the way that is not the caller's (the fixture root). */
static void test_rules_dir_of_another_uid_is_refused(void **state) {
        struct fixture *f = *state;
        char *path = write_rules(f->hi, "50-a.yaml", ok_file);
        char *want_hi = tu_strdupf("%s: refused as a rules directory: %s is owned by uid %u, not by you or root",
                                   f->hi, f->root, (unsigned) geteuid());
        char *want_lo = tu_strdupf("%s: refused as a rules directory: ", f->lo);

        if (tu_is_root()) {
                free(want_hi);
                free(want_lo);
                free(path);
                skip();      /* root-owned dirs are always accepted */
        }
        assert_int_equal(load_as(f, geteuid() + 1, false), 0);
        assert_int_equal(f->set.n_rules, 0);
        assert_int_equal(f->set.n_files, 0);
        assert_int_equal(f->set.n_warnings, 0);
        assert_int_equal(f->set.n_errors, 2);
        assert_starts_with(f->set.errors[0], want_hi);
        assert_starts_with(f->set.errors[1], want_lo);
        assert_int_equal(f->set.n_unread, 2);
        assert_string_equal(f->set.unread[0], f->hi);
        /* System scope (uid 0): only root's dirs. */
        assert_int_equal(load_as(f, 0, true), 0);
        assert_int_equal(f->set.n_rules, 0);
        assert_int_equal(f->set.n_errors, 2);
        assert_contains(f->set.errors[0], "not by root");
        free(want_hi);
        free(want_lo);
        free(path);
}

static void test_non_yaml_entries_are_ignored(void **state) {
        static const char *const names[] = {
                "README", "50-a.yml", "50-a.yaml~", "50-a.yaml.bak", ".50-hidden.yaml", ".yaml", "50-A.YAML",
        };
        struct fixture *f = *state;
        char *sub = tu_strdupf("%s/subdir", f->hi);

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                free(write_rules(f->hi, names[i], "not: [yaml"));
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_int_equal(load(f), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_rules, 0);
        assert_int_equal(f->set.n_files, 0);
        free(sub);
}

static void test_other_symlinks_are_refused_but_claim_the_name(void **state) {
        struct fixture *f = *state;
        char *target = write_rules(f->root, "real.yaml", ok_file);
        char *link = tu_strdupf("%s/50-x.yaml", f->hi);
        char *want = tu_strdupf("%s: ignored: a symlink", link);

        assert_int_equal(symlink(target, link), 0);
        free(write_rules(f->lo, "50-x.yaml", "version: 1\ndirectories: [{name: from-lo, parent: /l}]\n"));
        assert_int_equal(load(f), 0);
        assert_int_equal(f->set.n_errors, 0);
        assert_int_equal(f->set.n_warnings, 1);
        assert_starts_with(f->set.warnings[0], want);
        assert_int_equal(f->set.n_rules, 0);
        assert_int_equal(f->set.n_masks, 0);
        free(want);
        free(link);
        free(target);
}

static void test_fifo_and_directory_entries_are_refused_without_blocking(void **state) {
        struct fixture *f = *state;
        char *fifo = tu_strdupf("%s/50-fifo.yaml", f->hi);
        char *dir = tu_strdupf("%s/60-dir.yaml", f->hi);

        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(mkdir(dir, 0700), 0);
        free(write_rules(f->lo, "99-ok.yaml", ok_file));
        alarm(10);   /* a blocking open would hang here: fail instead */
        assert_int_equal(load(f), 0);
        alarm(0);
        assert_int_equal(f->set.n_errors, 0);
        assert_int_equal(f->set.n_warnings, 2);
        assert_contains(f->set.warnings[0], "50-fifo.yaml: ignored: not a regular file");
        assert_contains(f->set.warnings[1], "60-dir.yaml: ignored: not a regular file");
        assert_int_equal(f->set.n_rules, 1);
        free(fifo);
        free(dir);
}

/* ---- directories ------------------------------------------------------------ */

static void test_missing_dirs_are_skipped_and_a_file_is_an_error(void **state) {
        struct fixture *f = *state;
        char *missing = tu_strdupf("%s/nope", f->root);
        char *file = write_rules(f->root, "plain", "x");
        const char *const dirs[] = { missing, file, f->lo };
        char *want = tu_strdupf("%s: cannot open the rules directory: ", file);

        free(write_rules(f->lo, "99-ok.yaml", ok_file));
        assert_int_equal(rules_load(dirs, ELEMENTSOF(dirs), geteuid(), false, &f->set), 0);
        assert_int_equal(f->set.n_errors, 1);
        assert_starts_with(f->set.errors[0], want);
        assert_int_equal(f->set.n_rules, 1);
        free(want);
        free(file);
        free(missing);
}

/* Another member of the group could add a rule file: refused, named, and
 * none of its files is read; the other dirs still are. */
static void test_group_writable_rules_dir_is_refused(void **state) {
        static const mode_t modes[] = { 0770, 0707, 01777 };
        struct fixture *f = *state;
        char *want = tu_strdupf("%s: refused as a rules directory: it is writable by group or others", f->hi);

        free(write_rules(f->hi, "10-a.yaml", "version: 1\ndirectories: [{name: injected, parent: /i}]\n"));
        free(write_rules(f->lo, "99-ok.yaml", ok_file));
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                assert_int_equal(chmod(f->hi, modes[i]), 0);
                assert_int_equal(load(f), 0);
                assert_int_equal(f->set.n_errors, 1);
                assert_starts_with(f->set.errors[0], want);
                assert_int_equal(f->set.n_rules, 1);
                assert_string_equal(f->set.rules[0].name, "still-here");
                assert_int_equal(f->set.n_unread, 1);
                assert_string_equal(f->set.unread[0], f->hi);
        }
        assert_int_equal(chmod(f->hi, 0700), 0);
        assert_int_equal(load(f), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_rules, 2);
        free(want);
}

/* A writable directory above the rules dir lets its writers swap the rules
 * dir itself: the walk from / names it. */
static void test_rules_dir_below_a_writable_directory_is_refused(void **state) {
        struct fixture *f = *state;
        char *shared = tu_strdupf("%s/shared", f->root);
        char *dir = tu_strdupf("%s/rules.d", shared);
        const char *const dirs[] = { dir };
        char *want = tu_strdupf("%s: refused as a rules directory: %s is writable by group or others", dir, shared);

        assert_int_equal(mkdir(shared, 0700), 0);
        assert_int_equal(mkdir(dir, 0700), 0);
        free(write_rules(dir, "10-a.yaml", ok_file));
        assert_int_equal(chmod(shared, 0777), 0);
        assert_int_equal(rules_load(dirs, 1, geteuid(), false, &f->set), 0);
        assert_int_equal(f->set.n_errors, 1);
        assert_starts_with(f->set.errors[0], want);
        assert_int_equal(f->set.n_rules, 0);
        free(want);
        free(dir);
        free(shared);
}

/* A symlink is never followed to a rules dir, whoever owns it: the dir it
 * points to could be anyone's, and could change between two checks. */
/* Our own link to a trusted dir (a config dir in a dotfiles checkout) is
 * followed, for the dir itself and for one below it. */
static void test_own_symlinked_rules_dir_is_read(void **state) {
        struct fixture *f = *state;
        char *link = tu_strdupf("%s/link.d", f->root);
        char *below = tu_strdupf("%s/link.d/sub", f->root);
        char *sub = tu_strdupf("%s/sub", f->hi);
        const char *const dirs[] = { link, below };

        assert_int_equal(mkdir(sub, 0700), 0);
        free(write_rules(f->hi, "10-a.yaml", ok_file));
        free(write_rules(sub, "20-b.yaml", ok_file));
        assert_int_equal(symlink(f->hi, link), 0);
        assert_int_equal(rules_load(dirs, ELEMENTSOF(dirs), geteuid(), false, &f->set), 0);
        assert_int_equal(f->set.n_errors, 0);
        assert_int_equal(f->set.n_files, 2);
        free(sub);
        free(below);
        free(link);
}

/* Another user's link is theirs to point anywhere: refused, and named, for
 * the dir itself and for one below it.  Root only (lchown). */
static void test_symlinked_rules_dir_of_another_user_is_refused(void **state) {
        struct fixture *f = *state;
        if (!tu_is_root())
                skip(); /* before allocating: skip() jumps out of the test */
        char *link = tu_strdupf("%s/link.d", f->root);
        char *below = tu_strdupf("%s/link.d/sub", f->root);
        char *sub = tu_strdupf("%s/sub", f->hi);
        const char *const dirs[] = { link, below };
        char *want = tu_strdupf("%s: refused as a rules directory: it is a symbolic link of another user's",
                                link);
        char *want_below = tu_strdupf("%s: refused as a rules directory: %s is a symbolic link of another user's",
                                      below, link);

        assert_int_equal(mkdir(sub, 0700), 0);
        free(write_rules(f->hi, "10-a.yaml", ok_file));
        free(write_rules(sub, "20-b.yaml", ok_file));
        assert_int_equal(symlink(f->hi, link), 0);
        assert_int_equal(lchown(link, tu_foreign_uid(f->root), 0), 0);
        assert_int_equal(rules_load(dirs, ELEMENTSOF(dirs), geteuid(), false, &f->set), 0);
        assert_int_equal(f->set.n_errors, 2);
        assert_starts_with(f->set.errors[0], want);
        assert_starts_with(f->set.errors[1], want_below);
        assert_int_equal(f->set.n_rules, 0);
        assert_int_equal(f->set.n_files, 0);
        free(want);
        free(want_below);
        free(sub);
        free(below);
        free(link);
}

static void test_foreign_owned_rules_dir_is_refused(void **state) {
        struct fixture *f = *state;
        char *want = tu_strdupf("%s: refused as a rules directory: it is owned by uid 65534, not by root", f->hi);

        if (!tu_is_root()) {
                free(want);
                skip();
        }
        free(write_rules(f->hi, "10-a.yaml", ok_file));
        assert_int_equal(chown(f->hi, 65534, 65534), 0);
        assert_int_equal(load(f), 0);
        assert_int_equal(f->set.n_errors, 1);
        assert_starts_with(f->set.errors[0], want);
        assert_int_equal(f->set.n_rules, 0);
        free(want);
}

/* --rules-dir rules.d: checked from / like any other (through the current
 * directory's real path), shown as given. */
static void test_relative_rules_dir_is_checked_and_shown_as_given(void **state) {
        struct fixture *f = *state;
        const char *const dirs[] = { "hi" };
        char cwd[PATH_MAX];

        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_int_equal(chdir(f->root), 0);
        free(write_rules(f->hi, "10-a.yaml", ok_file));
        assert_int_equal(rules_load(dirs, 1, geteuid(), false, &f->set), 0);
        assert_clean(&f->set);
        assert_string_equal(f->set.files[0], "hi/10-a.yaml");
        assert_int_equal(chmod(f->hi, 0770), 0);
        rule_set_done(&f->set);
        assert_int_equal(rules_load(dirs, 1, geteuid(), false, &f->set), 0);
        assert_int_equal(f->set.n_errors, 1);
        assert_starts_with(f->set.errors[0], "hi: refused as a rules directory: it is writable by group");
        assert_int_equal(chdir(cwd), 0);
}

/* Every file and dir whose rules could not be used is listed, so that
 * apply can tell "unknown" from "rule deleted"; masks and good files not. */
static void test_unread_lists_invalid_unreadable_and_refused_sources(void **state) {
        struct fixture *f = *state;
        char *bad = write_rules(f->hi, "10-bad.yaml", "version: 1\ndirectories: [{name: x, parent: rel}]\n");
        char *writable = write_bytes(f->hi, "20-w.yaml", ok_file, strlen(ok_file), 0666);
        char *mask = tu_strdupf("%s/30-m.yaml", f->hi);
        char *missing = tu_strdupf("%s/nope", f->root);
        const char *const dirs[] = { f->hi, missing, f->lo };

        assert_int_equal(symlink("/dev/null", mask), 0);
        free(write_rules(f->lo, "99-ok.yaml", ok_file));
        assert_int_equal(rules_load(dirs, ELEMENTSOF(dirs), geteuid(), false, &f->set), 0);
        assert_int_equal(f->set.n_rules, 1);
        assert_int_equal(f->set.n_unread, 2);
        assert_string_equal(f->set.unread[0], bad);
        assert_string_equal(f->set.unread[1], writable);
        assert_null(f->set.unread[2]);
        free(missing);
        free(mask);
        free(writable);
        free(bad);
}

static void test_no_dirs_is_an_empty_set(void **state) {
        struct fixture *f = *state;

        assert_int_equal(rules_load(NULL, 0, geteuid(), false, &f->set), 0);
        assert_int_equal(f->set.n_rules, 0);
        assert_int_equal(f->set.n_errors, 0);
        assert_int_equal(rules_load(NULL, 1, geteuid(), false, &f->set), -EINVAL);
}

static void test_trailing_slash_in_dir(void **state) {
        struct fixture *f = *state;
        char *slashed = tu_strdupf("%s/", f->hi);
        const char *const dirs[] = { slashed };
        char *want = tu_strdupf("%s/10-a.yaml", f->hi);

        free(write_rules(f->hi, "10-a.yaml", ok_file));
        assert_int_equal(rules_load(dirs, 1, geteuid(), false, &f->set), 0);
        assert_clean(&f->set);
        assert_string_equal(f->set.rules[0].file, want);
        free(want);
        free(slashed);
}

static void test_default_dirs(void **state) {
        char **dirs = NULL;
        size_t n = 0;

        (void) state;
        assert_int_equal(rules_default_dirs("/home/u/.config/ephemdir", false, &dirs, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(dirs[0], "/home/u/.config/ephemdir/rules.d");
        assert_string_equal(dirs[1], "/etc/ephemdir/user-rules.d");
        assert_string_equal(dirs[2], "/usr/lib/ephemdir/user-rules.d");
        assert_null(dirs[3]);
        for (size_t i = 0; i < n; i++)
                free(dirs[i]);
        free(dirs);

        assert_int_equal(rules_default_dirs(NULL, true, &dirs, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(dirs[0], "/etc/ephemdir/rules.d");
        assert_string_equal(dirs[1], "/run/ephemdir/rules.d");
        assert_string_equal(dirs[2], "/usr/lib/ephemdir/rules.d");
        for (size_t i = 0; i < n; i++)
                free(dirs[i]);
        free(dirs);

        assert_int_equal(rules_default_dirs(NULL, false, &dirs, &n), -EINVAL);
}

/* ---- buffers ------------------------------------------------------------------- */

static void test_parse_buffer_accumulates(void **state) {
        static const char one[] = "version: 1\ndirectories: [{name: a, parent: /a}, {name: b, parent: /b}]\n";
        static const char two[] = "version: 1\ndirectories: [{name: b, parent: /other}, {name: c, parent: /c}]\n";
        static const char bad[] = "version: 1\ndirectories: [{name: d, parent: /d, lifetime: soon}]\n";
        struct fixture *f = *state;

        assert_int_equal(rules_parse_buffer(one, strlen(one), "one.yaml", &f->set), 0);
        assert_int_equal(rules_parse_buffer(two, strlen(two), "two.yaml", &f->set), 0);
        assert_int_equal(rules_parse_buffer(bad, strlen(bad), "bad.yaml", &f->set), -EINVAL);
        /* Not NUL-terminated: only len bytes are read. */
        assert_int_equal(rules_parse_buffer("version: 1\n#", 11, "three.yaml", &f->set), 0);
        assert_int_equal(f->set.n_rules, 3);
        assert_string_equal(find(&f->set, "b")->parent, "/b");
        assert_string_equal(find(&f->set, "c")->file, "two.yaml");
        assert_null(find(&f->set, "d"));
        assert_int_equal(f->set.n_files, 3);
        assert_string_equal(f->set.files[2], "three.yaml");
        assert_int_equal(f->set.n_warnings, 1);
        assert_string_equal(f->set.warnings[0],
                            "two.yaml:2:15: rule 'b' ignored: already defined in one.yaml:2:38 (the first wins)");
        assert_int_equal(f->set.n_errors, 1);
        assert_string_equal(f->set.errors[0],
                            "bad.yaml:2:47: lifetime: invalid value 'soon' (expected e.g. 90, 30m, 1h30m, 7d, 2w, or none)");
        assert_int_equal(rules_parse_buffer(NULL, 1, "x.yaml", &f->set), -EINVAL);
}

static void test_rule_names(void **state) {
        static const char *const good[] = { "a", "0", "build-cache", "a.b_c-d", "9lives" };
        static const char *const bad[] = { "", "-a", ".a", "_a", "A", "a/b", "a b", "caf\xc3\xa9" };
        char name[RULES_MAX_NAME + 2];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_true(rules_name_is_valid(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_false(rules_name_is_valid(bad[i]));
        memset(name, 'a', sizeof(name));
        name[RULES_MAX_NAME] = '\0';
        assert_true(rules_name_is_valid(name));
        name[RULES_MAX_NAME] = 'a';
        name[RULES_MAX_NAME + 1] = '\0';
        assert_false(rules_name_is_valid(name));
        assert_false(rules_name_is_valid(NULL));
}

/* ---- the shipped samples ----------------------------------------------------- */

/* <repo>/rules.d from this file's path: __FILE__ is relative to the build
 * root when meson builds it ("../tests/unit/test-rules.c"), and the build
 * root is three levels above this binary (<build>/tests/unit/test-rules). */
static char *samples_dir(void) {
        char exe[PATH_MAX], src[PATH_MAX];
        char *joined, *dir;
        ssize_t n;

        if (__FILE__[0] == '/')
                joined = tu_strdupf("%s", __FILE__);
        else {
                n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
                assert_true(n > 0);
                exe[n] = '\0';
                joined = tu_strdupf("%s/../../%s", dirname(exe), __FILE__);
        }
        if (!realpath(joined, src))
                fail_msg("cannot find the test source from %s", joined);
        free(joined);
        dir = dirname(dirname(dirname(src)));     /* <repo>/tests/unit/test-rules.c -> <repo> */
        return tu_strdupf("%s/rules.d", dir);
}

/* The samples, copied into a private rules dir: the checkout itself may
 * belong to another user or be group-writable, which is refused. */
static void copy_samples(const char *from, const char *to) {
        static const char *const names[] = {
                "50-build-cache.yaml", "60-per-boot-scratch.yaml", "70-downloads.yaml",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char *src = tu_strdupf("%s/%s", from, names[i]);
                static char buf[RULES_MAX_FILE_SIZE];
                FILE *in = fopen(src, "re");
                size_t n;

                assert_non_null(in);
                n = fread(buf, 1, sizeof(buf), in);
                fclose(in);
                free(write_bytes(to, names[i], buf, n, 0644));
                free(src);
        }
}

static void test_sample_rule_files_load_cleanly(void **state) {
        struct fixture *f = *state;
        char *dir = samples_dir();
        const char *const dirs[] = { f->hi };
        const struct rule *r;

        copy_samples(dir, f->hi);
        assert_int_equal(rules_load(dirs, 1, geteuid(), false, &f->set), 0);
        assert_clean(&f->set);
        assert_int_equal(f->set.n_files, 3);
        assert_contains(f->set.files[0], "/50-build-cache.yaml");
        assert_contains(f->set.files[1], "/60-per-boot-scratch.yaml");
        assert_contains(f->set.files[2], "/70-downloads.yaml");
        assert_int_equal(f->set.n_rules, 3);

        r = &f->set.rules[0];
        assert_true(r->lifetime > 0);
        assert_true(r->keep_while_in_use);

        r = &f->set.rules[1];
        assert_int_equal(r->lifetime, 0);
        assert_true(r->remove_on_restart);
        assert_true(r->recreate);

        r = &f->set.rules[2];
        assert_int_equal(r->lifetime, 7 * 86400);
        assert_true(r->max_size > 0);
        for (size_t i = 0; i < f->set.n_rules; i++)
                assert_int_equal(strncmp(f->set.rules[i].parent, HOME "/", strlen(HOME "/")), 0);
        free(dir);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_every_key_is_loaded),
                T(test_omitted_keys_take_defaults),
                T(test_none_and_null_mean_no_limit),
                T(test_parent_is_expanded_and_normalized),
                T(test_rules_keep_their_order_in_a_file),
                T(test_empty_directories_are_no_rules),
                T(test_byte_order_mark_and_crlf_are_read_like_an_editor_shows_them),
                T(test_higher_dir_wins_the_file_name),
                T(test_higher_file_wins_even_when_invalid),
                T(test_dev_null_symlink_masks),
                T(test_mask_records_its_path_and_the_files_it_hides),
                T(test_files_are_read_in_lexical_order_across_dirs),
                T(test_duplicate_rule_name_first_file_wins_with_warning),
                T(test_invalid_file_is_reported_at_its_position_and_skipped),
                T(test_nul_byte_is_an_error),
                T(test_messages_escape_control_characters),
                T(test_system_scope_refuses_tilde),
                T(test_oversized_file_is_an_error),
                T(test_thousands_of_rules_load_quickly),
                T(test_group_or_other_writable_file_is_refused_with_warning),
                T(test_foreign_owned_file_is_refused_with_warning),
                T(test_rules_dir_of_another_uid_is_refused),
                T(test_non_yaml_entries_are_ignored),
                T(test_other_symlinks_are_refused_but_claim_the_name),
                T(test_fifo_and_directory_entries_are_refused_without_blocking),
                T(test_missing_dirs_are_skipped_and_a_file_is_an_error),
                T(test_group_writable_rules_dir_is_refused),
                T(test_rules_dir_below_a_writable_directory_is_refused),
                T(test_own_symlinked_rules_dir_is_read),
                T(test_symlinked_rules_dir_of_another_user_is_refused),
                T(test_foreign_owned_rules_dir_is_refused),
                T(test_relative_rules_dir_is_checked_and_shown_as_given),
                T(test_unread_lists_invalid_unreadable_and_refused_sources),
                T(test_no_dirs_is_an_empty_set),
                T(test_trailing_slash_in_dir),
                T(test_default_dirs),
                T(test_parse_buffer_accumulates),
                T(test_rule_names),
                T(test_sample_rule_files_load_cleanly),
        };
#undef T
        return cmocka_run_group_tests(tests, NULL, NULL);
}
