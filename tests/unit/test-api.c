/* SPDX-License-Identifier: MIT */
/*
 * The library's guarantees through its public API only: what ephemdir_new
 * creates and tracks, scoped handles and keep, stale handles, failure and
 * crash behaviour (real SIGKILLs at the EPHEMDIR_FAULT points, in a child),
 * sweeps, prune, extend, and a corrupt registry.
 *
 * Every test runs against a fresh base directory:
 *   <base>/data    the data dir (registry), created by ephemdir_ctx_open
 *   <base>/config  the config dir
 *   <base>/parent  an owner-private parent for new directories
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ephemdir.h"
#include "testutil.h"

#define MARKER ".ephemdir"
#define HOUR INT64_C(3600)

static bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

/* ---- fixture ---------------------------------------------------------------------- */

struct fixture {
        char *base;
        char *data;
        char *config;
        char *parent;
        ephemdir_ctx *ctx;
        char *last_log_error;      /* last EPHEMDIR_LOG_ERR message */
        char *restore_mode_path;   /* chmod'ed by a test: 0700 again at teardown */
};

static void record_log(int level, const char *message, void *userdata) {
        struct fixture *f = userdata;

        if (level <= EPHEMDIR_LOG_ERR) {
                free(f->last_log_error);
                f->last_log_error = strdup(message);
        }
}

static int open_ctx(struct fixture *f, ephemdir_ctx **ret) {
        const struct ephemdir_ctx_opts o = {
                .data_dir = f->data,
                .config_dir = f->config,
                .log = record_log,
                .log_userdata = f,
        };
        return ephemdir_ctx_open(ret, &o);
}

static ephemdir_ctx *open_ctx_ok(struct fixture *f) {
        ephemdir_ctx *ctx = NULL;
        int r = open_ctx(f, &ctx);

        if (r < 0)
                fail_msg("ephemdir_ctx_open: %s (%s)", ephemdir_strerror(r),
                         f->last_log_error ? f->last_log_error : "");
        return ctx;
}

static void clear_hooks(void) {
        unsetenv("EPHEMDIR_FAULT");
        unsetenv("EPHEMDIR_TEST_CLOCK_OFFSET");
        unsetenv("EPHEMDIR_TEST_BOOT_ID");
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        clear_hooks();
        f->base = tu_mkdtemp();
        f->data = tu_strdupf("%s/data", f->base);
        f->config = tu_strdupf("%s/config", f->base);
        f->parent = tu_strdupf("%s/parent", f->base);
        assert_int_equal(mkdir(f->parent, 0700), 0);
        f->ctx = open_ctx_ok(f);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        clear_hooks();
        ephemdir_ctx_close(f->ctx);
        if (f->restore_mode_path)
                (void) chmod(f->restore_mode_path, 0700);
        tu_rm_rf(f->base);
        free(f->restore_mode_path);
        free(f->last_log_error);
        free(f->base);
        free(f->data);
        free(f->config);
        free(f->parent);
        free(f);
        return 0;
}

static void set_clock_offset(int64_t seconds) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%lld", (long long) seconds);
        assert_int_equal(setenv("EPHEMDIR_TEST_CLOCK_OFFSET", buf, 1), 0);
}

/* ---- helpers ------------------------------------------------------------------------ */

static ephemdir_dir *new_in(ephemdir_ctx *ctx, const char *parent, int64_t lifetime) {
        const struct ephemdir_new_opts o = { .parent = parent, .lifetime = lifetime };
        ephemdir_dir *d = NULL;
        int r = ephemdir_new(ctx, &o, &d);

        if (r < 0)
                fail_msg("ephemdir_new: %s: %s", ephemdir_strerror(r), ephemdir_last_error(ctx));
        assert_non_null(d);
        return d;
}

/* A new directory's path (the handle is freed, the entry stays tracked). */
static char *new_path(ephemdir_ctx *ctx, const struct ephemdir_new_opts *o) {
        ephemdir_dir *d = NULL;
        int r = ephemdir_new(ctx, o, &d);

        if (r < 0)
                fail_msg("ephemdir_new: %s: %s", ephemdir_strerror(r), ephemdir_last_error(ctx));
        char *p = strdup(ephemdir_dir_path(d));
        assert_non_null(p);
        ephemdir_dir_free(d);
        return p;
}

static char *new_path_in(ephemdir_ctx *ctx, const char *parent, int64_t lifetime) {
        const struct ephemdir_new_opts o = { .parent = parent, .lifetime = lifetime };
        return new_path(ctx, &o);
}

/* Some content, so a deletion has work to do (and mid-delete can strike). */
static void populate(const char *dir) {
        char *sub = tu_strdupf("%s/sub", dir);

        assert_int_equal(mkdir(sub, 0700), 0);
        for (int i = 0; i < 12; i++) {
                char *p = tu_strdupf("%s/f%d", i % 2 ? sub : dir, i);
                tu_write_file(p, "content\n");
                free(p);
        }
        free(sub);
}

struct listing {
        struct ephemdir_info *items;
        size_t n;
};

static struct listing list_ok(ephemdir_ctx *ctx) {
        struct listing l = {};
        int r = ephemdir_list(ctx, &l.items, &l.n);

        if (r < 0)
                fail_msg("ephemdir_list: %s: %s", ephemdir_strerror(r), ephemdir_last_error(ctx));
        return l;
}

static void listing_free(struct listing *l) {
        ephemdir_info_free_array(l->items, l->n);
        *l = (struct listing) {};
}

static size_t count_tracked(ephemdir_ctx *ctx) {
        struct listing l = list_ok(ctx);
        size_t n = l.n;

        listing_free(&l);
        return n;
}

/* The listed entry for path, or NULL. */
static const struct ephemdir_info *find_info(const struct listing *l, const char *path) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].path, path))
                        return &l->items[i];
        return NULL;
}

static bool is_tracked(ephemdir_ctx *ctx, const char *path) {
        struct listing l = list_ok(ctx);
        bool found = find_info(&l, path) != NULL;

        listing_free(&l);
        return found;
}

/* Entries in dir (no "." / ".."), as a sorted, newline-joined string. */
static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *dir_names(const char *dir) {
        char *names[512];
        size_t n = 0, len = 1;
        struct dirent *de;
        DIR *d = opendir(dir);

        assert_non_null(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        assert_true(n < 512);
                        names[n] = strdup(de->d_name);
                        assert_non_null(names[n]);
                        len += strlen(names[n]) + 1;
                        n++;
                }
        closedir(d);
        qsort(names, n, sizeof(char *), cmp_str);
        char *s = calloc(1, len);
        assert_non_null(s);
        for (size_t i = 0; i < n; i++) {
                strcat(s, names[i]);
                strcat(s, "\n");
                free(names[i]);
        }
        return s;
}

static size_t count_names(const char *dir) {
        char *s = dir_names(dir);
        size_t n = 0;

        for (char *p = s; *p; p++)
                n += *p == '\n';
        free(s);
        return n;
}

/* A whole tree (paths relative to root, type, size, mode), sorted: equal
 * snapshots mean nothing was created, removed, renamed or resized. */
static char *tree_acc[4096];
static size_t tree_n;
static size_t tree_root_len;

