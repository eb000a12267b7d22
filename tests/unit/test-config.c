/* SPDX-License-Identifier: MIT */
/*
 * config.yaml guarantees: every key reaches struct ephemdir_new_opts; an
 * absent dir or file is an empty config; every bad file is -EINVAL with
 * "<dir>/config.yaml:LINE:COL: ..." pointing at the offending key or value;
 * a file someone else could have written is ignored with a warning; a
 * symlink is refused (-EPERM), a FIFO or other non-regular file too (-EINVAL)
 * without blocking; config.toml gets a warning naming config.yaml.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"
#include "util.h"

struct fixture {
        char *dir;          /* the config dir */
        char *file;         /* dir/config.yaml */
        char *saved_home;
        struct config cfg;
        char *error;
        char *warnings;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        const char *home = getenv("HOME");

        assert_non_null(f);
        f->dir = tu_mkdtemp();
        f->file = tu_strdupf("%s/config.yaml", f->dir);
        f->saved_home = home ? strdup(home) : NULL;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        if (f->saved_home)
                setenv("HOME", f->saved_home, 1);
        else
                unsetenv("HOME");
        config_done(&f->cfg);
        tu_rm_rf(f->dir);
        free(f->dir);
        free(f->file);
        free(f->saved_home);
        free(f->error);
        free(f->warnings);
        free(f);
        return 0;
}

static void write_bytes(const char *path, const char *data, size_t len, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static int load_text(struct fixture *f, const char *text) {
        write_bytes(f->file, text, strlen(text), 0600);
        return config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings);
}

/* The error is exactly "<dir>/config.yaml:<where>: <message...>". */
static void assert_error_at(struct fixture *f, const char *where, const char *message_start) {
        char *want = tu_strdupf("%s/config.yaml:%s: %s", f->dir, where, message_start);

        assert_non_null(f->error);
        if (strncmp(f->error, want, strlen(want)) != 0)
                fail_msg("error \"%s\"\n  does not start with \"%s\"", f->error, want);
        free(want);
}

static void assert_fails_at(struct fixture *f, const char *text, const char *where, const char *message_start) {
        assert_int_equal(load_text(f, text), -EINVAL);
        assert_error_at(f, where, message_start);
        free(f->error);
        f->error = NULL;
}

static void assert_empty(const struct config *c) {
        static const struct ephemdir_new_opts zero;

        assert_memory_equal(&c->defaults, &zero, sizeof(zero));
}

/* ---- values ---------------------------------------------------------------- */

static void test_every_key_reaches_the_options(void **state) {
        struct fixture *f = *state;
        const struct ephemdir_new_opts *o = &f->cfg.defaults;

        assert_int_equal(load_text(f,
                                   "# defaults for ephemdir new\n"
                                   "lifetime: 6h\n"
                                   "remove_on_restart: false\n"
                                   "keep_while_in_use: true\n"
                                   "cleanup: auto\n"
                                   "max_size: 2GiB\n"
                                   "name_style: clean\n"
                                   "parent: /var/tmp/scratch\n"
                                   "prefix: \"tmp-\"\n"
                                   "words: 3\n"), 0);
        assert_null(f->warnings);
        assert_string_equal(f->cfg.path, f->file);
        assert_int_equal(o->lifetime, 6 * 3600);
        assert_int_equal(o->remove_on_restart, EPHEMDIR_NO);
        assert_int_equal(o->keep_while_in_use, EPHEMDIR_YES);
        assert_int_equal(o->cleanup, EPHEMDIR_CLEANUP_AUTO);
        assert_int_equal(o->max_size, INT64_C(2) << 30);
        assert_int_equal(o->name_style, EPHEMDIR_NAME_CLEAN);
        assert_string_equal(o->parent, "/var/tmp/scratch");
        assert_string_equal(o->prefix, "tmp-");
        assert_int_equal(o->words, 3);
        assert_null(o->tags);
        assert_null(o->description);
}

static void test_other_enum_words(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load_text(f, "cleanup: next-sweep\nname_style: secure\n"), 0);
        assert_int_equal(f->cfg.defaults.cleanup, EPHEMDIR_CLEANUP_NEXT_SWEEP);
        assert_int_equal(f->cfg.defaults.name_style, EPHEMDIR_NAME_SECURE);
        config_done(&f->cfg);
        assert_int_equal(load_text(f, "{name_style: auto}\n"), 0);
        assert_int_equal(f->cfg.defaults.name_style, EPHEMDIR_NAME_AUTO);
}

