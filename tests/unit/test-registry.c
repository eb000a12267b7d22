/* SPDX-License-Identifier: MIT */
/*
 * Registry guarantees: every field survives a round trip, lookups are exact
 * and index-driven, compare-and-swap decides races, and a corrupt or
 * malformed registry is copied aside and never changed or replaced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "testutil.h"
#include "util.h"

#define MARKER_A "0123456789abcdef0123456789abcdef"
#define PARENT "/srv/scratch"

struct fixture {
        char *dir;               /* a fresh data dir, removed at teardown */
        int dir_fd;
        struct registry *reg;    /* open unless the test opens it itself */
};

/* ---- fixtures -------------------------------------------------------------- */

static int open_dir(const char *path) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                perror(path);
                abort();
        }
        return fd;
}

static int setup_dir(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        f->dir = tu_mkdtemp();
        f->dir_fd = open_dir(f->dir);
        *state = f;
        return 0;
}

static int setup(void **state) {
        struct fixture *f;
        char *err = NULL;
        int r;

        setup_dir(state);
        f = *state;
        r = registry_open(f->dir_fd, f->dir, &f->reg, &err);
        if (r < 0)
                fprintf(stderr, "registry_open: %s\n", err);
        assert_int_equal(r, 0);
        assert_null(err);
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        registry_close(f->reg);
        close(f->dir_fd);
        tu_rm_rf(f->dir);
        free(f->dir);
        free(f);
        return 0;
}

static struct registry *open_ok(int dir_fd, const char *dir) {
        struct registry *reg = NULL;
        char *err = NULL;
        int r = registry_open(dir_fd, dir, &reg, &err);

        if (r < 0)
                fprintf(stderr, "registry_open: %s\n", err);
        assert_int_equal(r, 0);
        return reg;
}

/* registry_open that must fail with err; returns the message. */
static char *open_fails(int dir_fd, const char *dir, int expected) {
        struct registry *reg = NULL;
        char *err = NULL;
        int r = registry_open(dir_fd, dir, &reg, &err);

        assert_int_equal(r, expected);
        assert_null(reg);
        assert_non_null(err);
        return err;
}

/* ---- entries ----------------------------------------------------------------- */

static char *xstrdup(const char *s) {
        char *c = strdup(s);
        assert_non_null(c);
        return c;
}

/* A valid ACTIVE entry PARENT/name with neutral policy. */
static void make_entry(struct entry *e, const char *name, int64_t created_at) {
        static uint64_t next_ino = 1000;

        *e = (struct entry) {
                .path = tu_strdupf(PARENT "/%s", name),
                .name = xstrdup(name),
                .parent = xstrdup(PARENT),
                .marker_id = xstrdup(MARKER_A),
                .dev = 2049,
                .ino = next_ino++,
                .created_at = created_at,
                .expires_at = 0,
                .boot_id = xstrdup("boot-m"),
                .cleanup = EPHEMDIR_CLEANUP_AUTO,
                .max_size = EPHEMDIR_NO_SIZE_LIMIT,
                .name_style = EPHEMDIR_NAME_SECURE,
                .origin = xstrdup("api"),
                .state = ENTRY_ACTIVE,
        };
}

static int64_t insert_ok(struct registry *reg, struct entry *e) {
        int r = registry_insert(reg, e);

        if (r < 0)
                fprintf(stderr, "registry_insert: %s\n", registry_error(reg));
        assert_int_equal(r, 0);
        assert_true(e->id > 0);
        assert_int_equal(e->version, 1);
        return e->id;
}

/* Insert PARENT/name created at created_at; returns its id. */
static int64_t add(struct registry *reg, const char *name, int64_t created_at) {
        struct entry e;
        int64_t id;

        make_entry(&e, name, created_at);
        id = insert_ok(reg, &e);
        entry_done(&e);
        return id;
}

static char **strv_new(const char *a, const char *b) {
        char **v = calloc(3, sizeof(char *));

        assert_non_null(v);
        v[0] = xstrdup(a);
        v[1] = b ? xstrdup(b) : NULL;
        return v;
}

static void assert_entries_equal(const struct entry *a, const struct entry *b) {
        assert_int_equal(a->id, b->id);
        assert_string_equal(a->path, b->path);
        assert_string_equal(a->name, b->name);
        assert_string_equal(a->parent, b->parent);
        assert_true(streq_ptr(a->marker_id, b->marker_id));
        assert_int_equal(a->dev, b->dev);
        assert_int_equal(a->ino, b->ino);
        assert_int_equal(a->created_at, b->created_at);
        assert_int_equal(a->expires_at, b->expires_at);
        assert_string_equal(a->boot_id, b->boot_id);
        assert_int_equal(a->remove_on_restart, b->remove_on_restart);
        assert_int_equal(a->keep_while_in_use, b->keep_while_in_use);
        assert_int_equal(a->cleanup, b->cleanup);
        assert_int_equal(a->max_size, b->max_size);
        assert_int_equal(a->name_style, b->name_style);
        assert_true(streq_ptr(a->description, b->description));
        assert_string_equal(a->origin, b->origin);
        assert_int_equal(a->state, b->state);
        assert_true(streq_ptr(a->claim_id, b->claim_id));
        assert_true(streq_ptr(a->staging_path, b->staging_path));
        assert_int_equal(a->version, b->version);
        assert_int_equal(a->tags == NULL, b->tags == NULL);
        for (size_t i = 0; a->tags && (a->tags[i] || b->tags[i]); i++)
                assert_true(streq_ptr(a->tags[i], b->tags[i]));
}

/* The names of v, joined with ',' (for order-sensitive comparisons). */
static char *names_of(const struct entry *v, size_t n) {
        size_t len = 1;
        char *s;

        for (size_t i = 0; i < n; i++)
                len += strlen(v[i].name) + 1;
        s = calloc(1, len);
        assert_non_null(s);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        strcat(s, ",");
                strcat(s, v[i].name);
        }
        return s;
}

/* ---- files -------------------------------------------------------------------- */

static char *read_all(const char *path, size_t *ret_len) {
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        assert_non_null(buf);
        assert_true(fd >= 0);
        for (;;) {
                ssize_t n;
                if (len == cap) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        assert_non_null(buf);
                }
                n = read(fd, buf + len, cap - len);
                assert_true(n >= 0);
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        close(fd);
        *ret_len = len;
        return buf;
}

static void write_bytes(const char *path, const void *data, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        close(fd);
}

static void assert_file_is(const char *path, const char *data, size_t len) {
        size_t n;
        char *got = read_all(path, &n);

        assert_int_equal(n, len);
        assert_memory_equal(got, data, len);
        free(got);
}

static char *db_path(const char *dir) {
        return tu_strdupf("%s/registry.db", dir);
}

static bool is_copy_name(const char *name) {
        size_t n = strlen(name);
        return strncmp(name, "registry.db.corrupt-", 20) == 0 && !(n > 4 && streq(name + n - 4, "-wal"));
}

/* Corrupt copies in dir (not their -wal companions); *ret_last (optional)
 * gets the full path of the last one listed. */
static size_t count_copies(const char *dir, char **ret_last) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (is_copy_name(de->d_name)) {
                        n++;
                        if (ret_last) {
                                free(*ret_last);
                                *ret_last = tu_strdupf("%s/%s", dir, de->d_name);
                        }
                }
        closedir(d);
        return n;
}

/* Exactly one corrupt copy exists and it holds exactly the given bytes. */
static void assert_one_copy_of(const char *dir, const char *data, size_t len) {
        char *copy = NULL;

        assert_int_equal(count_copies(dir, &copy), 1);
        assert_file_is(copy, data, len);
        free(copy);
}