static int tree_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) type;
        (void) ftw;
        assert_true(tree_n < 4096);
        tree_acc[tree_n++] = tu_strdupf("%s %o %lld", path + tree_root_len, (unsigned) st->st_mode,
                                        S_ISDIR(st->st_mode) ? 0LL : (long long) st->st_size);
        return 0;
}

static char *tree_snapshot(const char *root) {
        size_t len = 1;

        tree_n = 0;
        tree_root_len = strlen(root);
        assert_int_equal(nftw(root, tree_one, 32, FTW_PHYS), 0);
        qsort(tree_acc, tree_n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < tree_n; i++)
                len += strlen(tree_acc[i]) + 1;
        char *s = calloc(1, len);
        assert_non_null(s);
        for (size_t i = 0; i < tree_n; i++) {
                strcat(s, tree_acc[i]);
                strcat(s, "\n");
                free(tree_acc[i]);
        }
        return s;
}

/* What the registry says, as text: path, lifecycle, staging, expiry. */
static char *registry_snapshot(ephemdir_ctx *ctx) {
        struct listing l = list_ok(ctx);
        char *s = strdup("");

        for (size_t i = 0; i < l.n; i++) {
                const struct ephemdir_info *it = &l.items[i];
                char *next = tu_strdupf("%s%s %s %s %lld %d\n", s, it->path, it->lifecycle_state,
                                        it->staging_path ? it->staging_path : "-", (long long) it->expires_at,
                                        (int) it->cleanup);
                free(s);
                s = next;
        }
        listing_free(&l);
        return s;
}

static char *read_file_all(const char *path, size_t *ret_len) {
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        assert_non_null(buf);
        if (fd < 0)
                fail_msg("open %s: %s", path, strerror(errno));
        for (;;) {
                if (len == cap) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        assert_non_null(buf);
                }
                ssize_t n = read(fd, buf + len, cap - len);
                assert_true(n >= 0);
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        close(fd);
        *ret_len = len;
        return buf;
}

static bool is_lower_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* dir holds a private regular .ephemdir marker with one lowercase id. */
static void assert_has_marker(const char *dir) {
        char *p = tu_strdupf("%s/" MARKER, dir);
        struct stat st;
        size_t len;

        if (lstat(p, &st) < 0)
                fail_msg("%s: no marker: %s", dir, strerror(errno));
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_uid, geteuid());
        char *c = read_file_all(p, &len);
        assert_int_equal(len, 33);
        assert_true(is_lower_hex(c, 32));
        assert_int_equal(c[32], '\n');
        free(c);
        free(p);
}

/* Name parts split on '-'; the last one is a 16-hex token when secure. */
static size_t name_parts(const char *name) {
        size_t n = 1;

        for (const char *p = name; *p; p++)
                n += *p == '-';
        return n;
}

static bool has_token(const char *name) {
        const char *dash = strrchr(name, '-');

        return dash && strlen(dash + 1) == 16 && is_lower_hex(dash + 1, 16);
}