static void test_unset_keys_stay_zero(void **state) {
        struct fixture *f = *state;
        const struct ephemdir_new_opts *o = &f->cfg.defaults;

        assert_int_equal(load_text(f, "words: 1\n"), 0);
        assert_int_equal(o->words, 1);
        assert_int_equal(o->lifetime, 0);
        assert_int_equal(o->remove_on_restart, EPHEMDIR_DEFAULT);
        assert_int_equal(o->cleanup, EPHEMDIR_CLEANUP_DEFAULT);
        assert_int_equal(o->name_style, EPHEMDIR_NAME_DEFAULT);
        assert_null(o->parent);
        assert_null(o->prefix);
}

static void test_integers_are_seconds_and_bytes(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load_text(f, "lifetime: 3600\nmax_size: 4096\n"), 0);
        assert_int_equal(f->cfg.defaults.lifetime, 3600);
        assert_int_equal(f->cfg.defaults.max_size, 4096);
}

static void test_none_and_null_mean_no_limit(void **state) {
        static const char *const spellings[] = { "none", "\"none\"", "~", "null", "" };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(spellings); i++) {
                char *text = tu_strdupf("lifetime: %s\nmax_size: %s\n", spellings[i], spellings[i]);
                assert_int_equal(load_text(f, text), 0);
                assert_int_equal(f->cfg.defaults.lifetime, EPHEMDIR_FOREVER);
                assert_int_equal(f->cfg.defaults.max_size, EPHEMDIR_NO_SIZE_LIMIT);
                config_done(&f->cfg);
                free(text);
        }
}

/* YAML true/false and yes/no (libcyaml reads yes/no too), in YAML's three
 * spellings; anything else, including a quoted "true", is an error (libcyaml
 * alone would load "maybe" as true). */
static void test_booleans(void **state) {
        static const struct {
                const char *word;
                enum ephemdir_tristate want;
        } ok[] = {
                { "true", EPHEMDIR_YES }, { "True", EPHEMDIR_YES }, { "TRUE", EPHEMDIR_YES },
                { "yes", EPHEMDIR_YES }, { "Yes", EPHEMDIR_YES }, { "YES", EPHEMDIR_YES },
                { "false", EPHEMDIR_NO }, { "False", EPHEMDIR_NO }, { "FALSE", EPHEMDIR_NO },
                { "no", EPHEMDIR_NO }, { "No", EPHEMDIR_NO }, { "NO", EPHEMDIR_NO },
        };
        static const char *const bad[] = { "maybe", "1", "0", "on", "off", "\"true\"", "'no'", "~", "" };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                char *text = tu_strdupf("remove_on_restart: %s\nkeep_while_in_use: %s\n", ok[i].word, ok[i].word);
                assert_int_equal(load_text(f, text), 0);
                assert_int_equal(f->cfg.defaults.remove_on_restart, ok[i].want);
                assert_int_equal(f->cfg.defaults.keep_while_in_use, ok[i].want);
                config_done(&f->cfg);
                free(text);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *text = tu_strdupf("words: 2\nkeep_while_in_use: %s\n", bad[i]);
                assert_fails_at(f, text, bad[i][0] ? "2:20" : "2:19",
                                "keep_while_in_use: expected true or false");
                free(text);
        }
}

static void test_tilde_parent_expands_home(void **state) {
        struct fixture *f = *state;

        setenv("HOME", "/home/cfgtest", 1);
        assert_int_equal(load_text(f, "parent: ~/x/scratch\n"), 0);
        assert_string_equal(f->cfg.defaults.parent, "/home/cfgtest/x/scratch");
        config_done(&f->cfg);
        assert_int_equal(load_text(f, "parent: \"~\"\n"), 0);
        assert_string_equal(f->cfg.defaults.parent, "/home/cfgtest");
        config_done(&f->cfg);

        assert_fails_at(f, "parent: ~other/x\n", "1:9", "parent: '~other/x' is not an absolute path");
        unsetenv("HOME");
        assert_fails_at(f, "parent: ~/x\n", "1:9", "parent: cannot expand '~'");
}

