/* SPDX-License-Identifier: MIT */
/* The journal's native protocol, written from its documentation. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "buildconf.h"
#include "journal.h"
#include "output.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static bool parse_stream(const char *s, unsigned long long *ret_dev, unsigned long long *ret_ino) {
        char *end;

        if (!s || *s < '0' || *s > '9')
                return false;
        errno = 0;
        *ret_dev = strtoull(s, &end, 10);
        if (errno || *end != ':' || end[1] < '0' || end[1] > '9')
                return false;
        *ret_ino = strtoull(end + 1, &end, 10);
        return errno == 0 && *end == '\0';
}

bool journal_stderr_is_journal(void) {
        static int cached = -1;
        unsigned long long dev, ino;
        struct stat st;

        if (cached >= 0)
                return cached;
        /* An inherited $JOURNAL_STREAM says nothing once stderr was
         * redirected (2>file, a pipe): only the very stream counts. */
        cached = parse_stream(getenv("JOURNAL_STREAM"), &dev, &ino) &&
                 fstat(STDERR_FILENO, &st) == 0 &&
                 (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
        return cached;
}

static const char *socket_path(void) {
#if EPHEMDIR_TEST_HOOKS
        /* Tests listen on a socket of their own; release builds cannot be
         * pointed anywhere but the real journal. */
        const char *t = getenv("EPHEMDIR_TEST_JOURNAL_SOCKET");
        if (t && *t)
                return t;
#endif
        return JOURNAL_SOCKET;
}

/* A growing byte buffer that remembers an allocation failure, so a series
 * of appends needs one check at the end. */
struct entry {
        char *data;
        size_t len, cap;
        bool failed;
};

static void entry_put(struct entry *e, const void *p, size_t n) {
        if (e->failed)
                return;
        if (e->len + n > e->cap) {
                size_t cap = e->cap ? e->cap : 512;
                while (cap < e->len + n)
                        cap *= 2;
                char *d = realloc(e->data, cap);
                if (!d) {
                        e->failed = true;
                        return;
                }
                e->data = d;
                e->cap = cap;
        }
        memcpy(e->data + e->len, p, n);
        e->len += n;
}

static bool field_name_ok(const char *name) {
        if (!*name || *name == '_')
                return false;   /* leading '_' marks trusted fields journald sets itself */
        for (const char *p = name; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        return true;
}

/* NAME=value\n, or for a value containing a newline the binary form:
 * NAME\n, the length as 64-bit little endian, the bytes, \n. */
static void entry_field(struct entry *e, const char *name, const char *value) {
        size_t n = strlen(value);

        if (!field_name_ok(name)) {
                e->failed = true;
                return;
        }
        entry_put(e, name, strlen(name));
        if (!memchr(value, '\n', n)) {
                entry_put(e, "=", 1);
        } else {
                uint8_t le[8];
                for (unsigned i = 0; i < 8; i++)
                        le[i] = (uint8_t) ((uint64_t) n >> (8 * i));
                entry_put(e, "\n", 1);
                entry_put(e, le, sizeof(le));
        }
        entry_put(e, value, n);
        entry_put(e, "\n", 1);
}

static int send_datagram(const struct entry *e) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *path = socket_path();

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* Our entries are a few paths long, far below the datagram limit, so
         * the protocol's memfd fallback for huge entries is not needed; a
         * failure (EMSGSIZE included) makes the caller print plain text. */
        ssize_t n = sendto(fd, e->data, e->len, MSG_NOSIGNAL, (struct sockaddr *) &sa, sizeof(sa));
        int r = n < 0 ? -errno : 0;
        close(fd);
        return r;
}

int journal_send(int priority, const char *message, const struct journal_field *fields,
                 size_t n_fields) {
        struct entry e = { 0 };
        char prio[2] = { (char) ('0' + (priority & 7)), '\0' };

        entry_field(&e, "MESSAGE", message);
        entry_field(&e, "PRIORITY", prio);
        entry_field(&e, "SYSLOG_IDENTIFIER", "ephemdir");
        for (size_t i = 0; i < n_fields; i++)
                if (fields[i].value)
                        entry_field(&e, fields[i].name, fields[i].value);

        int r = e.failed ? -ENOMEM : send_datagram(&e);
        free(e.data);
        return r;
}

/* The event's priority, or -1 when cli's verbosity hides it (the same
 * choices as the plain text of sweep and watch). */
static int event_priority(const struct cli *cli, enum ephemdir_event_kind kind) {
        switch (kind) {
        case EPHEMDIR_EVENT_REMOVED:
        case EPHEMDIR_EVENT_WOULD_REMOVE:
        case EPHEMDIR_EVENT_RECOVERED:
                return cli->verbosity >= 0 ? LOG_NOTICE : -1;
        case EPHEMDIR_EVENT_BLOCKED:
                return cli->verbosity > 0 ? LOG_INFO : -1;
        case EPHEMDIR_EVENT_PARKED:
                return LOG_WARNING;
        default:
                return LOG_ERR;
        }
}

bool journal_log_event(const struct cli *cli, const struct ephemdir_event *ev, const char *action) {
        const char *detail = ev->detail && *ev->detail ? ev->detail : NULL;
        char errno_text[16];

        if (!journal_stderr_is_journal())
                return false;
        int priority = event_priority(cli, ev->kind);
        if (priority < 0)
                return true;

        snprintf(errno_text, sizeof(errno_text), "%d", ev->error < 0 ? -ev->error : 0);
        char *shown = printable(ev->path);
        char *message = NULL;
        if (asprintf(&message, "%s %s (%s)%s%s", action, shown ? shown : "?", ev->reason ? ev->reason : "",
                     detail ? ": " : "", detail ? detail : "") < 0)
                message = NULL;
        free(shown);
        if (!message)
                return false;

        /* The raw path and name: the journal stores bytes, and a query by
         * EPHEMDIR_PATH= must match the path exactly, escapes and all. */
        const struct journal_field fields[] = {
                { "EPHEMDIR_PATH", ev->path },
                { "EPHEMDIR_NAME", ev->name },
                { "EPHEMDIR_ACTION", action },
                { "EPHEMDIR_REASON", ev->reason },
                { "EPHEMDIR_DETAIL", detail },
                { "ERRNO", ev->error < 0 ? errno_text : NULL },
        };
        int r = journal_send(priority, message, fields, sizeof(fields) / sizeof(fields[0]));
        free(message);
        return r >= 0;
}