static const char *base_name(const char *path) {
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/* ---- sweep events -------------------------------------------------------------------- */

struct ev {
        enum ephemdir_event_kind kind;
        char *path;
        char *reason;
};

struct events {
        struct ev v[64];
        size_t n;
};

static void collect(const struct ephemdir_event *e, void *userdata) {
        struct events *evs = userdata;

        assert_true(evs->n < 64);
        evs->v[evs->n++] = (struct ev) {
                .kind = e->kind,
                .path = strdup(e->path),
                .reason = e->reason ? strdup(e->reason) : NULL,
        };
}

static void events_free(struct events *evs) {
        for (size_t i = 0; i < evs->n; i++) {
                free(evs->v[i].path);
                free(evs->v[i].reason);
        }
        evs->n = 0;
}

static size_t count_events(const struct events *evs, enum ephemdir_event_kind kind, const char *path) {
        size_t n = 0;

        for (size_t i = 0; i < evs->n; i++)
                if (evs->v[i].kind == kind && (!path || streq(evs->v[i].path, path)))
                        n++;
        return n;
}

/* ---- crashes ------------------------------------------------------------------------- */

typedef int (*child_fn)(ephemdir_ctx *ctx, const char *arg);

/* Run fn in a child with EPHEMDIR_FAULT=point and its own context; the child
 * must die of SIGKILL at that point.  The parent's context is closed across
 * the fork (an SQLite connection must not cross it) and reopened after. */
static void crash_at(struct fixture *f, const char *point, child_fn fn, const char *arg) {
        int status;

        ephemdir_ctx_close(f->ctx);
        f->ctx = NULL;
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                ephemdir_ctx *ctx = NULL;
                if (setenv("EPHEMDIR_FAULT", point, 1) < 0 || open_ctx(f, &ctx) < 0)
                        _exit(3);
                int r = fn(ctx, arg);
                fprintf(stderr, "child survived fault point %s (call returned %d: %s)\n", point, r,
                        ephemdir_last_error(ctx));
                _exit(2);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
                fail_msg("child at fault point %s: %s %d (expected SIGKILL)", point,
                         WIFSIGNALED(status) ? "signal" : "exit status",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        f->ctx = open_ctx_ok(f);
}

static int child_remove(ephemdir_ctx *ctx, const char *path) {
        return ephemdir_remove(ctx, path);
}

static int child_new(ephemdir_ctx *ctx, const char *parent) {
        const struct ephemdir_new_opts o = { .parent = parent, .lifetime = HOUR };
        return ephemdir_new(ctx, &o, NULL);
}

/* ======================================================================================
 * creation
 * ====================================================================================== */

static void test_new_creates_private_marked_directory_and_tracks_it(void **state) {
        struct fixture *f = *state;
        struct stat st;

        int64_t t0 = (int64_t) time(NULL);
        /* umask 0: the mode must come from the library, not from the umask. */
        mode_t old = umask(0);
        ephemdir_dir *d = new_in(f->ctx, f->parent, HOUR);
        umask(old);
        int64_t t1 = (int64_t) time(NULL);

        const char *path = ephemdir_dir_path(d), *name = ephemdir_dir_name(d);
        char *expected_path = tu_strdupf("%s/%s", f->parent, name);
        assert_string_equal(path, expected_path);
        free(expected_path);
        /* Default style: secure, adjective-animal-<16 hex>. */
        assert_int_equal(name_parts(name), 3);
        assert_true(has_token(name));

        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(st.st_uid, geteuid());
        assert_has_marker(path);
        /* Nothing but the marker inside, nothing else in the parent. */
        char *inside = dir_names(path);
        assert_string_equal(inside, MARKER "\n");
        free(inside);
        assert_int_equal(count_names(f->parent), 1);

        int64_t created = ephemdir_dir_created_at(d);
        assert_true(created >= t0 && created <= t1);
        assert_int_equal(ephemdir_dir_expires_at(d), created + HOUR);

        struct listing l = list_ok(f->ctx);
        assert_int_equal(l.n, 1);
        const struct ephemdir_info *it = &l.items[0];
        assert_string_equal(it->path, path);
        assert_string_equal(it->name, name);
        assert_string_equal(it->parent, f->parent);
        assert_true(it->exists);
        assert_int_equal(it->status, EPHEMDIR_STATUS_ACTIVE);
        assert_int_equal(it->created_at, created);
        assert_int_equal(it->expires_at, created + HOUR);
        assert_true(it->remaining_seconds > HOUR - 60 && it->remaining_seconds <= HOUR);
        assert_true(it->remove_on_restart);
        assert_false(it->keep_while_in_use);
        assert_int_equal(it->cleanup, EPHEMDIR_CLEANUP_AUTO);
        assert_int_equal(it->max_size, EPHEMDIR_NO_SIZE_LIMIT);
        assert_int_equal(it->name_style, EPHEMDIR_NAME_SECURE);
        assert_string_equal(it->origin, "api");
        assert_string_equal(it->lifecycle_state, "active");
        assert_null(it->staging_path);
        listing_free(&l);

        /* Found again by name, by prefix and by path. */
        ephemdir_dir *again = NULL;
        assert_int_equal(ephemdir_resolve(f->ctx, name, &again), 0);
        assert_string_equal(ephemdir_dir_path(again), path);
        ephemdir_dir_free(again);
        assert_int_equal(ephemdir_resolve(f->ctx, path, &again), 0);
        assert_int_equal(ephemdir_dir_created_at(again), created);
        ephemdir_dir_free(again);

        ephemdir_dir_free(d);
}

static void test_clean_name_is_refused_in_shared_parent(void **state) {
        struct fixture *f = *state;
        char prefix[32];
        ephemdir_dir *d = (ephemdir_dir *) 0x1;

        snprintf(prefix, sizeof(prefix), "edtest%d-", (int) getpid());
        const struct ephemdir_new_opts clean = { .parent = "/tmp", .prefix = prefix,
                                                 .name_style = EPHEMDIR_NAME_CLEAN };
        int r = ephemdir_new(f->ctx, &clean, &d);
        assert_int_equal(r, -EINVAL);
        assert_ptr_equal(d, (ephemdir_dir *) 0x1);   /* ret_ untouched on failure */
        assert_non_null(strstr(ephemdir_last_error(f->ctx), "owner-private"));
        assert_int_equal(count_tracked(f->ctx), 0);
        /* Nothing with our prefix appeared in /tmp. */
        DIR *dir = opendir("/tmp");
        struct dirent *de;
        assert_non_null(dir);
        while ((de = readdir(dir)))
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
                        fail_msg("/tmp/%s was created", de->d_name);
        closedir(dir);

        /* /tmp itself is fine: auto picks a secure (tokened) name there. */
        const struct ephemdir_new_opts autos = { .parent = "/tmp", .prefix = prefix,
                                                 .name_style = EPHEMDIR_NAME_AUTO };
        d = NULL;
        assert_int_equal(ephemdir_new(f->ctx, &autos, &d), 0);
        char *tmp_path = strdup(ephemdir_dir_path(d));
        assert_true(has_token(ephemdir_dir_name(d)));
        assert_int_equal(name_parts(ephemdir_dir_name(d)), 4);
        assert_int_equal(ephemdir_dir_remove(d), 0);
        ephemdir_dir_free(d);
        assert_false(tu_exists(tmp_path));
        free(tmp_path);
}

static void test_clean_name_is_allowed_in_private_parent(void **state) {
        struct fixture *f = *state;
        static const enum ephemdir_name_style styles[] = { EPHEMDIR_NAME_CLEAN, EPHEMDIR_NAME_AUTO };

        for (size_t i = 0; i < 2; i++) {
                const struct ephemdir_new_opts o = { .parent = f->parent, .prefix = "proj-",
                                                     .name_style = styles[i] };
                ephemdir_dir *d = NULL;
                int r = ephemdir_new(f->ctx, &o, &d);
                if (r < 0)
                        fail_msg("style %d: %s", (int) styles[i], ephemdir_last_error(f->ctx));
                const char *name = ephemdir_dir_name(d);
                /* proj-adjective-animal: no token. */
                assert_int_equal(name_parts(name), 3);
                assert_false(has_token(name));
                assert_int_equal(strncmp(name, "proj-", 5), 0);
                assert_has_marker(ephemdir_dir_path(d));
                struct listing l = list_ok(f->ctx);
                const struct ephemdir_info *it = find_info(&l, ephemdir_dir_path(d));
                assert_non_null(it);
                assert_int_equal(it->name_style, EPHEMDIR_NAME_CLEAN);
                listing_free(&l);
                ephemdir_dir_free(d);
        }
}

static void test_words_and_prefix_validation(void **state) {
        struct fixture *f = *state;
        char long_prefix[66];
        static const char *const bad_tags[] = { "Bad Tag" };
        static const struct {
                const char *prefix;
                int words;
        } bad[] = {
                { "a/b", 0 }, { "a\nb", 0 }, { "\x01", 0 }, { ".", 0 }, { "..", 0 }, { NULL, 5 },
                { NULL, -1 }, { NULL, 100 }, { "ok", 5 },
        };

        memset(long_prefix, 'p', 65);
        long_prefix[65] = 0;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) + 3; i++) {
                struct ephemdir_new_opts o = { .parent = f->parent };
                if (i < sizeof(bad) / sizeof(bad[0])) {
                        o.prefix = bad[i].prefix;
                        o.words = bad[i].words;
                } else if (i == sizeof(bad) / sizeof(bad[0]))
                        o.prefix = long_prefix;
                else if (i == sizeof(bad) / sizeof(bad[0]) + 1) {
                        o.tags = bad_tags;
                        o.n_tags = 1;
                } else
                        o.description = "line\nbreak";
                ephemdir_dir *d = (ephemdir_dir *) 0x1;
                int r = ephemdir_new(f->ctx, &o, &d);
                if (r != -EINVAL)
                        fail_msg("case %zu: ephemdir_new returned %d, expected -EINVAL", i, r);
                assert_ptr_equal(d, (ephemdir_dir *) 0x1);
                assert_true(ephemdir_last_error(f->ctx)[0] != 0);
                assert_int_equal(count_names(f->parent), 0);
        }
        assert_non_null(strstr(ephemdir_last_error(f->ctx), "description"));
        assert_int_equal(count_tracked(f->ctx), 0);

        /* The edges of the valid ranges: 1 and 4 words, a 64-byte prefix. */
        for (int words = 1; words <= 4; words++) {
                const struct ephemdir_new_opts o = { .parent = f->parent, .prefix = "build-", .words = words };
                char *p = new_path(f->ctx, &o);
                const char *name = base_name(p);
                assert_int_equal(strncmp(name, "build-", 6), 0);
                assert_int_equal(name_parts(name), 1 + (size_t) words + 1);
                assert_true(has_token(name));
                free(p);
        }
        long_prefix[64] = 0;
        const struct ephemdir_new_opts o = { .parent = f->parent, .prefix = long_prefix };
        char *p = new_path(f->ctx, &o);
        assert_int_equal(strncmp(base_name(p), long_prefix, 64), 0);
        free(p);
}