static void test_relative_parent_is_an_error(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "words: 2\nparent: scratch/dir\n", "2:9",
                        "parent: 'scratch/dir' is not an absolute path");
        assert_fails_at(f, "parent: \"\"\n", "1:9", "parent: '' is not an absolute path");
        assert_fails_at(f, "parent:\n", "1:8", "parent: expected a directory path");
}

static void test_null_prefix_is_empty(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load_text(f, "prefix: ~\n"), 0);
        assert_string_equal(f->cfg.defaults.prefix, "");
}

/* ---- files ------------------------------------------------------------------ */

static void test_absent_dir_is_empty(void **state) {
        struct fixture *f = *state;
        char *missing = tu_strdupf("%s/no/such/dir", f->dir);

        f->cfg.defaults.words = 99;
        assert_int_equal(config_load(missing, geteuid(), &f->cfg, &f->error, &f->warnings), 0);
        assert_empty(&f->cfg);
        assert_null(f->cfg.path);
        assert_null(f->warnings);
        assert_null(f->error);
        free(missing);
}

static void test_absent_file_is_empty(void **state) {
        struct fixture *f = *state;

        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), 0);
        assert_empty(&f->cfg);
        assert_null(f->cfg.path);
        assert_null(f->warnings);
}

static void test_empty_and_comment_only_files_are_empty(void **state) {
        static const char *const texts[] = { "", "\n\n", "# nothing\n", "---\n", "~\n", "---\n...\n", "{}\n" };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                assert_int_equal(load_text(f, texts[i]), 0);
                assert_empty(&f->cfg);
                assert_string_equal(f->cfg.path, f->file);
                config_done(&f->cfg);
        }
}

static void test_group_writable_file_is_ignored_with_warning(void **state) {
        struct fixture *f = *state;

        write_bytes(f->file, "words: 3\n", 9, 0620);
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), 0);
        assert_empty(&f->cfg);
        assert_null(f->cfg.path);
        assert_non_null(f->warnings);
        assert_non_null(strstr(f->warnings, f->file));
        assert_non_null(strstr(f->warnings, "writable by group or others"));
        free(f->warnings);
        f->warnings = NULL;

        assert_int_equal(chmod(f->file, 0602), 0);
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), 0);
        assert_empty(&f->cfg);
        assert_non_null(f->warnings);
}

static void test_foreign_owner_file_is_ignored_with_warning(void **state) {
        struct fixture *f = *state;

        write_bytes(f->file, "words: 3\n", 9, 0600);
        /* As a user, a file we own stands in for "someone else's" by passing
         * another uid; as root, really chown it. */
        if (tu_is_root()) {
                assert_int_equal(chown(f->file, 65534, 65534), 0);
                assert_int_equal(config_load(f->dir, 0, &f->cfg, &f->error, &f->warnings), 0);
        } else
                assert_int_equal(config_load(f->dir, geteuid() + 1, &f->cfg, &f->error, &f->warnings), 0);
        assert_empty(&f->cfg);
        assert_null(f->cfg.path);
        assert_non_null(f->warnings);
        assert_non_null(strstr(f->warnings, "ignored: owned by uid"));
}

static void test_symlink_config_is_refused(void **state) {
        struct fixture *f = *state;
        char *target = tu_strdupf("%s/real.yaml", f->dir);

        write_bytes(target, "words: 3\n", 9, 0600);
        assert_int_equal(symlink(target, f->file), 0);
        f->cfg.defaults.words = 99;
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), -EPERM);
        assert_int_equal(f->cfg.defaults.words, 99);    /* untouched on failure */
        f->cfg.defaults.words = 0;
        assert_null(f->warnings);
        assert_non_null(f->error);
        assert_non_null(strstr(f->error, f->file));
        assert_non_null(strstr(f->error, "symlink"));
        free(target);
}

static void test_fifo_config_does_not_block(void **state) {
        struct fixture *f = *state;

        assert_int_equal(mkfifo(f->file, 0600), 0);
        alarm(10);   /* a blocking open would hang here: fail instead */
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), -EINVAL);
        alarm(0);
        assert_non_null(strstr(f->error, "not a regular file"));
}

