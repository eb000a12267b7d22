/* SPDX-License-Identifier: MIT */
/*
 * install-service / uninstall-service for launchd: a LaunchAgent,
 * ~/Library/LaunchAgents/org.ephemdir.sweep.plist, that runs `ephemdir
 * sweep` at login and every --interval, with the data and config
 * directories of the shell that installed it pinned.  Its sweep output goes
 * to sweep.log in that data directory: private to the user, there on every
 * run, and next to the registry it describes.
 *
 * The checks, the trusted directory walk, the atomic write and the
 * fingerprint come from cmd-service.c (service.h); this file only says what
 * the property list holds and how launchctl is told.  It is plain POSIX so
 * it builds, and its tests run, everywhere; launchctl is only run by
 * default on macOS (test builds can name a stand-in).
 *
 * Every string goes into the XML escaped; one XML 1.0 cannot carry at all
 * (a control character, bytes that are not UTF-8) is refused, naming it,
 * before anything is written: launchd would not load the agent, or would
 * read a different path than the one meant.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buildconf.h"
#include "cli.h"
#include "output.h"
#include "service.h"
#include "util.h"

#define AGENT_LABEL "org.ephemdir.sweep"
#define AGENT_FILE AGENT_LABEL ".plist"
#define AGENTS_DIR "Library/LaunchAgents"   /* under the home directory */
#define AGENTS_WHAT "the LaunchAgents directory"
#define LOG_FILE "sweep.log"                /* in the pinned data directory */
#define LAUNCHCTL "/bin/launchctl"

/* The header comment must not contain "--": XML comments cannot. */
static const struct service_style plist_style = {
        .header = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                  "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                  "<!-- Written by `ephemdir install-service`; `ephemdir uninstall-service` removes it.\n"
                  "     Edit it and uninstall-service leaves it alone (the fingerprint at the end no\n"
                  "     longer matches): rerun install-service to change the interval instead. -->\n",
        /* After the root element: XML allows comments there, and launchd's
         * parser stops reading at the end of the plist element anyway. */
        .seal_open = "<!-- ephemdir-fingerprint: ",
        .seal_close = " -->",
};

/* launchd keeps StartInterval in 32 bits and ignores a larger value,
 * leaving the agent to run once at load and never again. */
const struct service_interval_limit launchd_interval_limit = {
        .max = UINT32_MAX,
        .holder = "launchd's StartInterval",
};

/* ------------------------------------------------------------------------ */
/* XML text                                                                 */

/* Length of the UTF-8 sequence at s if it encodes a character XML 1.0
 * allows, else 0 (a control character, a malformed, overlong or surrogate
 * sequence, U+FFFE, U+FFFF; the terminating NUL too). */
static size_t xml_char_len(const unsigned char *s) {
        static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
        uint32_t cp;
        size_t n;

        if (s[0] < 0x80)
                return s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' || s[0] == '\r' ? 1 : 0;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)   /* stops at the NUL too */
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < least[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp == 0xfffe || cp == 0xffff)
                return 0;
        return n;
}

/* NULL when every character of s can go into the property list, else what
 * is wrong with it. */
static const char *xml_unfit(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                size_t n = xml_char_len(p);
                if (n == 0)
                        return *p < 0x20 || *p == 0x7f ? "a control character" : "bytes that are not UTF-8 text";
                p += n;
        }
        return NULL;
}

/* Character data for <string>, s already checked by xml_unfit().  Tab, LF
 * and CR as references: a parser turns a literal CR into LF. */
static void put_xml_text(FILE *f, const char *s) {
        for (; *s; s++) {
                switch (*s) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;   /* "]]>" may not appear in text */
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&apos;", f); break;
                case '\t': fputs("&#9;", f); break;
                case '\n': fputs("&#10;", f); break;
                case '\r': fputs("&#13;", f); break;
                default: fputc(*s, f);
                }
        }
}