static void assert_corrupt_message(const char *msg) {
        assert_non_null(strstr(msg, "is corrupt ("));
        assert_non_null(strstr(msg, "a copy was saved as registry.db.corrupt-"));
        assert_non_null(strstr(msg, "nothing was changed"));
}

/* Run SQL on registry.db through a connection of our own (a hand edit). */
static void raw_exec(const char *dir, const char *sql) {
        char *path = db_path(dir);
        sqlite3 *db = NULL;
        char *err = NULL;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        free(path);
}

static char *mksubdir(const char *dir, const char *name) {
        char *p = tu_strdupf("%s/%s", dir, name);
        assert_int_equal(mkdir(p, 0700), 0);
        return p;
}

/* ---- round trip ------------------------------------------------------------------ */

static void test_every_field_round_trips(void **state) {
        struct fixture *f = *state;
        struct entry e, got = {}, copy = {};

        make_entry(&e, "happy-otter-0123456789abcdef", 1700000000);
        e.dev = UINT64_C(0x7fffffff12345678);
        e.ino = UINT64_C(0x0123456789abcdef);
        e.expires_at = 1700003600;
        e.remove_on_restart = true;
        e.keep_while_in_use = true;
        e.cleanup = EPHEMDIR_CLEANUP_AUTO;
        e.max_size = INT64_C(2147483648);
        e.name_style = EPHEMDIR_NAME_CLEAN;
        e.tags = strv_new("zeta", "alpha");   /* order is kept, not sorted */
        e.description = xstrdup("cargo target dir; 100% \"scratch\"");
        free(e.origin);
        e.origin = xstrdup("rule:50-build.yaml:build-cache");
        insert_ok(f->reg, &e);

        assert_int_equal(registry_get_by_id(f->reg, e.id, &got), 0);
        assert_entries_equal(&e, &got);
        assert_int_equal(entry_copy(&got, &copy), 0);
        assert_entries_equal(&got, &copy);
        assert_ptr_not_equal(copy.path, got.path);
        assert_ptr_not_equal(copy.tags, got.tags);
        entry_done(&got);
        entry_done(&copy);
        assert_null(copy.path);

        /* Claimed: claim id and staging path round trip too. */
        assert_int_equal(registry_claim(f->reg, e.id, 1, "c1", PARENT "/.x.ephemdir-deleting-c1"), 0);
        assert_int_equal(registry_get_by_id(f->reg, e.id, &got), 0);
        assert_int_equal(got.state, ENTRY_DELETING);
        assert_string_equal(got.claim_id, "c1");
        assert_string_equal(got.staging_path, PARENT "/.x.ephemdir-deleting-c1");
        assert_int_equal(got.version, 2);
        entry_done(&got);
        entry_done(&e);
}

static void test_unset_fields_round_trip_as_unset(void **state) {
        struct fixture *f = *state;
        struct entry e, got = {};

        /* Legacy entry: no marker; no description, tags, expiry or size. */
        make_entry(&e, "legacy", 5);
        free(e.marker_id);
        e.marker_id = NULL;
        e.cleanup = EPHEMDIR_CLEANUP_NEXT_SWEEP;
        insert_ok(f->reg, &e);

        assert_int_equal(registry_get_by_id(f->reg, e.id, &got), 0);
        assert_null(got.marker_id);
        assert_null(got.description);
        assert_null(got.tags);
        assert_null(got.claim_id);
        assert_null(got.staging_path);
        assert_int_equal(got.expires_at, 0);
        assert_int_equal(got.max_size, EPHEMDIR_NO_SIZE_LIMIT);
        assert_int_equal(got.cleanup, EPHEMDIR_CLEANUP_NEXT_SWEEP);
        assert_entries_equal(&e, &got);
        entry_done(&got);
        entry_done(&e);

        /* An empty description is kept distinct from none. */
        make_entry(&e, "described", 6);
        e.description = xstrdup("");
        insert_ok(f->reg, &e);
        assert_int_equal(registry_get_by_id(f->reg, e.id, &got), 0);
        assert_string_equal(got.description, "");
        entry_done(&got);
        entry_done(&e);
}

static void test_state_words(void **state) {
        (void) state;
        assert_string_equal(entry_state_word(ENTRY_ACTIVE), "active");
        assert_string_equal(entry_state_word(ENTRY_DELETING), "deleting");
        assert_string_equal(entry_state_word(ENTRY_RECOVERY), "recovery");
        assert_null(entry_state_word((enum entry_state) 42));
}

static void test_invalid_entries_are_refused_before_writing(void **state) {
        struct fixture *f = *state;
        struct entry e;
        int64_t n;

        make_entry(&e, "ok", 1);
        free(e.path);
        e.path = xstrdup("relative/ok");
        assert_int_equal(registry_insert(f->reg, &e), -EINVAL);
        entry_done(&e);

        make_entry(&e, "ok", 1);
        free(e.name);
        e.name = xstrdup("other");   /* not the last component of path */
        assert_int_equal(registry_insert(f->reg, &e), -EINVAL);
        entry_done(&e);

        make_entry(&e, "ok", 1);
        free(e.marker_id);
        e.marker_id = xstrdup("0123456789ABCDEF0123456789ABCDEF");
        assert_int_equal(registry_insert(f->reg, &e), -EINVAL);
        entry_done(&e);

        make_entry(&e, "ok", 1);
        e.state = ENTRY_DELETING;   /* no claim */
        assert_int_equal(registry_insert(f->reg, &e), -EINVAL);
        entry_done(&e);

        make_entry(&e, "ok", 1);
        e.ino = UINT64_MAX;
        assert_int_equal(registry_insert(f->reg, &e), -EINVAL);
        assert_non_null(strstr(registry_error(f->reg), "out of range"));
        entry_done(&e);

        assert_int_equal(registry_count(f->reg, &n), 0);
        assert_int_equal(n, 0);
}

static void test_a_path_is_tracked_once(void **state) {
        struct fixture *f = *state;
        struct entry e;
        int64_t n;

        add(f->reg, "dup", 1);
        make_entry(&e, "dup", 2);
        e.tags = strv_new("t", NULL);
        assert_int_equal(registry_insert(f->reg, &e), -EEXIST);
        assert_int_equal(e.id, 0);   /* not written back on failure */
        entry_done(&e);
        assert_int_equal(registry_count(f->reg, &n), 0);
        assert_int_equal(n, 1);
}

static void test_ids_are_never_reused(void **state) {
        struct fixture *f = *state;
        int64_t a = add(f->reg, "a", 1);
        int64_t b = add(f->reg, "b", 2);

        assert_int_equal(registry_forget(f->reg, b, 1), 0);
        assert_true(add(f->reg, "c", 3) > b);
        assert_int_equal(registry_forget(f->reg, a, 1), 0);
}

/* ---- lookups --------------------------------------------------------------------- */

static void test_lookups_find_by_id_path_name_and_last(void **state) {
        struct fixture *f = *state;
        struct entry got = {};
        int64_t old = add(f->reg, "old", 100);
        int64_t mid = add(f->reg, "mid", 200);
        int64_t newest = add(f->reg, "newest", 300);

        assert_int_equal(registry_get_by_id(f->reg, mid, &got), 0);
        assert_string_equal(got.name, "mid");
        entry_done(&got);
        assert_int_equal(registry_get_by_path(f->reg, PARENT "/old", &got), 0);
        assert_int_equal(got.id, old);
        entry_done(&got);
        assert_int_equal(registry_get_by_name(f->reg, "newest", &got), 0);
        assert_int_equal(got.id, newest);
        entry_done(&got);

        /* "last" is the newest ACTIVE entry: a claimed one does not count. */
        assert_int_equal(registry_get_last(f->reg, &got), 0);
        assert_int_equal(got.id, newest);
        entry_done(&got);
        assert_int_equal(registry_claim(f->reg, newest, 1, "c", PARENT "/.s"), 0);
        assert_int_equal(registry_get_last(f->reg, &got), 0);
        assert_int_equal(got.id, mid);
        entry_done(&got);

        assert_int_equal(registry_get_by_id(f->reg, 9999, &got), -ENOENT);
        assert_int_equal(registry_get_by_path(f->reg, PARENT "/nope", &got), -ENOENT);
        assert_int_equal(registry_get_by_name(f->reg, "ol", &got), -ENOENT);
        assert_null(got.path);
}

