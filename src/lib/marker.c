/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "marker.h"
#include "util.h"

/* Content is the id plus a newline; anything bigger is not our marker. */
#define MARKER_MAX_BYTES 64

static int random_bytes(void *buf, size_t n) {
        size_t done = 0;

        while (done < n) {
                ssize_t k = getrandom((char *) buf + done, n - done, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                done += (size_t) k;
        }
        return 0;
}

int marker_new_id(char ret[MARKER_ID_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";
        unsigned char raw[MARKER_ID_LEN / 2];

        int r = random_bytes(raw, sizeof(raw));
        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof(raw); i++) {
                ret[2 * i] = hex[raw[i] >> 4];
                ret[2 * i + 1] = hex[raw[i] & 0xf];
        }
        ret[MARKER_ID_LEN] = 0;
        return 0;
}

int marker_write(int dir_fd, const char *marker_id) {
        char buf[MARKER_ID_LEN + 2];
        size_t len = strlen(marker_id);

        if (len != MARKER_ID_LEN)
                return -EINVAL;
        memcpy(buf, marker_id, len);
        buf[len++] = '\n';

        _cleanup_close_ int fd = openat(dir_fd, MARKER_NAME,
                                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        ssize_t n = write(fd, buf, len);
        if (n < 0)
                return negative_errno();
        if ((size_t) n != len)
                return -EIO;
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

static bool is_lower_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

int marker_read(int dir_fd, char ret[MARKER_ID_LEN + 1]) {
        char buf[MARKER_MAX_BYTES + 1];
        struct stat st;

        /* O_NONBLOCK: a FIFO planted as the marker must not hang the sweep;
         * O_NOFOLLOW: a symlink marker could point at any file with our id. */
        _cleanup_close_ int fd = openat(dir_fd, MARKER_NAME,
                                        O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT || errno == ELOOP || errno == ENXIO ? -ESTALE
                                                                              : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_size > MARKER_MAX_BYTES)
                return -ESTALE;

        ssize_t n = pread(fd, buf, MARKER_MAX_BYTES, 0);
        if (n < 0)
                return negative_errno();
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        if (n != MARKER_ID_LEN || !is_lower_hex(buf, (size_t) n))
                return -ESTALE;
        memcpy(ret, buf, MARKER_ID_LEN);
        ret[MARKER_ID_LEN] = 0;
        return 0;
}

int marker_verify(int dir_fd, const char *marker_id) {
        char found[MARKER_ID_LEN + 1];

        if (!marker_id)
                return -ESTALE;
        int r = marker_read(dir_fd, found);
        if (r < 0)
                return r;
        return streq(found, marker_id) ? 0 : -ESTALE;
}