static void put_string(FILE *f, const char *indent, const char *s) {
        fprintf(f, "%s<string>", indent);
        put_xml_text(f, s);
        fputs("</string>\n", f);
}

/* The values that go into the agent, named for a refusal. */
struct plist_values {
        const struct service_params *p;
        const char *log;
};

/* Refuse (exit 2, naming the value) what the plist cannot carry. */
static int check_values(const struct cli *cli, const struct plist_values *v) {
        const struct {
                const char *what, *value, *fix;
        } checks[] = {
                { "the ephemdir binary path", v->p->exe, "install ephemdir elsewhere" },
                { "the data directory", v->p->data_dir, "set EPHEMDIR_DATA_DIR to another directory" },
                { "the config directory", v->p->config_dir, "set EPHEMDIR_CONFIG_DIR to another directory" },
                { "the log file", v->log, "set EPHEMDIR_DATA_DIR to another directory" },
        };

        for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
                const char *why = xml_unfit(checks[i].value);
                if (!why)
                        continue;
                _cleanup_free_ char *shown = printable(checks[i].value);
                cli_error(cli, "cannot write %s '%s' into a LaunchAgent: it holds %s, which a property list "
                               "(XML 1.0) cannot carry; %s", checks[i].what, shown, why, checks[i].fix);
                return EXIT_USAGE;
        }
        return EXIT_OK;
}

/* The agent: what the systemd service does (ProgramArguments, pinned
 * environment, working directory, umask, niceness), on a StartInterval.
 * launchd starts agents with its own minimal environment, not the login
 * shell's, so no env -i is needed to keep the shell's variables out. */
static int plist_text(const struct plist_values *v, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f = service_open_text(&plist_style, &buf, &len);

        if (!f)
                return -ENOMEM;
        fputs("<plist version=\"1.0\">\n"
              "<dict>\n"
              "\t<key>Label</key>\n"
              "\t<string>" AGENT_LABEL "</string>\n"
              "\t<key>ProgramArguments</key>\n"
              "\t<array>\n", f);
        put_string(f, "\t\t", v->p->exe);
        fputs("\t\t<string>sweep</string>\n"
              "\t</array>\n"
              "\t<key>EnvironmentVariables</key>\n"
              "\t<dict>\n"
              "\t\t<key>EPHEMDIR_DATA_DIR</key>\n", f);
        put_string(f, "\t\t", v->p->data_dir);
        fputs("\t\t<key>EPHEMDIR_CONFIG_DIR</key>\n", f);
        put_string(f, "\t\t", v->p->config_dir);
        fputs("\t</dict>\n"
              "\t<key>WorkingDirectory</key>\n"
              "\t<string>/</string>\n", f);
        fprintf(f, "\t<key>StartInterval</key>\n"
                "\t<integer>%" PRId64 "</integer>\n", v->p->interval);
        fputs("\t<key>RunAtLoad</key>\n"
              "\t<true/>\n"
              "\t<key>StandardOutPath</key>\n", f);
        put_string(f, "\t", v->log);
        fputs("\t<key>StandardErrorPath</key>\n", f);
        put_string(f, "\t", v->log);
        /* Housekeeping: stay out of the user's way.  Nothing limits which
         * paths it reaches: tracked directories may be anywhere. */
        fputs("\t<key>ProcessType</key>\n"
              "\t<string>Background</string>\n"
              "\t<key>LowPriorityIO</key>\n"
              "\t<true/>\n"
              "\t<key>Nice</key>\n"
              "\t<integer>19</integer>\n"
              "\t<!-- 0077: property lists have no octal -->\n"
              "\t<key>Umask</key>\n"
              "\t<integer>63</integer>\n"
              "</dict>\n"
              "</plist>\n", f);
        return service_seal(&plist_style, f, &buf, &len, ret);
}

/* ------------------------------------------------------------------------ */
/* launchctl                                                                */