static void test_next_sweep_with_lifetime_is_refused(void **state) {
        struct fixture *f = *state;
        ephemdir_dir *d = (ephemdir_dir *) 0x1;

        const struct ephemdir_new_opts with_lifetime = { .parent = f->parent, .lifetime = 60,
                                                         .cleanup = EPHEMDIR_CLEANUP_NEXT_SWEEP };
        assert_int_equal(ephemdir_new(f->ctx, &with_lifetime, &d), -EINVAL);
        assert_non_null(strstr(ephemdir_last_error(f->ctx), "lifetime"));
        const struct ephemdir_new_opts with_restart = { .parent = f->parent, .remove_on_restart = EPHEMDIR_YES,
                                                        .cleanup = EPHEMDIR_CLEANUP_NEXT_SWEEP };
        assert_int_equal(ephemdir_new(f->ctx, &with_restart, &d), -EINVAL);
        assert_ptr_equal(d, (ephemdir_dir *) 0x1);
        assert_int_equal(count_names(f->parent), 0);
        assert_int_equal(count_tracked(f->ctx), 0);

        /* Alone (or with "forever") it is fine: no lifetime, no restart policy. */
        const struct ephemdir_new_opts alone = { .parent = f->parent, .lifetime = EPHEMDIR_FOREVER,
                                                 .cleanup = EPHEMDIR_CLEANUP_NEXT_SWEEP };
        char *p = new_path(f->ctx, &alone);
        struct listing l = list_ok(f->ctx);
        const struct ephemdir_info *it = find_info(&l, p);
        assert_non_null(it);
        assert_int_equal(it->cleanup, EPHEMDIR_CLEANUP_NEXT_SWEEP);
        assert_int_equal(it->expires_at, 0);
        assert_false(it->remove_on_restart);
        assert_int_equal(it->status, EPHEMDIR_STATUS_UNTIL_SWEEP);
        listing_free(&l);
        free(p);
}

static void test_registration_failure_leaves_the_directory_in_place(void **state) {
        struct fixture *f = *state;
        char *db = tu_strdupf("%s/registry.db", f->data);
        sqlite3 *raw = NULL;
        char *err = NULL;

        /* Make every registration fail, for root too (permissions would not
         * stop root): a trigger vetoes inserts into the registry table. */
        assert_int_equal(sqlite3_open_v2(db, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        if (sqlite3_exec(raw,
                         "CREATE TRIGGER test_veto BEFORE INSERT ON dirs "
                         "BEGIN SELECT RAISE(ABORT, 'registration vetoed by the test'); END;",
                         NULL, NULL, &err) != SQLITE_OK)
                fail_msg("creating the trigger: %s", err);
        assert_int_equal(sqlite3_close(raw), SQLITE_OK);

        ephemdir_dir *d = (ephemdir_dir *) 0x1;
        const struct ephemdir_new_opts o = { .parent = f->parent, .lifetime = 60 };
        int r = ephemdir_new(f->ctx, &o, &d);
        assert_true(r < 0);
        assert_ptr_equal(d, (ephemdir_dir *) 0x1);
        const char *msg = ephemdir_last_error(f->ctx);
        if (!strstr(msg, "left in place"))
                fail_msg("last error does not say the directory was left in place: \"%s\"", msg);

        /* The directory exists, with its marker, named in the message. */
        assert_int_equal(count_names(f->parent), 1);
        char *names = dir_names(f->parent);
        names[strcspn(names, "\n")] = 0;
        char *path = tu_strdupf("%s/%s", f->parent, names);
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_has_marker(path);
        assert_non_null(strstr(msg, path));
        assert_int_equal(count_tracked(f->ctx), 0);

        /* Nor does a sweep touch it: it was never tracked. */
        assert_int_equal(ephemdir_sweep(f->ctx, EPHEMDIR_SWEEP_FORCE, NULL, NULL), 0);
        assert_true(tu_exists(path));
        free(path);
        free(names);
        free(db);
}

/* ======================================================================================
 * handles
 * ====================================================================================== */

static void test_scoped_handle_removes_at_scope_end(void **state) {
        struct fixture *f = *state;
        char *path;

        {
                EPHEMDIR_SCOPED ephemdir_dir *d = new_in(f->ctx, f->parent, HOUR);
                path = strdup(ephemdir_dir_path(d));
                populate(path);
                assert_true(tu_exists(path));
        }
        assert_false(tu_exists(path));
        assert_int_equal(count_names(f->parent), 0);   /* no staging leftovers */
        assert_int_equal(count_tracked(f->ctx), 0);
        free(path);

        /* A NULL scoped handle (ephemdir_new failed) is fine at scope end. */
        {
                EPHEMDIR_SCOPED ephemdir_dir *d = NULL;
                const struct ephemdir_new_opts bad = { .parent = f->parent, .words = 9 };
                assert_int_equal(ephemdir_new(f->ctx, &bad, &d), -EINVAL);
        }
}

static void test_keep_inside_scope_is_honoured(void **state) {
        struct fixture *f = *state;
        char *path, *file;

        {
                EPHEMDIR_SCOPED ephemdir_dir *d = new_in(f->ctx, f->parent, HOUR);
                path = strdup(ephemdir_dir_path(d));
                file = tu_strdupf("%s/result", path);
                tu_write_file(file, "keep me\n");
                assert_int_equal(ephemdir_dir_keep(d), 0);
        }
        assert_true(tu_exists(path));
        assert_true(tu_exists(file));
        assert_int_equal(count_tracked(f->ctx), 0);
        ephemdir_dir *again = NULL;
        assert_int_equal(ephemdir_resolve(f->ctx, path, &again), -ENOENT);
        /* Untracked means no sweep will ever take it. */
        assert_int_equal(ephemdir_sweep(f->ctx, EPHEMDIR_SWEEP_FORCE, NULL, NULL), 0);
        assert_true(tu_exists(file));
        free(file);
        free(path);
}

static void test_keep_by_another_caller_inside_scope_is_honoured(void **state) {
        struct fixture *f = *state;
        ephemdir_ctx *other = open_ctx_ok(f);
        char *path, *file;

        {
                EPHEMDIR_SCOPED ephemdir_dir *d = new_in(f->ctx, f->parent, HOUR);
                path = strdup(ephemdir_dir_path(d));
                file = tu_strdupf("%s/result", path);
                tu_write_file(file, "keep me\n");
                int r = ephemdir_keep(other, path);
                if (r < 0)
                        fail_msg("keep by another context: %s", ephemdir_last_error(other));
        }
        assert_true(tu_exists(file));
        assert_int_equal(count_tracked(f->ctx), 0);
        assert_int_equal(count_tracked(other), 0);
        ephemdir_ctx_close(other);
        free(file);
        free(path);
}

static void test_stale_handle_never_acts_on_a_replacement(void **state) {
        struct fixture *f = *state;
        char *path, *precious, *marker, *copy;
        size_t len;

        {
                EPHEMDIR_SCOPED ephemdir_dir *a = new_in(f->ctx, f->parent, HOUR);
                path = strdup(ephemdir_dir_path(a));
                marker = tu_strdupf("%s/" MARKER, path);
                copy = read_file_all(marker, &len);

                /* X goes through the API; a lookalike takes its place, with
                 * the very marker X had. */
                assert_int_equal(ephemdir_remove(f->ctx, path), 0);
                assert_false(tu_exists(path));
                assert_int_equal(mkdir(path, 0700), 0);
                int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, copy, len), (ssize_t) len);
                close(fd);
                precious = tu_strdupf("%s/precious", path);
                tu_write_file(precious, "not yours\n");
                /* And a new tracked entry exists too. */
                char *other = new_path_in(f->ctx, f->parent, HOUR);

                int r = ephemdir_dir_remove(a);
                if (r != -ENOENT && r != -ESTALE)
                        fail_msg("remove through a stale handle returned %d (%s)", r, ephemdir_strerror(r));
                r = ephemdir_dir_keep(a);
                assert_true(r == -ENOENT || r == -ESTALE);
                r = ephemdir_dir_extend(a, HOUR);
                assert_true(r == -ENOENT || r == -ESTALE);
                assert_true(tu_exists(precious));
                assert_true(tu_exists(marker));
                assert_true(tu_exists(other));
                assert_true(is_tracked(f->ctx, other));
                free(other);
        }
        /* Scope end of the stale handle touched nothing either. */
        assert_true(tu_exists(precious));
        assert_true(tu_exists(marker));
        assert_int_equal(count_tracked(f->ctx), 1);
        free(copy);
        free(marker);
        free(precious);
        free(path);
}

