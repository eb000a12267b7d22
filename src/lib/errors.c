/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "ephemdir.h"

const char *ephemdir_strerror(int err) {
        switch (-err) {
        case 0:
                return "success";
        case ENOENT:
                return "not tracked";
        case ENOTUNIQ:
                return "ambiguous name prefix";
        case EBUSY:
                return "busy (being deleted or in use)";
        case ESTALE:
                return "directory was replaced or its marker does not match";
        case EUCLEAN:
                return "registry is corrupt";
        case EPERM:
                return "refused: path failed the trust or deletion-guard checks";
        case EINVAL:
                return "invalid argument";
        case EXDEV:
                return "a mount point is in the way";
        case EOPNOTSUPP:
                return "not supported on this system";
        default:
                return strerror(err < 0 ? -err : err);
        }
}