static void test_directory_config_is_refused(void **state) {
        struct fixture *f = *state;

        assert_int_equal(mkdir(f->file, 0700), 0);
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), -EINVAL);
        assert_non_null(strstr(f->error, "not a regular file"));
}

static void test_oversized_file_is_refused(void **state) {
        struct fixture *f = *state;
        size_t n = CONFIG_MAX_SIZE + 1;
        char *big = malloc(n);

        assert_non_null(big);
        memset(big, '#', n);
        write_bytes(f->file, big, n, 0600);
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), -EFBIG);
        assert_non_null(strstr(f->error, "larger than 64 KiB"));
        free(big);
}

static void test_toml_gets_a_warning_and_yaml_is_still_read(void **state) {
        struct fixture *f = *state;
        char *toml = tu_strdupf("%s/config.toml", f->dir);

        write_bytes(toml, "words = 3\n", 10, 0600);
        assert_int_equal(load_text(f, "words: 4\n"), 0);
        assert_int_equal(f->cfg.defaults.words, 4);
        assert_non_null(f->warnings);
        assert_non_null(strstr(f->warnings, "config.toml is not read; ephemdir uses config.yaml"));
        config_done(&f->cfg);
        free(f->warnings);
        f->warnings = NULL;

        /* Also with no config.yaml at all. */
        assert_int_equal(unlink(f->file), 0);
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), 0);
        assert_non_null(strstr(f->warnings, "config.toml is not read"));
        free(toml);
}

static void test_trailing_slash_in_dir(void **state) {
        struct fixture *f = *state;
        char *slashed = tu_strdupf("%s/", f->dir);

        write_bytes(f->file, "words: 2\n", 9, 0600);
        assert_int_equal(config_load(slashed, geteuid(), &f->cfg, NULL, NULL), 0);
        assert_string_equal(f->cfg.path, f->file);
        free(slashed);
}

/* ---- errors and their locations ---------------------------------------------- */

static void test_unknown_key_points_at_the_key(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "lifetime: 6h\ncolour: red\n", "2:1", "unknown key 'colour' (known keys: lifetime,");
        assert_fails_at(f, "words: 2\n  # indented comment\n\nLifetime: 6h\n", "4:1", "unknown key 'Lifetime'");
        assert_fails_at(f, "{words: 2,   Lifetime: 6h}\n", "1:14", "unknown key 'Lifetime'");
        assert_fails_at(f, "{words: 2, tags: [a]}\n", "1:12", "unknown key 'tags'");
}

static void test_bad_duration_points_at_the_value(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "words: 2\nlifetime:   6x\n", "2:13", "lifetime: invalid value '6x'");
        assert_fails_at(f, "lifetime: 0\n", "1:11", "lifetime: invalid value '0'");
        assert_fails_at(f, "lifetime: \"1h 30m\"\n", "1:11", "lifetime: invalid value '1h 30m'");
        assert_fails_at(f, "lifetime: 99999999999999999999\n", "1:11", "lifetime: '99999999999999999999' is too large");
        assert_fails_at(f, "max_size: 2 GiB\n", "1:11", "max_size: invalid value '2 GiB'");
        assert_fails_at(f, "max_size: -1\n", "1:11", "max_size: invalid value '-1'");
}

static void test_errors_come_in_document_order(void **state) {
        struct fixture *f = *state;

        /* Both values are bad; the first one in the file is reported. */
        assert_fails_at(f, "max_size: nope\nlifetime: nope\n", "1:11", "max_size: invalid value 'nope'");
}

static void test_words_out_of_range(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "words: 9\n", "1:8", "words: expected an integer from 1 to 4, got '9'");
        assert_fails_at(f, "words: 0\n", "1:8", "words: expected an integer from 1 to 4, got '0'");
        assert_fails_at(f, "words: 2x\n", "1:8", "words: expected an integer from 1 to 4, got '2x'");
        assert_fails_at(f, "words: 2.0\n", "1:8", "words: expected an integer");
        assert_fails_at(f, "words: \"3\"\n", "1:8", "words: expected an integer");
        assert_fails_at(f, "words: 010\n", "1:8", "words: expected an integer");
}