static void test_stale_handle_never_deletes_a_lookalike_at_its_path(void **state) {
        struct fixture *f = *state;
        char *path, *precious, *marker, *copy;
        size_t len;

        {
                EPHEMDIR_SCOPED ephemdir_dir *a = new_in(f->ctx, f->parent, HOUR);
                path = strdup(ephemdir_dir_path(a));
                marker = tu_strdupf("%s/" MARKER, path);
                copy = read_file_all(marker, &len);

                /* X moves away behind ephemdir's back (still tracked); a new
                 * directory with X's marker appears at the same path.  X is
                 * kept aside so the new one cannot reuse its inode number. */
                char *aside = tu_strdupf("%s/aside", f->base);
                assert_int_equal(rename(path, aside), 0);
                assert_int_equal(mkdir(path, 0700), 0);
                int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, copy, len), (ssize_t) len);
                close(fd);
                precious = tu_strdupf("%s/precious", path);
                tu_write_file(precious, "not yours\n");

                assert_int_equal(ephemdir_dir_remove(a), -ESTALE);
                assert_true(tu_exists(precious));
                free(aside);
                struct listing l = list_ok(f->ctx);
                assert_int_equal(l.n, 1);
                assert_int_equal(l.items[0].status, EPHEMDIR_STATUS_REPLACED);
                listing_free(&l);
                /* Nor does any sweep, even forced. */
                assert_true(ephemdir_sweep(f->ctx, EPHEMDIR_SWEEP_FORCE, NULL, NULL) >= 0);
                assert_true(tu_exists(precious));
        }
        assert_true(tu_exists(precious));
        assert_true(tu_exists(marker));
        free(copy);
        free(marker);
        free(precious);
        free(path);
}

/* The identity check must not depend on inode-number luck: ext4 hands a
 * freed inode number to the next directory created in the same place, so a
 * directory restored from a backup (marker included, e.g. `cp -a`) after a
 * manual `rm -rf` can come back with the very (dev, ino) that was recorded. */
static void test_recreated_directory_with_recycled_inode_number_is_left_alone(void **state) {
        struct fixture *f = *state;
        char *path = new_path_in(f->ctx, f->parent, 60);
        char *marker = tu_strdupf("%s/" MARKER, path), *precious = tu_strdupf("%s/precious", path);
        struct stat before, after;
        size_t len;

        char *copy = read_file_all(marker, &len);
        assert_int_equal(lstat(path, &before), 0);
        tu_rm_rf(path);
        assert_int_equal(mkdir(path, 0700), 0);
        int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, copy, len), (ssize_t) len);
        close(fd);
        tu_write_file(precious, "restored from a backup\n");
        assert_int_equal(lstat(path, &after), 0);
        free(copy);
        if (before.st_ino != after.st_ino || before.st_dev != after.st_dev) {
                /* Not this filesystem's habit (tmpfs, ...): nothing to check. */
                free(precious);
                free(marker);
                free(path);
                skip();
        }

        int r = ephemdir_remove(f->ctx, path);
        if (r != -ESTALE || !tu_exists(precious))
                fail_msg("a new directory at %s that reuses the old inode number was %s (returned %d)", path,
                         tu_exists(precious) ? "accepted as ours" : "deleted", r);
        set_clock_offset(HOUR);
        assert_true(ephemdir_sweep(f->ctx, EPHEMDIR_SWEEP_FORCE, NULL, NULL) >= 0);
        assert_true(tu_exists(precious));
        free(precious);
        free(marker);
        free(path);
}

/* ======================================================================================
 * sweeps
 * ====================================================================================== */

static void test_lazy_sweep_in_new_is_bounded(void **state) {
        struct fixture *f = *state;
        char *paths[20];

        for (size_t i = 0; i < 20; i++)
                paths[i] = new_path_in(f->ctx, f->parent, 60);
        assert_int_equal(count_tracked(f->ctx), 20);

        set_clock_offset(HOUR);   /* all 20 are now an hour overdue */
        char *fresh = new_path_in(f->ctx, f->parent, 0);
        size_t removed = 0;
        for (size_t i = 0; i < 20; i++) {
                bool gone = !tu_exists(paths[i]);
                /* Consistent: gone from disk exactly when untracked. */
                assert_int_equal(gone, !is_tracked(f->ctx, paths[i]));
                removed += gone;
        }
        if (removed < 1 || removed > 4)
                fail_msg("the lazy sweep in ephemdir_new removed %zu of 20 due entries (expected 1..4)", removed);

        /* An explicit sweep takes the rest, and only them. */
        struct events evs = {};
        assert_int_equal(ephemdir_sweep(f->ctx, 0, collect, &evs), 0);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_REMOVED, NULL), 20 - removed);
        for (size_t i = 0; i < 20; i++) {
                assert_false(tu_exists(paths[i]));
                free(paths[i]);
        }
        assert_true(tu_exists(fresh));
        assert_int_equal(count_tracked(f->ctx), 1);
        assert_int_equal(count_names(f->parent), 1);
        events_free(&evs);
        free(fresh);
}

static void test_lazy_sweep_never_takes_next_sweep_entries(void **state) {
        struct fixture *f = *state;
        const struct ephemdir_new_opts ns = { .parent = f->parent, .cleanup = EPHEMDIR_CLEANUP_NEXT_SWEEP };

        char *p = new_path(f->ctx, &ns);
        set_clock_offset(30 * 86400);
        for (int i = 0; i < 3; i++) {
                char *q = new_path_in(f->ctx, f->parent, 0);
                free(q);
        }
        assert_true(tu_exists(p));
        assert_true(is_tracked(f->ctx, p));
        struct events evs = {};
        assert_int_equal(ephemdir_sweep(f->ctx, 0, collect, &evs), 0);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_REMOVED, p), 1);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_REMOVED, NULL), 1);
        assert_string_equal(evs.v[0].reason, "next-sweep");
        assert_false(tu_exists(p));
        events_free(&evs);
        free(p);
}