static void test_last_of_an_empty_registry_is_absent(void **state) {
        struct fixture *f = *state;
        struct entry got = {};

        assert_int_equal(registry_get_last(f->reg, &got), -ENOENT);
}

static void test_a_name_shared_by_two_entries_is_ambiguous(void **state) {
        struct fixture *f = *state;
        struct entry e, got = {};

        add(f->reg, "same", 1);
        make_entry(&e, "same", 2);
        free(e.path);
        free(e.parent);
        e.parent = xstrdup("/elsewhere");
        e.path = xstrdup("/elsewhere/same");
        insert_ok(f->reg, &e);
        entry_done(&e);

        assert_int_equal(registry_get_by_name(f->reg, "same", &got), -ENOTUNIQ);
        assert_null(got.path);
}

static void test_prefix_matches_percent_and_underscore_literally(void **state) {
        struct fixture *f = *state;
        struct entry *v = NULL;
        size_t n = 0;
        char *names;

        add(f->reg, "a%b-1", 1);
        add(f->reg, "a_b-2", 2);
        add(f->reg, "axb-3", 3);
        add(f->reg, "a%c-4", 4);
        add(f->reg, "ab-5", 5);
        add(f->reg, "b", 6);

        assert_int_equal(registry_find_by_prefix(f->reg, "a%", 0, &v, &n), 0);
        names = names_of(v, n);
        assert_string_equal(names, "a%b-1,a%c-4");
        free(names);
        entry_free_array(v, n);

        assert_int_equal(registry_find_by_prefix(f->reg, "a_", 0, &v, &n), 0);
        names = names_of(v, n);
        assert_string_equal(names, "a_b-2");
        free(names);
        entry_free_array(v, n);

        assert_int_equal(registry_find_by_prefix(f->reg, "a%b", 0, &v, &n), 0);
        names = names_of(v, n);
        assert_string_equal(names, "a%b-1");
        free(names);
        entry_free_array(v, n);

        assert_int_equal(registry_find_by_prefix(f->reg, "zz", 0, &v, &n), 0);
        assert_int_equal(n, 0);
        entry_free_array(v, n);
}

static void test_prefix_returns_every_match_up_to_limit(void **state) {
        struct fixture *f = *state;
        struct entry *v = NULL;
        size_t n = 0;
        char *names;

        add(f->reg, "brave-cat", 3);
        add(f->reg, "brave-ant", 2);
        add(f->reg, "brave-dog", 1);
        add(f->reg, "bravo", 4);
        add(f->reg, "brav", 5);

        assert_int_equal(registry_find_by_prefix(f->reg, "brave-", 0, &v, &n), 0);
        names = names_of(v, n);
        assert_string_equal(names, "brave-ant,brave-cat,brave-dog");
        free(names);
        entry_free_array(v, n);

        assert_int_equal(registry_find_by_prefix(f->reg, "brav", 2, &v, &n), 0);
        names = names_of(v, n);
        assert_string_equal(names, "brav,brave-ant");
        free(names);
        entry_free_array(v, n);

        /* An exact name is its own prefix. */
        assert_int_equal(registry_find_by_prefix(f->reg, "bravo", 0, &v, &n), 0);
        assert_int_equal(n, 1);
        entry_free_array(v, n);

        assert_int_equal(registry_find_by_prefix(f->reg, "", 0, &v, &n), 0);
        assert_int_equal(n, 5);
        entry_free_array(v, n);
}

static void test_prefix_ending_in_high_bytes_carries(void **state) {
        struct fixture *f = *state;
        struct entry *v = NULL;
        size_t n = 0;
        char *names;

        add(f->reg, "a\xff" "1", 1);
        add(f->reg, "b", 2);
        add(f->reg, "\xff\xff-x", 3);
        add(f->reg, "\xfe-y", 4);

        /* "a\xff" -> upper bound "b", which itself must not match. */
        assert_int_equal(registry_find_by_prefix(f->reg, "a\xff", 0, &v, &n), 0);
        names = names_of(v, n);
        assert_string_equal(names, "a\xff" "1");
        free(names);
        entry_free_array(v, n);

        /* All 0xff: no upper bound at all. */
        assert_int_equal(registry_find_by_prefix(f->reg, "\xff", 0, &v, &n), 0);
        names = names_of(v, n);
        assert_string_equal(names, "\xff\xff-x");
        free(names);
        entry_free_array(v, n);
}

static void test_list_all_is_oldest_first(void **state) {
        struct fixture *f = *state;
        struct entry *v = NULL;
        size_t n = 0;
        char *names;

        add(f->reg, "second", 20);
        add(f->reg, "first", 10);
        add(f->reg, "third-a", 30);
        add(f->reg, "third-b", 30);   /* same second: insertion order */

        assert_int_equal(registry_list_all(f->reg, &v, &n), 0);
        names = names_of(v, n);
        assert_string_equal(names, "first,second,third-a,third-b");
        free(names);
        entry_free_array(v, n);
}

/* ---- compare-and-swap ----------------------------------------------------------------- */

static void test_claim_with_a_stale_version_loses(void **state) {
        struct fixture *f = *state;
        struct entry got = {};
        int64_t id = add(f->reg, "x", 1);

        assert_int_equal(registry_claim(f->reg, id, 2, "c0", PARENT "/.s0"), -ESTALE);
        assert_int_equal(registry_claim(f->reg, id, 1, "c1", PARENT "/.s1"), 0);
        /* The same (old) version again: the row moved on. */
        assert_int_equal(registry_claim(f->reg, id, 1, "c2", PARENT "/.s2"), -ESTALE);
        assert_int_equal(registry_claim(f->reg, id, 2, "c2", PARENT "/.s2"), -ESTALE);   /* not ACTIVE */
        assert_int_equal(registry_claim(f->reg, 9999, 1, "c3", PARENT "/.s3"), -ESTALE);

        assert_int_equal(registry_get_by_id(f->reg, id, &got), 0);
        assert_string_equal(got.claim_id, "c1");
        assert_int_equal(got.version, 2);
        entry_done(&got);
}

static void test_extend_committed_first_wins_over_claim(void **state) {
        struct fixture *f = *state;
        struct entry got = {};
        int64_t id = add(f->reg, "x", 1), v = 0;

        /* A sweep read version 1 and decided to delete; extend commits first. */
        assert_int_equal(registry_set_expiry(f->reg, id, 1, 5000, &v), 0);
        assert_int_equal(v, 2);
        assert_int_equal(registry_claim(f->reg, id, 1, "sweep", PARENT "/.s"), -ESTALE);
        assert_int_equal(registry_get_by_id(f->reg, id, &got), 0);
        assert_int_equal(got.state, ENTRY_ACTIVE);
        assert_int_equal(got.expires_at, 5000);
        entry_done(&got);

        /* Keep (forget) committed first wins the same way. */
        assert_int_equal(registry_forget(f->reg, id, 2), 0);
        assert_int_equal(registry_claim(f->reg, id, 2, "sweep", PARENT "/.s"), -ESTALE);
}

static void test_after_a_claim_extend_and_keep_lose(void **state) {
        struct fixture *f = *state;
        int64_t id = add(f->reg, "x", 1), v = 77;

        assert_int_equal(registry_claim(f->reg, id, 1, "sweep", PARENT "/.s"), 0);
        assert_int_equal(registry_set_expiry(f->reg, id, 2, 5000, &v), -ESTALE);
        assert_int_equal(v, 77);   /* ret_version untouched on failure */
        assert_int_equal(registry_forget(f->reg, id, 2), -ESTALE);
        assert_int_equal(registry_set_expiry(f->reg, id, 2, -1, &v), -EINVAL);
}