static void test_prefix_with_slash(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "prefix: a/b\n", "1:9", "prefix: 'a/b' contains '/'");
        assert_fails_at(f, "prefix: \"..\"\n", "1:9", "prefix: '..' is '.' or '..'");
        assert_fails_at(f, "prefix: \"a\\tb\"\n", "1:9", "prefix: 'a\\x09b' contains a control character");
}

static void test_unknown_enum_word_points_at_the_value(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "words: 2\n\ncleanup:  sometimes\n", "3:11",
                        "cleanup: expected auto or next-sweep, got 'sometimes'");
        assert_fails_at(f, "name_style: Clean\n", "1:13",
                        "name_style: expected auto, secure or clean, got 'Clean'");
        assert_fails_at(f, "name_style: 1\n", "1:13", "name_style: expected auto, secure or clean");
}

static void test_duplicate_key(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "words: 2\nlifetime: 1h\nwords: 3\n", "3:1", "duplicate key 'words' (first set on line 1)");
}

static void test_wrong_type_value(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "lifetime: [1h, 2h]\n", "1:11", "lifetime: expected a single value, not a list");
        assert_fails_at(f, "parent:\n  path: /tmp\n", "2:3", "parent: expected a single value, not a mapping");
        assert_fails_at(f, "prefix: !!str x\n", "1:9", "prefix: tags are not supported");
}

static void test_top_level_must_be_a_mapping(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "- lifetime: 6h\n", "1:1", "the top level must be a mapping of keys to values, not a list");
        assert_fails_at(f, "# c\nlifetime\n", "2:1", "the top level must be a mapping of keys to values, not a single value");
}

static void test_syntax_error_location(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "words: 2\nlifetime: 6h: x\n", "2:13", "mapping values are not allowed in this context");
        assert_fails_at(f, "words: 2\nprefix: \"abc\n", "3:1", "found unexpected end of stream (while scanning a quoted scalar)");
        assert_fails_at(f, "words: 2\n\tlifetime: 1h\n", "2:1", "found a tab character that violates indentation");
        /* Without a final newline, the end of the file is the end of its last line. */
        assert_fails_at(f, "words: 2\nprefix: \"abc", "2:13", "found unexpected end of stream");
        assert_fails_at(f, "{words", "1:7", "words: expected an integer from 1 to 4, got ''");
}

static void test_non_utf8_bytes(void **state) {
        struct fixture *f = *state;
        static const char text[] = "words: 2\nprefix: ab\xff\n";

        write_bytes(f->file, text, sizeof(text) - 1, 0600);
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), -EINVAL);
        assert_error_at(f, "2:11", "invalid leading UTF-8 octet (byte 0xff)");
        free(f->error);
        f->error = NULL;

        /* CR LF is one line break, as libyaml counts it. */
        static const char crlf[] = "words: 2\r\n\r\nprefix: \xfe\r\n";
        write_bytes(f->file, crlf, sizeof(crlf) - 1, 0600);
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), -EINVAL);
        assert_error_at(f, "3:9", "invalid leading UTF-8 octet (byte 0xfe)");
}

static void test_non_utf8_column_counts_characters(void **state) {
        struct fixture *f = *state;
        /* é is 2 bytes and 1 column; the lone lead byte \xc3 is column 11, and
         * the '"' that does not continue it, where libyaml stops, column 12. */
        static const char text[] = "prefix: \"é\xc3\"\n";

        write_bytes(f->file, text, sizeof(text) - 1, 0600);
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), -EINVAL);
        assert_error_at(f, "1:12", "invalid trailing UTF-8 octet (byte 0x22)");
}

static void test_nul_bytes(void **state) {
        struct fixture *f = *state;
        static const char raw[] = "words: 2\x00\n";

        write_bytes(f->file, raw, sizeof(raw) - 1, 0600);
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &f->warnings), -EINVAL);
        assert_error_at(f, "1:9", "control characters are not allowed");
        free(f->error);
        f->error = NULL;

        /* An escaped NUL must not cut "a\0/b" down to a valid-looking "a". */
        assert_fails_at(f, "prefix: \"a\\0/b\"\n", "1:9", "prefix: the value contains a NUL byte");
}

static void test_aliases_and_documents(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "? [a]\n: 1\n", "1:3", "keys must be strings");
        assert_fails_at(f, "lifetime: &l 6h\nmax_size: *l\n", "2:11", "max_size: aliases are not supported");
        assert_fails_at(f, "words: 2\n---\nwords: 3\n", "2:1", "only one YAML document is allowed");
}

