/* SPDX-License-Identifier: MIT */
/*
 * Platform guarantees: the clock and boot id honour their test hooks (read at
 * call time) and are otherwise the real ones; the data and config dirs follow
 * explicit > $EPHEMDIR_*_DIR > $XDG_*_HOME/ephemdir > ~/.local/share|.config,
 * always as normalized absolute paths (a relative value is taken against the
 * current directory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"
#include "testutil.h"
#include "util.h"

/* Every variable a test here may set; saved before and restored after. */
static const char *const env_vars[] = {
        "EPHEMDIR_TEST_CLOCK_OFFSET", "EPHEMDIR_TEST_BOOT_ID",
        "EPHEMDIR_DATA_DIR", "XDG_DATA_HOME",
        "EPHEMDIR_CONFIG_DIR", "XDG_CONFIG_HOME",
};
#define N_ENV_VARS (sizeof(env_vars) / sizeof(env_vars[0]))

struct fixture {
        char *dir;                    /* fresh, the cwd during the test */
        char *old_cwd;
        char *saved[N_ENV_VARS];      /* NULL: was unset */
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        for (size_t i = 0; i < N_ENV_VARS; i++) {
                const char *v = getenv(env_vars[i]);
                f->saved[i] = v ? strdup(v) : NULL;
                unsetenv(env_vars[i]);
        }
        f->dir = tu_mkdtemp();
        f->old_cwd = getcwd(NULL, 0);
        assert_non_null(f->old_cwd);
        assert_int_equal(chdir(f->dir), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        assert_int_equal(chdir(f->old_cwd), 0);
        for (size_t i = 0; i < N_ENV_VARS; i++) {
                if (f->saved[i])
                        setenv(env_vars[i], f->saved[i], 1);
                else
                        unsetenv(env_vars[i]);
                free(f->saved[i]);
        }
        tu_rm_rf(f->dir);
        free(f->dir);
        free(f->old_cwd);
        free(f);
        return 0;
}

/* ---- clock ------------------------------------------------------------------------ */

/* platform_now() with the given offset variable (NULL: unset), bracketed by
 * time(NULL) so a second boundary in between cannot fail the test. */
static void assert_now_offset(const char *value, int64_t expected_offset) {
        if (value)
                assert_int_equal(setenv("EPHEMDIR_TEST_CLOCK_OFFSET", value, 1), 0);
        else
                unsetenv("EPHEMDIR_TEST_CLOCK_OFFSET");
        int64_t before = (int64_t) time(NULL);
        int64_t now = platform_now();
        int64_t after = (int64_t) time(NULL);

        if (now < before + expected_offset || now > after + expected_offset)
                fail_msg("offset \"%s\": platform_now() = %lld, expected %lld..%lld", value ? value : "(unset)",
                         (long long) now, (long long) (before + expected_offset),
                         (long long) (after + expected_offset));
}

static void test_now_honours_clock_offset_at_call_time(void **state) {
        (void) state;
        assert_now_offset(NULL, 0);
        assert_now_offset("3600", 3600);
        assert_now_offset("-7200", -7200);
        assert_now_offset("31536000", 31536000);
        /* Read at every call, not cached from the first one. */
        assert_now_offset(NULL, 0);
        assert_now_offset("60", 60);
        /* Empty or malformed: no offset rather than a surprise. */
        assert_now_offset("", 0);
        assert_now_offset("1h", 0);
        assert_now_offset("12abc", 0);
}

/* ---- boot id ---------------------------------------------------------------------- */

static char *proc_boot_id(void) {
        char buf[128];
        int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return NULL;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return strdup(buf);
}

static void test_boot_id_comes_from_the_hook_when_set(void **state) {
        const char *source = NULL;
        char *id = NULL;

        (void) state;
        assert_int_equal(setenv("EPHEMDIR_TEST_BOOT_ID", "simulated-boot-7", 1), 0);
        assert_int_equal(platform_boot_id(&id, &source), 0);
        assert_string_equal(id, "simulated-boot-7");
        assert_string_equal(source, "test-hook");
        free(id);

        /* Read at call time: a change is a "restart". */
        assert_int_equal(setenv("EPHEMDIR_TEST_BOOT_ID", "simulated-boot-8", 1), 0);
        assert_int_equal(platform_boot_id(&id, NULL), 0);
        assert_string_equal(id, "simulated-boot-8");
        free(id);
}

static void test_boot_id_without_hook_is_the_kernel_boot_id(void **state) {
        const char *source = NULL;
        char *id = NULL, *proc = proc_boot_id();

        (void) state;
        if (!proc)
                skip();   /* no /proc: nothing to compare with */
        /* An empty hook is no hook. */
        assert_int_equal(setenv("EPHEMDIR_TEST_BOOT_ID", "", 1), 0);
        assert_int_equal(platform_boot_id(&id, &source), 0);
        /* libsystemd or /proc: same text, a dashed lowercase UUID. */
        assert_string_equal(id, proc);
        assert_int_equal(strlen(id), 36);
        assert_true(streq(source, "libsystemd") || streq(source, "/proc/sys/kernel/random/boot_id"));
        free(id);

        unsetenv("EPHEMDIR_TEST_BOOT_ID");
        assert_int_equal(platform_boot_id(&id, NULL), 0);
        assert_string_equal(id, proc);
        free(id);
        free(proc);
}

/* ---- data and config directories ---------------------------------------------------- */

struct dir_kind {
        const char *what;
        int (*fn)(const char *explicit_dir, char **ret, const char **ret_source);
        const char *env_var;
        const char *xdg_var;
        const char *home_rel;
};

static const struct dir_kind data_kind = {
        "data", platform_data_dir, "EPHEMDIR_DATA_DIR", "XDG_DATA_HOME", ".local/share/ephemdir",
};
static const struct dir_kind config_kind = {
        "config", platform_config_dir, "EPHEMDIR_CONFIG_DIR", "XDG_CONFIG_HOME", ".config/ephemdir",
};

static void assert_dir(const struct dir_kind *k, const char *explicit_dir, const char *expected,
                       const char *expected_source) {
        const char *source = NULL;
        char *got = NULL;
        int r = k->fn(explicit_dir, &got, &source);

        if (r < 0)
                fail_msg("%s dir: %s", k->what, strerror(-r));
        if (!streq(got, expected))
                fail_msg("%s dir: got \"%s\", expected \"%s\"", k->what, got, expected);
        assert_string_equal(source, expected_source);
        free(got);
}

/* The fallback: ~ is $HOME when absolute, else the passwd entry. */
static char *home_default(const struct dir_kind *k) {
        const char *home = getenv("HOME");

        if (!home || home[0] != '/') {
                struct passwd *pw = getpwuid(geteuid());
                home = pw ? pw->pw_dir : NULL;
        }
        if (!home)
                skip();
        /* The environments these tests run in have a plain $HOME. */
        assert_null(strstr(home, "//"));
        assert_null(strstr(home, "/."));
        return tu_strdupf("%s/%s", streq(home, "/") ? "" : home, k->home_rel);
}

static void check_precedence(const struct dir_kind *k) {
        char *def = home_default(k);

        assert_int_equal(setenv(k->env_var, "/from/env", 1), 0);
        assert_int_equal(setenv(k->xdg_var, "/from/xdg", 1), 0);
        assert_dir(k, "/from/option", "/from/option", "option");
        assert_dir(k, NULL, "/from/env", k->env_var);
        unsetenv(k->env_var);
        assert_dir(k, NULL, "/from/xdg/ephemdir", k->xdg_var);
        unsetenv(k->xdg_var);
        assert_dir(k, NULL, def, "default");

        /* An empty variable is unset; a relative XDG value is ignored (XDG
         * base directory spec), not taken against the cwd. */
        assert_int_equal(setenv(k->env_var, "", 1), 0);
        assert_int_equal(setenv(k->xdg_var, "relative/xdg", 1), 0);
        assert_dir(k, NULL, def, "default");
        assert_int_equal(setenv(k->xdg_var, "", 1), 0);
        assert_dir(k, NULL, def, "default");
        free(def);
}

static void test_data_dir_precedence(void **state) {
        (void) state;
        check_precedence(&data_kind);
}

static void test_config_dir_precedence(void **state) {
        (void) state;
        check_precedence(&config_kind);
}

static void test_data_and_config_dirs_do_not_mix(void **state) {
        (void) state;
        assert_int_equal(setenv("EPHEMDIR_DATA_DIR", "/d", 1), 0);
        assert_int_equal(setenv("XDG_DATA_HOME", "/xd", 1), 0);
        char *def = home_default(&config_kind);
        assert_dir(&config_kind, NULL, def, "default");
        free(def);
        unsetenv("EPHEMDIR_DATA_DIR");
        unsetenv("XDG_DATA_HOME");
        assert_int_equal(setenv("EPHEMDIR_CONFIG_DIR", "/c", 1), 0);
        def = home_default(&data_kind);
        assert_dir(&data_kind, NULL, def, "default");
        free(def);
}

static void check_normalized(const struct fixture *f, const struct dir_kind *k) {
        char *cwd = getcwd(NULL, 0), *expected;

        assert_non_null(cwd);
        assert_string_equal(cwd, f->dir);

        /* Relative env value: against the cwd, then normalized. */
        assert_int_equal(setenv(k->env_var, "rel/./x/../data//", 1), 0);
        expected = tu_strdupf("%s/rel/data", cwd);
        assert_dir(k, NULL, expected, k->env_var);
        free(expected);

        assert_int_equal(setenv(k->env_var, ".", 1), 0);
        assert_dir(k, NULL, cwd, k->env_var);
        assert_int_equal(setenv(k->env_var, "..", 1), 0);
        assert_dir(k, NULL, "/tmp", k->env_var);

        /* Absolute values are normalized too. */
        assert_int_equal(setenv(k->env_var, "//srv//./ephem/sub/../", 1), 0);
        assert_dir(k, NULL, "/srv/ephem", k->env_var);
        assert_int_equal(setenv(k->xdg_var, "/x//y/./", 1), 0);
        unsetenv(k->env_var);
        assert_dir(k, NULL, "/x/y/ephemdir", k->xdg_var);

        /* A relative explicit value too. */
        expected = tu_strdupf("%s/opt", cwd);
        assert_dir(k, "./a/../opt/", expected, "option");
        free(expected);

        /* And it follows the cwd of the moment. */
        assert_int_equal(mkdir("elsewhere", 0700), 0);
        assert_int_equal(chdir("elsewhere"), 0);
        assert_int_equal(setenv(k->env_var, "rel", 1), 0);
        expected = tu_strdupf("%s/elsewhere/rel", cwd);
        assert_dir(k, NULL, expected, k->env_var);
        free(expected);
        assert_int_equal(chdir(f->dir), 0);
        free(cwd);
}

static void test_relative_data_dir_is_normalized_against_cwd(void **state) {
        check_normalized(*state, &data_kind);
}

static void test_relative_config_dir_is_normalized_against_cwd(void **state) {
        check_normalized(*state, &config_kind);
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
                T(test_now_honours_clock_offset_at_call_time),
                T(test_boot_id_comes_from_the_hook_when_set),
                T(test_boot_id_without_hook_is_the_kernel_boot_id),
                T(test_data_dir_precedence),
                T(test_config_dir_precedence),
                T(test_data_and_config_dirs_do_not_mix),
                T(test_relative_data_dir_is_normalized_against_cwd),
                T(test_relative_config_dir_is_normalized_against_cwd),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