static void test_sweep_dry_run_changes_nothing(void **state) {
        struct fixture *f = *state;
        const struct ephemdir_new_opts ns = { .parent = f->parent, .cleanup = EPHEMDIR_CLEANUP_NEXT_SWEEP };
        char *expired = new_path_in(f->ctx, f->parent, 60);
        char *next = new_path(f->ctx, &ns);
        char *later = new_path_in(f->ctx, f->parent, 86400);
        char *crashed = new_path_in(f->ctx, f->parent, HOUR);
        struct events evs = {};

        populate(expired);
        populate(crashed);
        /* And an interrupted deletion, which only a real sweep may finish. */
        crash_at(f, "mid-delete", child_remove, crashed);

        set_clock_offset(HOUR);
        char *tree = tree_snapshot(f->parent), *reg = registry_snapshot(f->ctx);

        assert_int_equal(ephemdir_sweep(f->ctx, EPHEMDIR_SWEEP_DRY_RUN, collect, &evs), 0);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_WOULD_REMOVE, expired), 1);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_WOULD_REMOVE, next), 1);
        assert_int_equal(evs.n, 2);
        events_free(&evs);

        assert_int_equal(ephemdir_sweep(f->ctx, EPHEMDIR_SWEEP_DRY_RUN | EPHEMDIR_SWEEP_FORCE, collect, &evs), 0);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_WOULD_REMOVE, later), 1);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_WOULD_REMOVE, NULL), 3);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_REMOVED, NULL), 0);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_RECOVERED, NULL), 0);
        events_free(&evs);

        char *tree2 = tree_snapshot(f->parent), *reg2 = registry_snapshot(f->ctx);
        assert_string_equal(reg2, reg);
        assert_string_equal(tree2, tree);

        /* The real sweep does what the dry run announced, plus recovery. */
        assert_int_equal(ephemdir_sweep(f->ctx, 0, collect, &evs), 0);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_REMOVED, NULL), 2);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_RECOVERED, crashed), 1);
        assert_false(tu_exists(expired));
        assert_false(tu_exists(next));
        assert_true(tu_exists(later));
        assert_int_equal(count_tracked(f->ctx), 1);
        events_free(&evs);
        free(tree);
        free(tree2);
        free(reg);
        free(reg2);
        free(expired);
        free(next);
        free(later);
        free(crashed);
}

static void test_prune_forgets_only_missing_entries(void **state) {
        struct fixture *f = *state;
        char *gone_parent = tu_strdupf("%s/gone-parent", f->base);
        char *locked = tu_strdupf("%s/locked", f->base);

        assert_int_equal(mkdir(gone_parent, 0700), 0);
        assert_int_equal(mkdir(locked, 0700), 0);
        char *missing = new_path_in(f->ctx, f->parent, HOUR);
        char *intact = new_path_in(f->ctx, f->parent, HOUR);
        char *replaced = new_path_in(f->ctx, f->parent, HOUR);
        char *orphan = new_path_in(f->ctx, gone_parent, HOUR);
        char *unreadable = new_path_in(f->ctx, locked, HOUR);

        tu_rm_rf(missing);
        tu_rm_rf(replaced);
        assert_int_equal(mkdir(replaced, 0700), 0);
        tu_rm_rf(gone_parent);
        if (!tu_is_root()) {
                /* An unreadable parent is not proof of absence. */
                assert_int_equal(chmod(locked, 0), 0);
                f->restore_mode_path = strdup(locked);
        }

        int n = ephemdir_prune(f->ctx);
        if (n < 0)
                fail_msg("ephemdir_prune: %s", ephemdir_last_error(f->ctx));
        assert_int_equal(n, 2);   /* missing + orphan */
        assert_false(is_tracked(f->ctx, missing));
        assert_false(is_tracked(f->ctx, orphan));
        assert_true(is_tracked(f->ctx, intact));
        assert_true(is_tracked(f->ctx, replaced));
        assert_true(is_tracked(f->ctx, unreadable));
        assert_true(tu_exists(intact));
        assert_true(tu_exists(replaced));
        /* Nothing left to prune: a second call forgets nothing. */
        assert_int_equal(ephemdir_prune(f->ctx), 0);
        assert_int_equal(count_tracked(f->ctx), 3);

        free(missing);
        free(intact);
        free(replaced);
        free(orphan);
        free(unreadable);
        free(gone_parent);
        free(locked);
}

/* Directories users delete by hand are common; once a few due entries are
 * missing, they must not be all the lazy sweep ever looks at. */
static void test_lazy_sweep_is_not_starved_by_missing_entries(void **state) {
        struct fixture *f = *state;
        char *missing[6];

        for (size_t i = 0; i < 6; i++)
                missing[i] = new_path_in(f->ctx, f->parent, 60);
        char *intact = new_path_in(f->ctx, f->parent, 60);
        for (size_t i = 0; i < 6; i++)
                tu_rm_rf(missing[i]);

        set_clock_offset(HOUR);
        for (int i = 0; i < 8 && tu_exists(intact); i++) {
                char *p = new_path_in(f->ctx, f->parent, 0);
                free(p);
        }
        if (tu_exists(intact))
                fail_msg("8 calls of ephemdir_new never swept the due %s: the lazy sweep only ever looks at "
                         "the oldest due entries, which are missing from disk", intact);
        for (size_t i = 0; i < 6; i++)
                free(missing[i]);
        free(intact);
}

/* ======================================================================================
 * extend
 * ====================================================================================== */

static void test_extend_forever_clears_expiry(void **state) {
        struct fixture *f = *state;
        const struct ephemdir_new_opts o = { .parent = f->parent, .lifetime = 60,
                                             .remove_on_restart = EPHEMDIR_NO };
        ephemdir_dir *d = NULL;

        assert_int_equal(ephemdir_new(f->ctx, &o, &d), 0);
        assert_true(ephemdir_dir_expires_at(d) != 0);
        assert_int_equal(ephemdir_dir_extend(d, EPHEMDIR_FOREVER), 0);
        assert_int_equal(ephemdir_dir_expires_at(d), 0);

        struct listing l = list_ok(f->ctx);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.items[0].expires_at, 0);
        assert_int_equal(l.items[0].status, EPHEMDIR_STATUS_KEPT);
        listing_free(&l);

        /* A year later, an explicit sweep still leaves it alone. */
        set_clock_offset(365 * 86400);
        assert_int_equal(ephemdir_sweep(f->ctx, 0, NULL, NULL), 0);
        assert_true(tu_exists(ephemdir_dir_path(d)));
        assert_true(is_tracked(f->ctx, ephemdir_dir_path(d)));
        unsetenv("EPHEMDIR_TEST_CLOCK_OFFSET");

        /* By target: a finite extension sets it again; bad values refused. */
        int64_t t0 = (int64_t) time(NULL);
        assert_int_equal(ephemdir_extend(f->ctx, ephemdir_dir_name(d), 120), 0);
        l = list_ok(f->ctx);
        assert_true(l.items[0].expires_at >= t0 + 120 && l.items[0].expires_at <= (int64_t) time(NULL) + 120);
        listing_free(&l);
        assert_int_equal(ephemdir_extend(f->ctx, ephemdir_dir_name(d), 0), -EINVAL);
        assert_int_equal(ephemdir_extend(f->ctx, ephemdir_dir_name(d), -5), -EINVAL);
        assert_int_equal(ephemdir_extend(f->ctx, ephemdir_dir_path(d), EPHEMDIR_FOREVER), 0);
        l = list_ok(f->ctx);
        assert_int_equal(l.items[0].expires_at, 0);
        listing_free(&l);
        ephemdir_dir_free(d);
}

