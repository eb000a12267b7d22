/* SPDX-License-Identifier: MIT */
/*
 * The words for the cleanup and name-style settings: one table each, used
 * by the registry (where they are stored, so they never change), the CLI's
 * options and output, and library users.  The YAML schemas keep libcyaml
 * tables of their own (config.c, rules.c): those also decide which words a
 * file may use.
 */
#include <errno.h>
#include <string.h>

#include "ephemdir.h"
#include "util.h"

static const char *const cleanup_words[] = {
        [EPHEMDIR_CLEANUP_AUTO] = "auto",
        [EPHEMDIR_CLEANUP_NEXT_SWEEP] = "next-sweep",
};

static const char *const name_style_words[] = {
        [EPHEMDIR_NAME_AUTO] = "auto",
        [EPHEMDIR_NAME_SECURE] = "secure",
        [EPHEMDIR_NAME_CLEAN] = "clean",
};

/* DEFAULT (0) has no word: it is a request for the default, never a value
 * that is shown or stored. */
static const char *word_of(const char *const *words, size_t n, unsigned v) {
        return v < n ? words[v] : NULL;
}

static int value_of(const char *const *words, size_t n, const char *w, unsigned *ret) {
        for (unsigned v = 0; w && v < n; v++)
                if (words[v] && streq(words[v], w)) {
                        *ret = v;
                        return 0;
                }
        return -EINVAL;
}

const char *ephemdir_cleanup_word(enum ephemdir_cleanup c) {
        return word_of(cleanup_words, ELEMENTSOF(cleanup_words), c);
}

const char *ephemdir_name_style_word(enum ephemdir_name_style s) {
        return word_of(name_style_words, ELEMENTSOF(name_style_words), s);
}

int ephemdir_cleanup_from_word(const char *w, enum ephemdir_cleanup *ret) {
        unsigned v;
        int r = value_of(cleanup_words, ELEMENTSOF(cleanup_words), w, &v);

        if (r == 0 && ret)
                *ret = (enum ephemdir_cleanup) v;
        return r;
}

int ephemdir_name_style_from_word(const char *w, enum ephemdir_name_style *ret) {
        unsigned v;
        int r = value_of(name_style_words, ELEMENTSOF(name_style_words), w, &v);

        if (r == 0 && ret)
                *ret = (enum ephemdir_name_style) v;
        return r;
}
