/* SPDX-License-Identifier: MIT */
/* libFuzzer target for ephemdir_parse_duration(): see meson.build here. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ephemdir.h"

/* Longer inputs only repeat what short ones already exercise. */
#define MAX_INPUT 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char buf[MAX_INPUT + 1];
        int64_t v = INT64_MIN;
        int r;

        if (size > MAX_INPUT)
                return 0;
        memcpy(buf, data, size);
        buf[size] = '\0';

        r = ephemdir_parse_duration(buf, &v);
        if (r == 0) {
                if (v <= 0)
                        abort();
        } else if ((r != -EINVAL && r != -ERANGE) || v != INT64_MIN)
                abort();    /* unexpected error, or output written on failure */

        /* The output pointer is optional and must not change the verdict. */
        if (ephemdir_parse_duration(buf, NULL) != r)
                abort();
        return 0;
}