static void test_expiry_zero_means_no_limit(void **state) {
        struct fixture *f = *state;
        struct entry got = {};
        int64_t id = add(f->reg, "x", 1), v = 0;

        assert_int_equal(registry_set_expiry(f->reg, id, 1, 10, &v), 0);
        assert_int_equal(registry_set_expiry(f->reg, id, v, 0, &v), 0);
        assert_int_equal(v, 3);
        assert_int_equal(registry_get_by_id(f->reg, id, &got), 0);
        assert_int_equal(got.expires_at, 0);
        assert_int_equal(got.version, 3);
        entry_done(&got);
}

static void test_commit_delete_with_a_wrong_claim_does_nothing(void **state) {
        struct fixture *f = *state;
        struct entry e, got = {};

        make_entry(&e, "x", 1);
        e.tags = strv_new("t1", "t2");
        insert_ok(f->reg, &e);
        assert_int_equal(registry_commit_delete(f->reg, e.id, "never-claimed"), -ESTALE);
        assert_int_equal(registry_claim(f->reg, e.id, 1, "right", PARENT "/.s"), 0);
        assert_int_equal(registry_commit_delete(f->reg, e.id, "wrong"), -ESTALE);
        assert_int_equal(registry_get_by_id(f->reg, e.id, &got), 0);
        assert_int_equal(got.state, ENTRY_DELETING);
        assert_int_equal(got.version, 2);
        entry_done(&got);

        assert_int_equal(registry_commit_delete(f->reg, e.id, "right"), 0);
        assert_int_equal(registry_get_by_id(f->reg, e.id, &got), -ENOENT);
        assert_int_equal(registry_commit_delete(f->reg, e.id, "right"), -ESTALE);
        entry_done(&e);
        registry_close(f->reg);
        f->reg = NULL;
        /* Tags went with the row (ON DELETE CASCADE). */
        {
                char *path = db_path(f->dir);
                sqlite3 *db = NULL;
                sqlite3_stmt *s = NULL;

                assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
                assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM dir_tags", -1, &s, NULL), SQLITE_OK);
                assert_int_equal(sqlite3_step(s), SQLITE_ROW);
                assert_int_equal(sqlite3_column_int(s, 0), 0);
                sqlite3_finalize(s);
                sqlite3_close(db);
                free(path);
        }
}

static void test_release_park_and_reclaim_follow_the_claim(void **state) {
        struct fixture *f = *state;
        struct entry got = {};
        int64_t id = add(f->reg, "x", 1);

        /* Release to ACTIVE clears the claim. */
        assert_int_equal(registry_claim(f->reg, id, 1, "c1", PARENT "/.s1"), 0);
        assert_int_equal(registry_release_claim(f->reg, id, "other", ENTRY_ACTIVE), -ESTALE);
        assert_int_equal(registry_release_claim(f->reg, id, "c1", ENTRY_ACTIVE), 0);
        assert_int_equal(registry_get_by_id(f->reg, id, &got), 0);
        assert_int_equal(got.state, ENTRY_ACTIVE);
        assert_null(got.claim_id);
        assert_null(got.staging_path);
        assert_int_equal(got.version, 3);
        entry_done(&got);

        /* Park in RECOVERY: claim and staging path stay for `recover`. */
        assert_int_equal(registry_claim(f->reg, id, 3, "c2", PARENT "/.s2"), 0);
        assert_int_equal(registry_release_claim(f->reg, id, "c2", ENTRY_DELETING), -EINVAL);
        assert_int_equal(registry_release_claim(f->reg, id, "c2", ENTRY_RECOVERY), 0);
        assert_int_equal(registry_get_by_id(f->reg, id, &got), 0);
        assert_int_equal(got.state, ENTRY_RECOVERY);
        assert_string_equal(got.claim_id, "c2");
        assert_string_equal(got.staging_path, PARENT "/.s2");
        assert_int_equal(got.version, 5);
        entry_done(&got);

        /* A parked entry cannot be committed with its old claim ... */
        assert_int_equal(registry_commit_delete(f->reg, id, "c2"), -ESTALE);
        /* ... it is reclaimed (fresh claim, same staging path) first. */
        assert_int_equal(registry_reclaim(f->reg, id, 4, "c3"), -ESTALE);
        assert_int_equal(registry_reclaim(f->reg, id, 5, "c3"), 0);
        assert_int_equal(registry_reclaim(f->reg, id, 6, "c4"), -ESTALE);   /* not RECOVERY */
        assert_int_equal(registry_get_by_id(f->reg, id, &got), 0);
        assert_int_equal(got.state, ENTRY_DELETING);
        assert_string_equal(got.claim_id, "c3");
        assert_string_equal(got.staging_path, PARENT "/.s2");
        assert_int_equal(got.version, 6);
        entry_done(&got);
        assert_int_equal(registry_commit_delete(f->reg, id, "c3"), 0);
}

static void test_forget_needs_active_and_forget_any_does_not(void **state) {
        struct fixture *f = *state;
        struct entry *v = NULL;
        size_t n = 0;
        int64_t id = add(f->reg, "x", 1);

        assert_int_equal(registry_claim(f->reg, id, 1, "c", PARENT "/.s"), 0);
        assert_int_equal(registry_release_claim(f->reg, id, "c", ENTRY_RECOVERY), 0);
        assert_int_equal(registry_list_by_state(f->reg, ENTRY_RECOVERY, &v, &n), 0);
        assert_int_equal(n, 1);
        entry_free_array(v, n);
        assert_int_equal(registry_forget(f->reg, id, 3), -ESTALE);
        assert_int_equal(registry_forget_any(f->reg, id, 2), -ESTALE);
        assert_int_equal(registry_forget_any(f->reg, id, 3), 0);
        assert_int_equal(registry_list_by_state(f->reg, ENTRY_RECOVERY, &v, &n), 0);
        assert_int_equal(n, 0);
        entry_free_array(v, n);
}

/* ---- concurrency ------------------------------------------------------------------------ */

#define N_CONTENDED 200

struct claim_result {
        char tag;      /* results arrive in whatever order the children finish */
        int won;
        int stale;
        int other;
};

/* Child body: open, report ready, then claim every row at version 1 once the
 * parent says go (so both children race from the same instant). */
static int child_claim_all(const char *dir, const int64_t *ids, char tag, int go_fd, int result_fd) {
        struct claim_result res = { .tag = tag };
        struct registry *reg = NULL;
        int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char c;

        if (dir_fd < 0 || registry_open(dir_fd, dir, &reg, NULL) < 0)
                return 2;
        if (write(result_fd, &tag, 1) != 1)
                return 3;
        if (read(go_fd, &c, 1) < 0)
                return 3;
        for (int i = 0; i < N_CONTENDED; i++) {
                char claim[32], staging[64];
                int r;

                snprintf(claim, sizeof(claim), "%c-%d", tag, i);
                snprintf(staging, sizeof(staging), PARENT "/.%c-%d", tag, i);
                r = registry_claim(reg, ids[i], 1, claim, staging);
                if (r == 0)
                        res.won++;
                else if (r == -ESTALE)
                        res.stale++;
                else {
                        fprintf(stderr, "child %c: claim: %s\n", tag, registry_error(reg));
                        res.other++;
                }
        }
        registry_close(reg);
        close(dir_fd);
        if (write(result_fd, &res, sizeof(res)) != (ssize_t) sizeof(res))
                return 4;
        return res.other ? 1 : 0;
}

