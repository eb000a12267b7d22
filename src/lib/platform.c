/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buildconf.h"

#include "fsutil.h"
#include "platform.h"
#include "util.h"

#if EPHEMDIR_TEST_HOOKS
static int64_t test_clock_offset(void) {
        const char *s = getenv("EPHEMDIR_TEST_CLOCK_OFFSET");
        char *end;

        if (!s || !*s)
                return 0;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || *end)
                return 0;
        return v;
}
#endif

int64_t platform_now(void) {
        int64_t now = (int64_t) time(NULL);
#if EPHEMDIR_TEST_HOOKS
        now += test_clock_offset();
#endif
        return now;
}

static int read_proc_boot_id(char **ret) {
        char buf[64];
        _cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return n < 0 ? negative_errno() : -EIO;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        if (!*buf)
                return -EIO;
        char *s = strdup(buf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int platform_boot_id(char **ret, const char **ret_source) {
        char *s;

#if EPHEMDIR_TEST_HOOKS
        /* Compared as an opaque string: tests simulate a restart by changing it. */
        const char *t = getenv("EPHEMDIR_TEST_BOOT_ID");
        if (t && *t) {
                s = strdup(t);
                if (!s)
                        return -ENOMEM;
                *ret = s;
                if (ret_source)
                        *ret_source = "test-hook";
                return 0;
        }
#endif
        /* The kernel's own file, the same value sd_id128_get_boot() reads:
         * linking libsystemd for it would cost every command ~4 ms of
         * dynamic loading (libgcrypt, lz4, zstd, ...). */
        int r = read_proc_boot_id(&s);
        if (r < 0)
                return r;
        *ret = s;
        if (ret_source)
                *ret_source = "/proc/sys/kernel/random/boot_id";
        return 0;
}

const char *platform_home(void) {
        static char *home;

        if (home)
                return home;
        const char *h = getenv("HOME");
        if (!h || h[0] != '/') {
                struct passwd *pw = getpwuid(geteuid());
                h = pw ? pw->pw_dir : NULL;
        }
        if (!h || h[0] != '/')
                return NULL;
        if (path_normalize(h, NULL, &home) < 0)
                return NULL;
        return home;
}

/* explicit > $ENV_VAR > $XDG_VAR/ephemdir > ~/fallback/ephemdir */
static int pick_dir(const char *explicit_dir, const char *env_var, const char *xdg_var,
                    const char *home_fallback, char **ret, const char **ret_source) {
        _cleanup_free_ char *cwd = NULL, *joined = NULL;
        const char *value, *source;
        const char *e = getenv(env_var), *x = getenv(xdg_var);

        if (explicit_dir) {
                value = explicit_dir;
                source = "option";
        } else if (e && *e) {
                value = e;
                source = env_var;
        } else if (x && x[0] == '/') {
                if (asprintf(&joined, "%s/ephemdir", x) < 0)
                        return -ENOMEM;
                value = joined;
                source = xdg_var;
        } else {
                const char *home = platform_home();
                if (!home)
                        return -ENOENT;
                if (asprintf(&joined, "%s/%s/ephemdir", home, home_fallback) < 0)
                        return -ENOMEM;
                value = joined;
                source = "default";
        }
        if (value[0] != '/') {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return negative_errno();
        }
        int r = path_normalize(value, cwd, ret);
        if (r < 0)
                return r;
        if (ret_source)
                *ret_source = source;
        return 0;
}

int platform_data_dir(const char *explicit_dir, char **ret, const char **ret_source) {
        return pick_dir(explicit_dir, "EPHEMDIR_DATA_DIR", "XDG_DATA_HOME", ".local/share",
                        ret, ret_source);
}

int platform_config_dir(const char *explicit_dir, char **ret, const char **ret_source) {
        return pick_dir(explicit_dir, "EPHEMDIR_CONFIG_DIR", "XDG_CONFIG_HOME", ".config",
                        ret, ret_source);
}