static void test_extend_on_next_sweep_entry_is_refused(void **state) {
        struct fixture *f = *state;
        const struct ephemdir_new_opts o = { .parent = f->parent, .cleanup = EPHEMDIR_CLEANUP_NEXT_SWEEP };
        ephemdir_dir *d = NULL;

        assert_int_equal(ephemdir_new(f->ctx, &o, &d), 0);
        assert_int_equal(ephemdir_extend(f->ctx, ephemdir_dir_path(d), HOUR), -EINVAL);
        assert_true(ephemdir_last_error(f->ctx)[0] != 0);
        assert_int_equal(ephemdir_dir_extend(d, HOUR), -EINVAL);
        assert_int_equal(ephemdir_dir_expires_at(d), 0);

        struct listing l = list_ok(f->ctx);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.items[0].expires_at, 0);
        assert_int_equal(l.items[0].cleanup, EPHEMDIR_CLEANUP_NEXT_SWEEP);
        assert_int_equal(l.items[0].status, EPHEMDIR_STATUS_UNTIL_SWEEP);
        listing_free(&l);

        /* Still a next-sweep entry: the next explicit sweep takes it. */
        assert_int_equal(ephemdir_sweep(f->ctx, 0, NULL, NULL), 0);
        assert_false(tu_exists(ephemdir_dir_path(d)));
        ephemdir_dir_free(d);
}

/* ======================================================================================
 * crashes
 * ====================================================================================== */

static void test_crash_after_register_leaves_tracked_directory(void **state) {
        struct fixture *f = *state;

        crash_at(f, "after-register", child_new, f->parent);

        assert_int_equal(count_names(f->parent), 1);
        char *names = dir_names(f->parent);
        names[strcspn(names, "\n")] = 0;
        char *path = tu_strdupf("%s/%s", f->parent, names);
        assert_has_marker(path);
        struct listing l = list_ok(f->ctx);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].path, path);
        assert_string_equal(l.items[0].lifecycle_state, "active");
        assert_int_equal(l.items[0].status, EPHEMDIR_STATUS_ACTIVE);
        listing_free(&l);
        /* And it is an ordinary entry: removable. */
        assert_int_equal(ephemdir_remove(f->ctx, path), 0);
        assert_false(tu_exists(path));
        free(path);
        free(names);
}

/* After a crash during deletion: listed as "deleting" with a staging path in
 * the same parent; the original name is gone when it was renamed away. */
static char *assert_deleting(struct fixture *f, const char *path, bool renamed) {
        struct listing l = list_ok(f->ctx);

        assert_int_equal(l.n, 1);
        const struct ephemdir_info *it = &l.items[0];
        assert_string_equal(it->path, path);
        assert_string_equal(it->lifecycle_state, "deleting");
        assert_int_equal(it->status, EPHEMDIR_STATUS_DELETING);
        assert_non_null(it->staging_path);
        char *staging = strdup(it->staging_path);
        listing_free(&l);

        char *expected_start = tu_strdupf("%s/.%s.ephemdir-deleting-", f->parent, base_name(path));
        assert_int_equal(strncmp(staging, expected_start, strlen(expected_start)), 0);
        free(expected_start);
        assert_int_equal(tu_exists(path), !renamed);
        return staging;
}

static void assert_recovered(struct fixture *f, const char *path, const char *staging) {
        struct events evs = {};

        assert_int_equal(ephemdir_sweep(f->ctx, 0, collect, &evs), 0);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_RECOVERED, path), 1);
        assert_false(tu_exists(path));
        assert_false(tu_exists(staging));
        assert_int_equal(count_names(f->parent), 0);
        assert_int_equal(count_tracked(f->ctx), 0);
        events_free(&evs);
}

static void test_crash_mid_delete_is_finished_by_next_sweep(void **state) {
        struct fixture *f = *state;
        char *path = new_path_in(f->ctx, f->parent, HOUR);

        populate(path);
        crash_at(f, "mid-delete", child_remove, path);
        char *staging = assert_deleting(f, path, true);
        /* Half deleted, at its staging path. */
        assert_true(tu_exists(staging));
        assert_true(count_names(staging) >= 1);
        /* Meanwhile, removal by target answers "being deleted". */
        assert_int_equal(ephemdir_remove(f->ctx, path), -EBUSY);
        assert_int_equal(ephemdir_keep(f->ctx, path), -EBUSY);
        assert_recovered(f, path, staging);
        free(staging);
        free(path);
}

static void test_crash_before_commit_is_committed_by_next_sweep(void **state) {
        struct fixture *f = *state;
        char *path = new_path_in(f->ctx, f->parent, HOUR);

        populate(path);
        crash_at(f, "before-commit", child_remove, path);
        char *staging = assert_deleting(f, path, true);
        /* Everything was deleted; only the commit is missing. */
        assert_false(tu_exists(staging));
        assert_int_equal(count_names(f->parent), 0);
        assert_recovered(f, path, staging);
        free(staging);
        free(path);
}

static void test_crash_after_rename_is_finished_by_next_sweep(void **state) {
        struct fixture *f = *state;
        char *path = new_path_in(f->ctx, f->parent, HOUR);

        populate(path);
        crash_at(f, "after-rename", child_remove, path);
        char *staging = assert_deleting(f, path, true);
        /* Whole, at its staging path, marker included. */
        assert_has_marker(staging);
        char *f0 = tu_strdupf("%s/f0", staging);
        assert_true(tu_exists(f0));
        free(f0);
        assert_recovered(f, path, staging);
        free(staging);
        free(path);
}

static void test_crash_after_claim_is_released_by_next_sweep(void **state) {
        struct fixture *f = *state;
        char *path = new_path_in(f->ctx, f->parent, HOUR);
        struct events evs = {};

        populate(path);
        crash_at(f, "after-claim", child_remove, path);
        char *staging = assert_deleting(f, path, false);
        assert_false(tu_exists(staging));

        /* Nothing moved yet: the claim is released and the (not due) entry
         * is active again, intact. */
        assert_int_equal(ephemdir_sweep(f->ctx, 0, collect, &evs), 0);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_RECOVERED, path), 1);
        assert_int_equal(count_events(&evs, EPHEMDIR_EVENT_REMOVED, NULL), 0);
        struct listing l = list_ok(f->ctx);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].lifecycle_state, "active");
        assert_null(l.items[0].staging_path);
        listing_free(&l);
        char *f0 = tu_strdupf("%s/f0", path);
        assert_true(tu_exists(f0));
        free(f0);
        assert_has_marker(path);
        /* And removable again. */
        assert_int_equal(ephemdir_remove(f->ctx, path), 0);
        assert_false(tu_exists(path));
        events_free(&evs);
        free(staging);
        free(path);
}

/* ======================================================================================
 * corrupt registry
 * ====================================================================================== */

/* name, type, size and mode of each entry of dir except corrupt copies; and
 * the number of corrupt copies in *ret_copies (path of the last). */