static void test_messages_escape_control_characters(void **state) {
        struct fixture *f = *state;

        assert_fails_at(f, "\"\\e[31mred\": 1\n", "1:1", "unknown key '\\x1b[31mred'");
        assert_fails_at(f, "lifetime: \"\\x9b2J\"\n", "1:11", "lifetime: invalid value '\\u009b2J'");
}

static void test_outputs_untouched_on_failure(void **state) {
        struct fixture *f = *state;
        char *sentinel = (char *) "sentinel";
        char *warnings = sentinel;
        char *toml = tu_strdupf("%s/config.toml", f->dir);

        write_bytes(toml, "", 0, 0600);
        f->cfg.defaults.words = 77;
        write_bytes(f->file, "words: 9\n", 9, 0600);
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, &f->error, &warnings), -EINVAL);
        assert_int_equal(f->cfg.defaults.words, 77);
        assert_ptr_equal(warnings, sentinel);
        f->cfg.defaults.words = 0;
        /* And NULL out-pointers are fine. */
        assert_int_equal(config_load(f->dir, geteuid(), &f->cfg, NULL, NULL), -EINVAL);
        free(toml);
}

static void test_parse_buffer_directly(void **state) {
        struct config c = {};
        char *error = NULL;
        (void) state;

        assert_int_equal(config_parse_buffer("words: 2\nlifetime: 1w2d\n", 24, "x.yaml", &c, &error), 0);
        assert_int_equal(c.defaults.words, 2);
        assert_int_equal(c.defaults.lifetime, 9 * 86400);
        assert_null(c.path);
        config_done(&c);
        config_done(&c);   /* idempotent */

        /* Not NUL-terminated: only len bytes count. */
        assert_int_equal(config_parse_buffer("words: 3XXXX", 8, "x.yaml", &c, &error), 0);
        assert_int_equal(c.defaults.words, 3);
        config_done(&c);

        assert_int_equal(config_parse_buffer("nope: 1", 7, "x.yaml", &c, &error), -EINVAL);
        assert_string_equal(error, "x.yaml:1:1: unknown key 'nope' (known keys: lifetime, remove_on_restart, "
                                   "keep_while_in_use, cleanup, max_size, name_style, parent, prefix, words)");
        free(error);
        assert_int_equal(config_parse_buffer(NULL, 0, "x.yaml", &c, NULL), 0);
        config_done(&c);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_every_key_reaches_the_options),
                T(test_other_enum_words),
                T(test_unset_keys_stay_zero),
                T(test_integers_are_seconds_and_bytes),
                T(test_none_and_null_mean_no_limit),
                T(test_booleans),
                T(test_tilde_parent_expands_home),
                T(test_relative_parent_is_an_error),
                T(test_null_prefix_is_empty),
                T(test_absent_dir_is_empty),
                T(test_absent_file_is_empty),
                T(test_empty_and_comment_only_files_are_empty),
                T(test_group_writable_file_is_ignored_with_warning),
                T(test_foreign_owner_file_is_ignored_with_warning),
                T(test_symlink_config_is_refused),
                T(test_fifo_config_does_not_block),
                T(test_directory_config_is_refused),
                T(test_oversized_file_is_refused),
                T(test_toml_gets_a_warning_and_yaml_is_still_read),
                T(test_trailing_slash_in_dir),
                T(test_unknown_key_points_at_the_key),
                T(test_bad_duration_points_at_the_value),
                T(test_errors_come_in_document_order),
                T(test_words_out_of_range),
                T(test_prefix_with_slash),
                T(test_unknown_enum_word_points_at_the_value),
                T(test_duplicate_key),
                T(test_wrong_type_value),
                T(test_top_level_must_be_a_mapping),
                T(test_syntax_error_location),
                T(test_non_utf8_bytes),
                T(test_non_utf8_column_counts_characters),
                T(test_nul_bytes),
                T(test_aliases_and_documents),
                T(test_messages_escape_control_characters),
                T(test_outputs_untouched_on_failure),
                T(test_parse_buffer_directly),
        };
#undef T
        return cmocka_run_group_tests(tests, NULL, NULL);
}