static pid_t spawn_claimer(const char *dir, const int64_t *ids, char tag, int go[2], int result[2]) {
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                close(go[1]);
                close(result[0]);
                _exit(child_claim_all(dir, ids, tag, go[0], result[1]));
        }
        return pid;
}

static void wait_ok(pid_t pid) {
        int status;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_two_processes_claim_every_row_exactly_once(void **state) {
        struct fixture *f = *state;
        struct claim_result ra, rb;
        struct entry *v = NULL;
        size_t n = 0;
        int64_t ids[N_CONTENDED];
        int go[2], result[2], by_a = 0;
        pid_t a, b;

        for (int i = 0; i < N_CONTENDED; i++) {
                char name[32];
                snprintf(name, sizeof(name), "row-%03d", i);
                ids[i] = add(f->reg, name, i);
        }
        /* No SQLite connection may cross fork(): reopen afterwards. */
        registry_close(f->reg);
        f->reg = NULL;
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        assert_int_equal(pipe2(result, O_CLOEXEC), 0);
        a = spawn_claimer(f->dir, ids, 'a', go, result);
        b = spawn_claimer(f->dir, ids, 'b', go, result);
        close(go[0]);
        close(result[1]);
        {
                char ready[2];
                assert_int_equal(read(result[0], ready, 1), 1);
                assert_int_equal(read(result[0], ready + 1, 1), 1);
        }
        close(go[1]);   /* both start now (read sees EOF) */
        wait_ok(a);
        wait_ok(b);
        assert_int_equal(read(result[0], &ra, sizeof(ra)), sizeof(ra));
        assert_int_equal(read(result[0], &rb, sizeof(rb)), sizeof(rb));
        close(result[0]);
        if (ra.tag != 'a') {
                struct claim_result t = ra;
                ra = rb;
                rb = t;
        }
        assert_int_equal(ra.tag, 'a');
        assert_int_equal(rb.tag, 'b');
        f->reg = open_ok(f->dir_fd, f->dir);

        assert_int_equal(ra.other + rb.other, 0);
        assert_int_equal(ra.won + rb.won, N_CONTENDED);
        assert_int_equal(ra.stale + rb.stale, N_CONTENDED);

        assert_int_equal(registry_list_by_state(f->reg, ENTRY_DELETING, &v, &n), 0);
        assert_int_equal(n, N_CONTENDED);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(v[i].version, 2);
                by_a += v[i].claim_id[0] == 'a';
        }
        /* Whichever process the registry names as the winner is the one
         * that was told it won. */
        assert_int_equal(by_a + rb.won, N_CONTENDED);
        assert_int_equal(by_a, ra.won);
        entry_free_array(v, n);
}

static void test_concurrent_first_opens_create_the_schema_once(void **state) {
        struct fixture *f = *state;
        enum { N = 4 };
        pid_t pids[N];
        int go[2];
        int64_t n;

        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        struct registry *reg = NULL;
                        struct entry e;
                        char name[16], c;
                        int dir_fd, r;

                        close(go[1]);
                        if (read(go[0], &c, 1) < 0)
                                _exit(3);
                        dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        r = registry_open(dir_fd, f->dir, &reg, NULL);
                        if (r < 0) {
                                fprintf(stderr, "child %d: open: %s\n", i, strerror(-r));
                                _exit(1);
                        }
                        snprintf(name, sizeof(name), "child-%d", i);
                        make_entry(&e, name, i);
                        r = registry_insert(reg, &e);
                        if (r < 0)
                                fprintf(stderr, "child %d: insert: %s\n", i, registry_error(reg));
                        entry_done(&e);
                        registry_close(reg);
                        close(dir_fd);
                        _exit(r < 0 ? 2 : 0);
                }
        }
        close(go[0]);
        close(go[1]);
        for (int i = 0; i < N; i++)
                wait_ok(pids[i]);

        f->reg = open_ok(f->dir_fd, f->dir);
        assert_int_equal(registry_schema_version(f->reg), 1);
        assert_int_equal(registry_count(f->reg, &n), 0);
        assert_int_equal(n, N);
}

/* ---- corruption --------------------------------------------------------------------------- */

static void test_garbage_registry_is_copied_and_left_untouched(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir), *msg, garbage[10000];
        DIR *d;
        struct dirent *de;
        size_t entries = 0;

        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = "this is not an sqlite database\n"[i % 31];
        write_bytes(path, garbage, sizeof(garbage));

        msg = open_fails(f->dir_fd, f->dir, -EUCLEAN);
        assert_corrupt_message(msg);
        assert_non_null(strstr(msg, "file is not a database"));
        assert_non_null(strstr(msg, path));
        free(msg);

        assert_file_is(path, garbage, sizeof(garbage));
        assert_one_copy_of(f->dir, garbage, sizeof(garbage));

        /* Nothing besides the copy was created (no fresh registry, no WAL). */
        d = opendir(f->dir);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        entries++;
        closedir(d);
        assert_int_equal(entries, 2);
        free(path);
}

static void test_corrupt_copy_never_overwrites_an_earlier_copy(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir), *msg, garbage[128];
        time_t now = time(NULL);

        memset(garbage, 'g', sizeof(garbage));
        write_bytes(path, garbage, sizeof(garbage));
        /* Earlier copies with this second's (and the next seconds') names. */
        for (time_t t = now; t < now + 3; t++) {
                struct tm tm;
                char stamp[32], *p;

                gmtime_r(&t, &tm);
                strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
                p = tu_strdupf("%s/registry.db.corrupt-%s", f->dir, stamp);
                write_bytes(p, "earlier", 7);
                free(p);
        }
        msg = open_fails(f->dir_fd, f->dir, -EUCLEAN);
        assert_non_null(strstr(msg, "-1; nothing was changed"));
        free(msg);
        assert_int_equal(count_copies(f->dir, NULL), 4);

        /* The earlier copies still hold what they held. */
        for (time_t t = now; t < now + 3; t++) {
                struct tm tm;
                char stamp[32], *p;

                gmtime_r(&t, &tm);
                strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
                p = tu_strdupf("%s/registry.db.corrupt-%s", f->dir, stamp);
                assert_file_is(p, "earlier", 7);
                free(p);
        }
        free(path);
}

/* Fill a registry, close it (the WAL is checkpointed into registry.db). */
static void populate_and_close(struct fixture *f, int n) {
        struct registry *reg = open_ok(f->dir_fd, f->dir);

        for (int i = 0; i < n; i++) {
                struct entry e;
                char name[32];

                snprintf(name, sizeof(name), "entry-%d", i);
                make_entry(&e, name, i);
                e.tags = strv_new("tag-a", "tag-b");
                insert_ok(reg, &e);
                entry_done(&e);
        }
        registry_close(reg);
}

static void test_damaged_page_is_reported_on_first_read(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir), *before;
        struct entry *v = NULL;
        size_t len, n = 0;

        populate_and_close(f, 60);
        before = read_all(path, &len);
        assert_true(len > 3 * 4096);
        /* Trash every page after the first (the schema page). */
        memset(before + 4096, 0xaa, len - 4096);
        write_bytes(path, before, len);

        f->reg = open_ok(f->dir_fd, f->dir);
        assert_int_equal(registry_list_all(f->reg, &v, &n), -EUCLEAN);
        assert_null(v);
        assert_corrupt_message(registry_error(f->reg));
        assert_non_null(strstr(registry_error(f->reg), "malformed"));
        registry_close(f->reg);
        f->reg = NULL;

        assert_file_is(path, before, len);
        assert_one_copy_of(f->dir, before, len);
        free(before);
        free(path);
}