static char *data_dir_state(const char *dir, size_t *ret_copies, char **ret_copy) {
        char *names = dir_names(dir), *s = strdup(""), *save = NULL;

        *ret_copies = 0;
        for (char *n = strtok_r(names, "\n", &save); n; n = strtok_r(NULL, "\n", &save)) {
                struct stat st;
                char *p = tu_strdupf("%s/%s", dir, n);
                if (strncmp(n, "registry.db.corrupt-", 20) == 0) {
                        (*ret_copies)++;
                        if (ret_copy) {
                                free(*ret_copy);
                                *ret_copy = strdup(p);
                        }
                        free(p);
                        continue;
                }
                assert_int_equal(lstat(p, &st), 0);
                char *next = tu_strdupf("%s%s %o %lld %lld\n", s, n, (unsigned) st.st_mode, (long long) st.st_size,
                                        (long long) st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
                free(s);
                s = next;
                free(p);
        }
        free(names);
        return s;
}

/* The words are stored in every registry row: they must map back to the
 * same value, and nothing else may pass for one. */
static void test_setting_words_round_trip_and_refuse_anything_else(void **state) {
        (void) state;
        const enum ephemdir_cleanup cleanups[] = { EPHEMDIR_CLEANUP_AUTO, EPHEMDIR_CLEANUP_NEXT_SWEEP };
        const enum ephemdir_name_style styles[] = { EPHEMDIR_NAME_AUTO, EPHEMDIR_NAME_SECURE,
                                                    EPHEMDIR_NAME_CLEAN };
        enum ephemdir_cleanup c;
        enum ephemdir_name_style s;

        for (size_t i = 0; i < sizeof(cleanups) / sizeof(cleanups[0]); i++) {
                assert_int_equal(ephemdir_cleanup_from_word(ephemdir_cleanup_word(cleanups[i]), &c), 0);
                assert_int_equal(c, cleanups[i]);
        }
        for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++) {
                assert_int_equal(ephemdir_name_style_from_word(ephemdir_name_style_word(styles[i]), &s), 0);
                assert_int_equal(s, styles[i]);
        }
        assert_string_equal(ephemdir_cleanup_word(EPHEMDIR_CLEANUP_NEXT_SWEEP), "next-sweep");
        assert_string_equal(ephemdir_name_style_word(EPHEMDIR_NAME_CLEAN), "clean");

        assert_null(ephemdir_cleanup_word(EPHEMDIR_CLEANUP_DEFAULT));
        assert_null(ephemdir_name_style_word(EPHEMDIR_NAME_DEFAULT));
        assert_null(ephemdir_cleanup_word((enum ephemdir_cleanup) 3));
        assert_null(ephemdir_name_style_word((enum ephemdir_name_style) 4));

        const char *bad[] = { "", "Auto", "next_sweep", "nextsweep", "auto ", "default", "secure\n", NULL };
        for (const char **w = bad; *w; w++) {
                assert_int_equal(ephemdir_cleanup_from_word(*w, &c), -EINVAL);
                assert_int_equal(ephemdir_name_style_from_word(*w, &s), -EINVAL);
        }
        assert_int_equal(ephemdir_cleanup_from_word(NULL, &c), -EINVAL);
        assert_int_equal(ephemdir_name_style_from_word("clean", NULL), 0);
}

static void test_corrupt_registry_fails_ctx_open_and_keeps_file(void **state) {
        struct fixture *f = *state;
        char *db = tu_strdupf("%s/registry.db", f->data);
        char garbage[16384];
        size_t len, copies;

        /* Something tracked, so there is something not to touch. */
        char *path = new_path_in(f->ctx, f->parent, 60);
        ephemdir_ctx_close(f->ctx);
        f->ctx = NULL;

        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = (char) ("this is not an sqlite database; "[i % 32] ^ (i / 32 % 7));
        int fd = open(db, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, garbage, sizeof(garbage)), (ssize_t) sizeof(garbage));
        close(fd);
        /* Ages the files, so that a rewrite with identical bytes would show. */
        struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
        char *names = dir_names(f->data), *save = NULL;
        for (char *n = strtok_r(names, "\n", &save); n; n = strtok_r(NULL, "\n", &save)) {
                char *p = tu_strdupf("%s/%s", f->data, n);
                assert_int_equal(utimensat(AT_FDCWD, p, old, AT_SYMLINK_NOFOLLOW), 0);
                free(p);
        }
        free(names);
        char *before = data_dir_state(f->data, &copies, NULL);
        assert_int_equal(copies, 0);
        char *parent_before = tree_snapshot(f->parent);

        ephemdir_ctx *ctx = (ephemdir_ctx *) 0x1;
        int r = open_ctx(f, &ctx);
        assert_int_equal(r, -EUCLEAN);
        assert_ptr_equal(ctx, (ephemdir_ctx *) 0x1);
        assert_non_null(f->last_log_error);
        assert_non_null(strstr(f->last_log_error, "corrupt"));

        /* The file: same bytes. One copy: same bytes. Nothing else changed. */
        char *now = read_file_all(db, &len);
        assert_int_equal(len, sizeof(garbage));
        assert_memory_equal(now, garbage, sizeof(garbage));
        free(now);
        char *copy = NULL;
        char *after = data_dir_state(f->data, &copies, &copy);
        assert_int_equal(copies, 1);
        now = read_file_all(copy, &len);
        assert_int_equal(len, sizeof(garbage));
        assert_memory_equal(now, garbage, sizeof(garbage));
        free(now);
        assert_string_equal(after, before);
        char *parent_after = tree_snapshot(f->parent);
        assert_string_equal(parent_after, parent_before);
        assert_true(tu_exists(path));

        /* A second attempt fails the same way: never a fresh registry. */
        r = open_ctx(f, &ctx);
        assert_int_equal(r, -EUCLEAN);
        now = read_file_all(db, &len);
        assert_memory_equal(now, garbage, sizeof(garbage));
        free(now);

        free(parent_before);
        free(parent_after);
        free(copy);
        free(before);
        free(after);
        free(path);
        free(db);
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
                T(test_new_creates_private_marked_directory_and_tracks_it),
                T(test_clean_name_is_refused_in_shared_parent),
                T(test_clean_name_is_allowed_in_private_parent),
                T(test_words_and_prefix_validation),
                T(test_next_sweep_with_lifetime_is_refused),
                T(test_registration_failure_leaves_the_directory_in_place),
                T(test_scoped_handle_removes_at_scope_end),
                T(test_keep_inside_scope_is_honoured),
                T(test_keep_by_another_caller_inside_scope_is_honoured),
                T(test_stale_handle_never_acts_on_a_replacement),
                T(test_stale_handle_never_deletes_a_lookalike_at_its_path),
                T(test_recreated_directory_with_recycled_inode_number_is_left_alone),
                T(test_lazy_sweep_in_new_is_bounded),
                T(test_lazy_sweep_never_takes_next_sweep_entries),
                T(test_sweep_dry_run_changes_nothing),
                T(test_prune_forgets_only_missing_entries),
                T(test_lazy_sweep_is_not_starved_by_missing_entries),
                T(test_extend_forever_clears_expiry),
                T(test_extend_on_next_sweep_entry_is_refused),
                T(test_crash_after_register_leaves_tracked_directory),
                T(test_crash_mid_delete_is_finished_by_next_sweep),
                T(test_crash_before_commit_is_committed_by_next_sweep),
                T(test_crash_after_rename_is_finished_by_next_sweep),
                T(test_crash_after_claim_is_released_by_next_sweep),
                T(test_setting_words_round_trip_and_refuse_anything_else),
                T(test_corrupt_registry_fails_ctx_open_and_keeps_file),
#undef T
        };

        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