/* The program to tell launchd, or NULL where there is none to run: macOS
 * has it at a fixed path; test builds may name a stand-in anywhere. */
static const char *launchctl_path(void) {
#if EPHEMDIR_TEST_HOOKS
        const char *t = getenv("EPHEMDIR_TEST_LAUNCHCTL");
        if (t && t[0] == '/')
                return t;
#endif
#ifdef __APPLE__
        return LAUNCHCTL;
#else
        return NULL;
#endif
}

/* Run launchctl with args (NULL-terminated, without argv[0]) and wait.
 * It gets none of our environment (a DYLD_* or LD_* set here has no
 * business in it) and no stdin; its output goes to stderr, as stdout is
 * data, or nowhere when quiet.  Returns its wait status, or -errno when it
 * could not be started. */
static int launchctl(const char *path, bool quiet, char *const *args) {
        static char path_env[] = "PATH=/usr/bin:/bin:/usr/sbin:/sbin";
        char *envp[] = { path_env, NULL };
        char *argv[8] = { (char *) "launchctl" };
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int r, status;

        for (size_t i = 0; args[i] && i + 2 < ELEMENTSOF(argv); i++)
                argv[i + 1] = args[i];
        if ((r = posix_spawn_file_actions_init(&fa)) != 0)
                return -r;
        r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0 && quiet)
                r = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0 && quiet)
                r = posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
        else if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn(&pid, path, &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return status;
}