static void test_after_corruption_the_handle_changes_nothing(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir), *before;
        struct entry e, got = {};
        size_t len;
        int64_t n;

        populate_and_close(f, 60);
        before = read_all(path, &len);
        memset(before + 4096, 0xaa, len - 4096);
        write_bytes(path, before, len);

        f->reg = open_ok(f->dir_fd, f->dir);
        assert_int_equal(registry_get_by_name(f->reg, "entry-1", &got), -EUCLEAN);
        /* Every later call refuses, writes nothing and copies nothing again. */
        make_entry(&e, "new", 1);
        assert_int_equal(registry_insert(f->reg, &e), -EUCLEAN);
        entry_done(&e);
        assert_int_equal(registry_claim(f->reg, 1, 1, "c", PARENT "/.s"), -EUCLEAN);
        assert_int_equal(registry_stat_add(f->reg, "created", 1), -EUCLEAN);
        assert_int_equal(registry_count(f->reg, &n), -EUCLEAN);
        assert_corrupt_message(registry_error(f->reg));
        registry_close(f->reg);
        f->reg = NULL;

        assert_file_is(path, before, len);
        assert_one_copy_of(f->dir, before, len);
        free(before);
        free(path);
}

/* Hand edits that leave SQLite happy but the row unusable. */
static const char *const malformations[] = {
        "UPDATE dirs SET path = 'relative' WHERE name = 'entry-1'",
        "UPDATE dirs SET path = 42 WHERE name = 'entry-1'",
        "UPDATE dirs SET path = '/srv/scratch/../etc' WHERE name = 'entry-1'",
        "UPDATE dirs SET name = '' WHERE name = 'entry-1'",
        "UPDATE dirs SET name = 'a/b' WHERE name = 'entry-1'",
        "UPDATE dirs SET path = '/srv/scratch/other' WHERE name = 'entry-1'",
        "UPDATE dirs SET marker_id = 'XYZ' WHERE name = 'entry-1'",
        "UPDATE dirs SET marker_id = '0123456789ABCDEF0123456789ABCDEF' WHERE name = 'entry-1'",
        "UPDATE dirs SET state = 'exploded' WHERE name = 'entry-1'",
        "UPDATE dirs SET state = 'deleting', staging_path = '/srv/scratch/.s' WHERE name = 'entry-1'",
        "UPDATE dirs SET state = 'deleting', claim_id = 'c', staging_path = 'rel' WHERE name = 'entry-1'",
        "UPDATE dirs SET ino = -5 WHERE name = 'entry-1'",
        "UPDATE dirs SET created_at = 'yesterday' WHERE name = 'entry-1'",
        "UPDATE dirs SET remove_on_restart = 7 WHERE name = 'entry-1'",
        "UPDATE dirs SET cleanup = 'sometimes' WHERE name = 'entry-1'",
        /* Valid words, but requests, never resolved values. */
        "UPDATE dirs SET name_style = 'auto' WHERE name = 'entry-1'",
        "UPDATE dirs SET name_style = 'Clean' WHERE name = 'entry-1'",
        "UPDATE dirs SET max_size = 0 WHERE name = 'entry-1'",
        "UPDATE dirs SET version = 0 WHERE name = 'entry-1'",
        "UPDATE dirs SET name = CAST(x'656e7472792d3100' AS TEXT) WHERE name = 'entry-1'",
        "INSERT INTO dir_tags (dir_id, tag) SELECT id, x'00ff' FROM dirs WHERE name = 'entry-1'",
};

static void test_malformed_row_aborts_lookups_and_listing(void **state) {
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(malformations); i++) {
                char sub_name[16], *sub, *path, *before;
                struct registry *reg;
                struct entry *v = NULL, got = {};
                size_t len, n = 0;
                int sub_fd;

                snprintf(sub_name, sizeof(sub_name), "case-%zu", i);
                sub = mksubdir(f->dir, sub_name);
                sub_fd = open_dir(sub);
                path = db_path(sub);
                {
                        struct fixture sf = { .dir = sub, .dir_fd = sub_fd };
                        populate_and_close(&sf, 3);
                }
                raw_exec(sub, malformations[i]);
                before = read_all(path, &len);

                /* A lookup that reads the row refuses... */
                reg = open_ok(sub_fd, sub);
                assert_int_equal(registry_get_by_id(reg, 2, &got), -EUCLEAN);
                assert_corrupt_message(registry_error(reg));
                assert_non_null(strstr(registry_error(reg), "row 2"));
                registry_close(reg);
                assert_one_copy_of(sub, before, len);

                /* ... and so does a listing, in a command of its own. */
                reg = open_ok(sub_fd, sub);
                assert_int_equal(registry_list_all(reg, &v, &n), -EUCLEAN);
                assert_null(v);
                registry_close(reg);
                assert_int_equal(count_copies(sub, NULL), 2);

                /* Rows that are fine are still readable by id. */
                reg = open_ok(sub_fd, sub);
                assert_int_equal(registry_get_by_id(reg, 1, &got), 0);
                entry_done(&got);
                registry_close(reg);

                assert_file_is(path, before, len);
                close(sub_fd);
                free(before);
                free(path);
                free(sub);
        }
}

static void test_malformed_row_in_the_wal_is_copied_with_the_wal(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir), *wal = tu_strdupf("%s/registry.db-wal", f->dir);
        char *db_before, *wal_before, *copy = NULL, *copy_wal;
        struct entry *v = NULL;
        size_t db_len, wal_len, n = 0;

        populate_and_close(f, 3);
        f->reg = open_ok(f->dir_fd, f->dir);
        /* Edited while we are open: the bad row lives only in the WAL. */
        raw_exec(f->dir, "UPDATE dirs SET path = 'relative' WHERE name = 'entry-1'");
        assert_true(tu_exists(wal));
        db_before = read_all(path, &db_len);
        wal_before = read_all(wal, &wal_len);
        assert_true(wal_len > 0);

        assert_int_equal(registry_list_all(f->reg, &v, &n), -EUCLEAN);
        assert_non_null(strstr(registry_error(f->reg), "-wal; nothing was changed"));
        registry_close(f->reg);
        f->reg = NULL;

        /* Closing did not checkpoint the edit into registry.db. */
        assert_file_is(path, db_before, db_len);
        assert_one_copy_of(f->dir, db_before, db_len);
        count_copies(f->dir, &copy);
        copy_wal = tu_strdupf("%s-wal", copy);
        assert_file_is(copy_wal, wal_before, wal_len);

        free(copy_wal);
        free(copy);
        free(wal_before);
        free(db_before);
        free(wal);
        free(path);
}

static void test_foreign_database_is_not_adopted(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir), *before, *msg;
        size_t len;

        {
                sqlite3 *db = NULL;
                assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
                assert_int_equal(sqlite3_exec(db, "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine')",
                                              NULL, NULL, NULL), SQLITE_OK);
                sqlite3_close(db);
        }
        before = read_all(path, &len);
        msg = open_fails(f->dir_fd, f->dir, -EUCLEAN);
        assert_non_null(strstr(msg, "no ephemdir schema version"));
        free(msg);
        assert_file_is(path, before, len);
        assert_one_copy_of(f->dir, before, len);
        free(before);
        free(path);
}

/* ---- refusing unsafe files ----------------------------------------------------------------------- */

static void test_symlinked_registry_is_refused(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir), *target = tu_strdupf("%s/real.db", f->dir);
        char *dangling = tu_strdupf("%s/nothere.db", f->dir), *msg;
        int r;

        write_bytes(target, "precious", 8);
        assert_int_equal(symlink("real.db", path), 0);
        msg = open_fails(f->dir_fd, f->dir, -ELOOP);
        assert_non_null(strstr(msg, "symlink"));
        free(msg);
        assert_file_is(target, "precious", 8);

        /* A dangling link must not create its target either. */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink("nothere.db", path), 0);
        {
                struct registry *reg = NULL;
                r = registry_open(f->dir_fd, f->dir, &reg, NULL);
                assert_true(r == -ELOOP || r == -EPERM);
                assert_null(reg);
        }
        assert_false(tu_exists(dangling));
        assert_int_equal(count_copies(f->dir, NULL), 0);
        free(dangling);
        free(target);
        free(path);
}

