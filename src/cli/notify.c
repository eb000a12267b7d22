/* SPDX-License-Identifier: MIT */
/* The sd_notify datagram protocol, written from its documentation. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

/* Fill a sockaddr_un from $NOTIFY_SOCKET: "/path" is a file-system socket,
 * "@name" an abstract one (leading NUL instead of '@', no terminator). */
static int notify_address(const char *s, struct sockaddr_un *sa, socklen_t *ret_len) {
        size_t n = strlen(s);

        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        if (s[0] != '/' && s[0] != '@')
                return -EAFNOSUPPORT;   /* e.g. "vsock:...", which we do not speak */
        /* A path needs room for its terminator; an abstract name does not. */
        if (n > sizeof(sa->sun_path) - (s[0] == '/' ? 1 : 0) || n < 2)
                return -EINVAL;
        memcpy(sa->sun_path, s, n);
        if (s[0] == '@')
                sa->sun_path[0] = '\0';
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/' ? 1 : 0));
        return 0;
}

int notify_send(const char *state) {
        const char *e = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa;
        socklen_t len;
        int r;

        if (!e || !*e)
                return 0;
        r = notify_address(e, &sa, &len);
        if (r < 0)
                return r;

        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* The manager learns our pid from the socket credentials the kernel
         * attaches (it sets SO_PASSCRED), so nothing else needs sending.
         * MSG_NOSIGNAL: a manager gone away must not kill us with SIGPIPE. */
        ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *) &sa, len);
        r = n < 0 ? -errno : 1;
        close(fd);
        return r;
}