static bool exited_ok(int status) {
        return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* "exited 5", "killed by signal 9", or why it did not start. */
static void describe_status(int status, char *buf, size_t size) {
        if (status < 0)
                snprintf(buf, size, "could not be run: %s", strerror(-status));
        else if (WIFEXITED(status))
                snprintf(buf, size, "exited %d", WEXITSTATUS(status));
        else
                snprintf(buf, size, "was killed by signal %d", WTERMSIG(status));
}

/* The launchd domain and service names of this user's agent. */
struct agent {
        const char *launchctl;   /* NULL: not to be run here */
        char domain[32];         /* gui/<uid> */
        char target[64];         /* gui/<uid>/org.ephemdir.sweep */
        char *plist;             /* its absolute path */
};

static void agent_done(struct agent *a) {
        free(a->plist);
}

/* `launchctl print` of our job, quietly: exits 0 when launchd has it
 * loaded.  Its wait status, or -errno. */
static int agent_print(const struct agent *a) {
        char *args[] = { (char *) "print", (char *) a->target, NULL };
        return launchctl(a->launchctl, true, args);
}

static bool agent_loaded(const struct agent *a) {
        return exited_ok(agent_print(a));
}

/* s as one word for a POSIX shell, and escaped for the terminal. */
static char *shell_word(const char *s) {
        _cleanup_free_ char *quoted = NULL;
        size_t len = 0;

        if (s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+,:@") ==
                            strlen(s))
                return printable(s);
        FILE *f = open_memstream(&quoted, &len);
        if (!f)
                return NULL;
        fputc('\'', f);
        for (; *s; s++) {
                if (*s == '\'')
                        fputs("'\\''", f);   /* close, a quoted quote, reopen */
                else
                        fputc(*s, f);
        }
        fputc('\'', f);
        if (fclose(f) != 0)
                return NULL;
        return printable(quoted);
}

/* What the user runs to load the agent: after booting out the old job when
 * one may be loaded (bootstrap refuses a label that is). */
static char *load_command(const struct agent *a, bool replacing) {
        _cleanup_free_ char *word = shell_word(a->plist);
        char *cmd = NULL;

        if (!word || asprintf(&cmd, "%s%s%slaunchctl bootstrap %s %s", replacing ? "launchctl bootout " : "",
                              replacing ? a->target : "", replacing ? "; " : "", a->domain, word) < 0)
                return NULL;
        return cmd;
}

/* Tell launchd: boot out the job it has under our label (an older
 * interval, or a file removed by hand), then bootstrap the new file. */
static int load_agent(const struct cli *cli, const struct agent *a, bool replacing) {
        bool loaded = a->launchctl && agent_loaded(a);
        _cleanup_free_ char *cmd = load_command(a, replacing || loaded);
        char *bootout[] = { (char *) "bootout", (char *) a->target, NULL };
        char *bootstrap[] = { (char *) "bootstrap", (char *) a->domain, a->plist, NULL };
        char why[64];

        if (!a->launchctl) {
                cli_error(cli, "launchd is not available here; to load the agent, run: %s", cmd ? cmd : "?");
                return EXIT_OK;
        }
        int status = loaded ? launchctl(a->launchctl, false, bootout) : 0;   /* 0: "exited 0" */
        if (exited_ok(status))
                status = launchctl(a->launchctl, false, bootstrap);
        if (exited_ok(status)) {
                service_note(cli, "loaded %s into launchd (%s)", AGENT_LABEL, a->domain);
                return EXIT_OK;
        }
        describe_status(status, why, sizeof(why));
        cli_error(cli, "launchctl %s; the agent is written, to load it run: %s", why, cmd ? cmd : "?");
        /* No launchctl to run at all: like an unreachable systemd manager,
         * the user can finish; launchctl refusing is a failure. */
        return status < 0 ? EXIT_OK : EXIT_FAIL;
}

/* Boot the job out before its file goes: launchd keeps a loaded job
 * running after its file is removed. */
static void unload_agent(const struct cli *cli, const struct agent *a) {
        char *bootout[] = { (char *) "bootout", (char *) a->target, NULL };
        char why[64];

        if (!a->launchctl) {
                cli_error(cli, "launchd is not available here; if the agent is loaded, finish with: "
                               "launchctl bootout %s", a->target);
                return;
        }
        if (!agent_loaded(a))
                return;
        int status = launchctl(a->launchctl, false, bootout);
        if (exited_ok(status))
                return;
        describe_status(status, why, sizeof(why));
        cli_warn(cli, "launchctl bootout %s %s; to stop the job, run: launchctl bootout %s", a->target, why,
                 a->target);
}

/* ------------------------------------------------------------------------ */
/* install / uninstall                                                      */

/* Where the agent goes and how launchd names it; -errno when the home
 * directory is unknown. */
static int agent_locate(struct agent *a, char **ret_dir) {
        _cleanup_free_ char *home = NULL, *dir = NULL;
        unsigned uid = (unsigned) geteuid();

        int r = service_home(&home);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s/" AGENTS_DIR, home) < 0 || asprintf(&a->plist, "%s/" AGENT_FILE, dir) < 0) {
                a->plist = NULL;
                return -ENOMEM;
        }
        a->launchctl = launchctl_path();
        snprintf(a->domain, sizeof(a->domain), "gui/%u", uid);
        snprintf(a->target, sizeof(a->target), "gui/%u/" AGENT_LABEL, uid);
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

static int agent_init(const struct cli *cli, struct agent *a, char **ret_dir) {
        int r = agent_locate(a, ret_dir);

        if (r < 0) {
                cli_error(cli, "cannot tell where %s is: %s", AGENTS_WHAT, strerror(-r));
                return EXIT_FAIL;
        }
        return EXIT_OK;
}

int launchd_install(const struct cli *cli, const struct service_params *p, bool enable) {
        _cleanup_(agent_done) struct agent a = { 0 };
        _cleanup_free_ char *log = NULL, *text = NULL, *dir = NULL, *cmd = NULL;
        _cleanup_close_ int dir_fd = -1;
        int r;

        if (asprintf(&log, "%s/" LOG_FILE, p->data_dir) < 0) {
                cli_error(cli, "%s", strerror(ENOMEM));
                return EXIT_FAIL;
        }
        struct plist_values v = { .p = p, .log = log };
        if ((r = check_values(cli, &v)) != EXIT_OK)
                return r;
        if (plist_text(&v, &text) < 0) {
                cli_error(cli, "%s", strerror(ENOMEM));
                return EXIT_FAIL;
        }
        if ((r = agent_init(cli, &a, &dir)) != EXIT_OK)
                return r;
        if ((r = service_open_dir(cli, AGENTS_WHAT, dir, true, geteuid(), &dir_fd)) != 0)
                return r;

        /* An agent of ours there before may be loaded, with the old interval. */
        bool replacing = service_file_state(&plist_style, dir_fd, AGENT_FILE) == SERVICE_FILE_OURS;
        const char *const names[] = { AGENT_FILE }, *const texts[] = { text };
        r = service_write_files(cli, &plist_style, dir_fd, dir, names, texts, ELEMENTSOF(names));
        if (r != EXIT_OK)
                return r;
        if (enable)
                return load_agent(cli, &a, replacing);
        cmd = load_command(&a, replacing);
        service_note(cli, "file written; to load the agent, run: %s", cmd ? cmd : "?");
        return EXIT_OK;
}

int launchd_uninstall(const struct cli *cli) {
        const char *const names[] = { AGENT_FILE };
        enum service_file state[ELEMENTSOF(names)] = { SERVICE_FILE_ABSENT };
        _cleanup_(agent_done) struct agent a = { 0 };
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dir_fd = -1;

        int r = agent_init(cli, &a, &dir);
        if (r != EXIT_OK)
                return r;
        r = service_find_installed(cli, &plist_style, AGENTS_WHAT, dir, names, ELEMENTSOF(names), state, &dir_fd);
        if (r >= 0)
                return r;
        if (state[0] == SERVICE_FILE_OURS)
                unload_agent(cli, &a);
        return service_remove_files(cli, dir_fd, dir, names, state, ELEMENTSOF(names));
}

/* ------------------------------------------------------------------------ */
/* doctor                                                                   */

/* Whether the agent file is there and ours, by the fingerprint
 * uninstall-service trusts.  A directory the trusted walk refuses is not
 * read: report what is wrong with it instead. */
static void report_file(struct launchd_report *rep, const char *dir) {
        _cleanup_close_ int fd = -1;
        int r = service_peek_dir(dir, geteuid(), &fd, &rep->file_why);

        if (r == -ENOENT)
                rep->file = SERVICE_FILE_ABSENT;
        else if (r < 0)
                rep->file_error = r;
        else
                rep->file = service_file_state(&plist_style, fd, AGENT_FILE);
}

/* Asked whatever the file's state: a job stays loaded after its file is
 * removed by hand. */
static void report_loaded(struct launchd_report *rep, const struct agent *a) {
        if (!a->launchctl) {
                rep->loaded = AGENT_LOADED_UNKNOWN;
                return;
        }
        int status = agent_print(a);
        if (status >= 0 && WIFEXITED(status)) {
                rep->loaded = WEXITSTATUS(status) == 0 ? AGENT_LOADED_YES : AGENT_LOADED_NO;
                return;
        }
        rep->loaded = AGENT_LOADED_FAILED;
        describe_status(status, rep->loaded_why, sizeof(rep->loaded_why));
}

void launchd_report(struct launchd_report *ret) {
        _cleanup_(agent_done) struct agent a = { 0 };
        _cleanup_free_ char *dir = NULL;

        *ret = (struct launchd_report) { .file = SERVICE_FILE_ABSENT, .loaded = AGENT_LOADED_UNKNOWN };
        int r = agent_locate(&a, &dir);
        if (r < 0) {
                ret->file_error = r;
                return;
        }
        snprintf(ret->target, sizeof(ret->target), "%s", a.target);
        report_file(ret, dir);
        report_loaded(ret, &a);
        ret->plist = TAKE_PTR(a.plist);
}

void launchd_report_done(struct launchd_report *r) {
        free(r->plist);
        free(r->file_why);
}