static void test_data_dir_path_through_a_symlink_is_refused(void **state) {
        struct fixture *f = *state;
        char *real = mksubdir(f->dir, "real"), *link = tu_strdupf("%s/link", f->dir), *msg;
        int real_fd = open_dir(real);

        assert_int_equal(symlink("real", link), 0);
        /* SQLite would open the name: with a symlink in it, it refuses. */
        msg = open_fails(real_fd, link, -ELOOP);
        free(msg);
        close(real_fd);
        free(link);
        free(real);
}

static void test_non_regular_registry_is_refused(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir), *msg;

        assert_int_equal(mkfifo(path, 0600), 0);
        msg = open_fails(f->dir_fd, f->dir, -EPERM);   /* and does not hang */
        assert_non_null(strstr(msg, "not a regular file"));
        free(msg);
        assert_int_equal(unlink(path), 0);

        assert_int_equal(mkdir(path, 0700), 0);
        msg = open_fails(f->dir_fd, f->dir, -EPERM);
        free(msg);
        free(path);
}

static void test_registry_owned_by_someone_else_is_refused(void **state) {
        struct fixture *f = *state;
        char *path, *msg;

        if (!tu_is_root())
                skip();
        path = db_path(f->dir);
        write_bytes(path, "", 0);
        assert_int_equal(chown(path, 65534, 65534), 0);
        msg = open_fails(f->dir_fd, f->dir, -EPERM);
        assert_non_null(strstr(msg, "owned by uid 65534"));
        free(msg);
        free(path);
}

static void test_newer_schema_is_refused(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir), *before, *msg;
        size_t len;

        populate_and_close(f, 2);
        raw_exec(f->dir, "PRAGMA user_version = 2");
        before = read_all(path, &len);
        msg = open_fails(f->dir_fd, f->dir, -EPROTO);
        assert_string_equal(msg, "registry schema 2 is newer than this ephemdir supports");
        free(msg);
        assert_file_is(path, before, len);
        assert_int_equal(count_copies(f->dir, NULL), 0);
        free(before);
        free(path);
}

static void test_empty_registry_file_is_a_fresh_registry(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir);
        int64_t n;

        write_bytes(path, "", 0);
        f->reg = open_ok(f->dir_fd, f->dir);
        assert_int_equal(registry_schema_version(f->reg), 1);
        add(f->reg, "x", 1);
        assert_int_equal(registry_count(f->reg, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(count_copies(f->dir, NULL), 0);
        free(path);
}

static void test_reopening_keeps_entries(void **state) {
        struct fixture *f = *state;
        char *path = db_path(f->dir);
        struct stat st;
        int64_t n;

        /* Created by registry_open: private to its owner. */
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_uid, geteuid());
        free(path);

        add(f->reg, "kept", 1);
        registry_close(f->reg);
        f->reg = open_ok(f->dir_fd, f->dir);
        assert_int_equal(registry_schema_version(f->reg), 1);
        assert_int_equal(registry_count(f->reg, &n), 0);
        assert_int_equal(n, 1);
}

/* ---- due candidates ------------------------------------------------------------------------------- */

#define NOW 1000000

struct due_spec {
        const char *name;
        int64_t created_at;
        int64_t expires_at;
        bool remove_on_restart;
        const char *boot_id;
        enum ephemdir_cleanup cleanup;
        int64_t max_size;
        enum entry_state state;
};

static const struct due_spec due_specs[] = {
        { "expired", 1, NOW - 10, false, "boot-m", EPHEMDIR_CLEANUP_AUTO, -1, ENTRY_ACTIVE },
        { "expires-now", 2, NOW, false, "boot-m", EPHEMDIR_CLEANUP_AUTO, -1, ENTRY_ACTIVE },
        { "not-due", 3, NOW + 100, true, "boot-m", EPHEMDIR_CLEANUP_AUTO, -1, ENTRY_ACTIVE },
        { "restart-lo", 4, 0, true, "boot-a", EPHEMDIR_CLEANUP_AUTO, -1, ENTRY_ACTIVE },
        { "restart-hi", 5, 0, true, "boot-z", EPHEMDIR_CLEANUP_AUTO, -1, ENTRY_ACTIVE },
        { "old-boot-no-restart", 6, 0, false, "boot-a", EPHEMDIR_CLEANUP_AUTO, -1, ENTRY_ACTIVE },
        { "next-sweep", 7, 0, false, "boot-m", EPHEMDIR_CLEANUP_NEXT_SWEEP, -1, ENTRY_ACTIVE },
        { "sized", 8, 0, false, "boot-m", EPHEMDIR_CLEANUP_AUTO, 4096, ENTRY_ACTIVE },
        { "both", 9, NOW - 1, true, "boot-a", EPHEMDIR_CLEANUP_AUTO, -1, ENTRY_ACTIVE },
        { "deleting", 10, NOW - 10, true, "boot-a", EPHEMDIR_CLEANUP_NEXT_SWEEP, 1, ENTRY_DELETING },
        { "recovery", 11, NOW - 10, true, "boot-a", EPHEMDIR_CLEANUP_NEXT_SWEEP, 1, ENTRY_RECOVERY },
        { "kept", 0, 0, false, "boot-a", EPHEMDIR_CLEANUP_AUTO, -1, ENTRY_ACTIVE },
};

static void insert_due_specs(struct registry *reg) {
        for (size_t i = 0; i < ELEMENTSOF(due_specs); i++) {
                const struct due_spec *d = &due_specs[i];
                struct entry e;

                make_entry(&e, d->name, d->created_at);
                e.expires_at = d->expires_at;
                e.remove_on_restart = d->remove_on_restart;
                free(e.boot_id);
                e.boot_id = xstrdup(d->boot_id);
                e.cleanup = d->cleanup;
                e.max_size = d->max_size;
                insert_ok(reg, &e);
                if (d->state != ENTRY_ACTIVE)
                        assert_int_equal(registry_claim(reg, e.id, 1, "c", PARENT "/.s"), 0);
                if (d->state == ENTRY_RECOVERY)
                        assert_int_equal(registry_release_claim(reg, e.id, "c", ENTRY_RECOVERY), 0);
                entry_done(&e);
        }
}

static void assert_due(struct registry *reg, const char *boot, bool next_sweep, bool sized, size_t limit,
                       const char *expected) {
        struct entry *v = NULL;
        size_t n = 0;
        char *names;

        assert_int_equal(registry_due_candidates(reg, NOW, boot, next_sweep, sized, 0, limit, &v, &n), 0);
        names = names_of(v, n);
        assert_string_equal(names, expected);
        free(names);
        entry_free_array(v, n);
}

static void test_due_candidates_are_exactly_the_possibly_due(void **state) {
        struct fixture *f = *state;

        insert_due_specs(f->reg);
        /* In id (creation) order, each once ("both" matches two branches). */
        assert_due(f->reg, "boot-m", false, false, 0, "expired,expires-now,restart-lo,restart-hi,both");
        assert_due(f->reg, "boot-m", true, false, 0, "expired,expires-now,restart-lo,restart-hi,next-sweep,both");
        assert_due(f->reg, "boot-m", false, true, 0, "expired,expires-now,restart-lo,restart-hi,sized,both");
        assert_due(f->reg, "boot-m", true, true, 2, "expired,expires-now");
        /* Same boot as "boot-a" entries: only boot-z ones are due by restart. */
        assert_due(f->reg, "boot-a", false, false, 0, "expired,expires-now,not-due,restart-hi,both");
        /* Unknown boot id: nothing is due by restart. */
        assert_due(f->reg, NULL, false, false, 0, "expired,expires-now,both");

        /* Resuming after an id (the lazy sweep's cursor) skips older rows. */
        struct entry *v = NULL;
        size_t n = 0;
        assert_int_equal(registry_due_candidates(f->reg, NOW, "boot-m", false, false, 2, 0, &v, &n), 0);
        char *names = names_of(v, n);
        assert_string_equal(names, "restart-lo,restart-hi,both");
        free(names);
        entry_free_array(v, n);
}

/* ---- query plans ----------------------------------------------------------------------------------- */

static char *traced[256];
static size_t n_traced;

static int trace_statement(unsigned type, void *ctx, void *p, void *x) {
        const char *sql;

        (void) ctx;
        (void) x;
        if (type != SQLITE_TRACE_STMT || n_traced >= ELEMENTSOF(traced))
                return 0;
        sql = sqlite3_sql(p);
        if (sql)
                traced[n_traced++] = strdup(sql);
        return 0;
}

/* Installed on every connection opened while registered: records the SQL
 * the registry really runs, so the plans checked are those of its queries. */
static int install_tracer(sqlite3 *db, char **err, const struct sqlite3_api_routines *api) {
        (void) err;
        (void) api;
        return sqlite3_trace_v2(db, SQLITE_TRACE_STMT, trace_statement, NULL);
}

static const char *traced_sql(const char *needle) {
        for (size_t i = 0; i < n_traced; i++)
                if (traced[i] && strstr(traced[i], needle))
                        return traced[i];
        fail_msg("no traced statement contains \"%s\"", needle);
        return NULL;
}

static char *query_plan(const char *dir, const char *sql) {
        char *path = db_path(dir), *q = tu_strdupf("EXPLAIN QUERY PLAN %s", sql);
        char *plan = xstrdup("");
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
        while (sqlite3_step(s) == SQLITE_ROW) {
                char *next = tu_strdupf("%s%s\n", plan, (const char *) sqlite3_column_text(s, 3));
                free(plan);
                plan = next;
        }
        sqlite3_finalize(s);
        sqlite3_close(db);
        free(q);
        free(path);
        return plan;
}

static void assert_index_driven(const char *dir, const char *needle, const char *index) {
        char *plan = query_plan(dir, traced_sql(needle));

        if (!(strstr(plan, "USING INDEX") || strstr(plan, "USING COVERING INDEX")) || strstr(plan, "SCAN dirs") ||
            (index && !strstr(plan, index)))
                fail_msg("query \"%s\" is not index-driven:\n%s", traced_sql(needle), plan);
        free(plan);
}

static void test_lookups_and_due_query_use_indexes(void **state) {
        struct fixture *f = *state;
        struct entry *v = NULL, got = {};
        size_t n = 0;

        assert_int_equal(sqlite3_auto_extension((void (*)(void)) install_tracer), SQLITE_OK);
        f->reg = open_ok(f->dir_fd, f->dir);
        for (int i = 0; i < 50; i++) {
                char name[16];
                snprintf(name, sizeof(name), "n%02d", i);
                add(f->reg, name, i);
        }
        assert_int_equal(registry_find_by_prefix(f->reg, "n1", 0, &v, &n), 0);
        entry_free_array(v, n);
        assert_int_equal(registry_due_candidates(f->reg, NOW, "boot-m", true, true, 0, 5, &v, &n), 0);
        entry_free_array(v, n);
        assert_int_equal(registry_get_by_name(f->reg, "n03", &got), 0);
        entry_done(&got);
        assert_int_equal(registry_get_by_path(f->reg, PARENT "/n03", &got), 0);
        entry_done(&got);
        assert_int_equal(registry_get_last(f->reg, &got), 0);
        entry_done(&got);
        assert_int_equal(registry_list_by_state(f->reg, ENTRY_RECOVERY, &v, &n), 0);
        entry_free_array(v, n);
        sqlite3_cancel_auto_extension((void (*)(void)) install_tracer);

        assert_index_driven(f->dir, "name >= ?1 AND name < ?2", "dirs_by_name");
        assert_index_driven(f->dir, "expires_at <= ?1", "dirs_by_expiry");
        assert_index_driven(f->dir, "WHERE name = ?1", "dirs_by_name");
        assert_index_driven(f->dir, "WHERE path = ?1", NULL);
        assert_index_driven(f->dir, "ORDER BY created_at DESC", "dirs_by_created");
        assert_index_driven(f->dir, "WHERE state = ?1", "dirs_by_created");

        for (size_t i = 0; i < n_traced; i++)
                free(traced[i]);
        n_traced = 0;
}

/* ---- counters --------------------------------------------------------------------------------------- */

static void test_counters_accumulate(void **state) {
        struct fixture *f = *state;
        int64_t v = -1;

        assert_int_equal(registry_stat_get(f->reg, "removed", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(registry_stat_add(f->reg, "removed", 3), 0);
        assert_int_equal(registry_stat_add(f->reg, "removed", 2), 0);
        assert_int_equal(registry_stat_add(f->reg, "created", 1), 0);
        assert_int_equal(registry_stat_add(f->reg, "created", -1), -EINVAL);
        assert_int_equal(registry_stat_get(f->reg, "removed", &v), 0);
        assert_int_equal(v, 5);
        assert_int_equal(registry_stat_get(f->reg, "created", &v), 0);
        assert_int_equal(v, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_DIR(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown)
                T(test_every_field_round_trips),
                T(test_unset_fields_round_trip_as_unset),
                T(test_state_words),
                T(test_invalid_entries_are_refused_before_writing),
                T(test_a_path_is_tracked_once),
                T(test_ids_are_never_reused),
                T(test_lookups_find_by_id_path_name_and_last),
                T(test_last_of_an_empty_registry_is_absent),
                T(test_a_name_shared_by_two_entries_is_ambiguous),
                T(test_prefix_matches_percent_and_underscore_literally),
                T(test_prefix_returns_every_match_up_to_limit),
                T(test_prefix_ending_in_high_bytes_carries),
                T(test_list_all_is_oldest_first),
                T(test_claim_with_a_stale_version_loses),
                T(test_extend_committed_first_wins_over_claim),
                T(test_after_a_claim_extend_and_keep_lose),
                T(test_expiry_zero_means_no_limit),
                T(test_commit_delete_with_a_wrong_claim_does_nothing),
                T(test_release_park_and_reclaim_follow_the_claim),
                T(test_forget_needs_active_and_forget_any_does_not),
                T(test_two_processes_claim_every_row_exactly_once),
                T_DIR(test_concurrent_first_opens_create_the_schema_once),
                T_DIR(test_garbage_registry_is_copied_and_left_untouched),
                T_DIR(test_corrupt_copy_never_overwrites_an_earlier_copy),
                T_DIR(test_damaged_page_is_reported_on_first_read),
                T_DIR(test_after_corruption_the_handle_changes_nothing),
                T_DIR(test_malformed_row_aborts_lookups_and_listing),
                T_DIR(test_malformed_row_in_the_wal_is_copied_with_the_wal),
                T_DIR(test_foreign_database_is_not_adopted),
                T_DIR(test_symlinked_registry_is_refused),
                T_DIR(test_data_dir_path_through_a_symlink_is_refused),
                T_DIR(test_non_regular_registry_is_refused),
                T_DIR(test_registry_owned_by_someone_else_is_refused),
                T_DIR(test_newer_schema_is_refused),
                T_DIR(test_empty_registry_file_is_a_fresh_registry),
                T(test_reopening_keeps_entries),
                T(test_due_candidates_are_exactly_the_possibly_due),
                T_DIR(test_lookups_and_due_query_use_indexes),
                T(test_counters_accumulate),
#undef T
#undef T_DIR
        };

        /* A child killed mid-test must not take the runner with it. */
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
