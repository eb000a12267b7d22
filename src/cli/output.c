/* SPDX-License-Identifier: MIT */
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "output.h"

static const struct {
        const char *emoji;
        const char *ascii;
        const char *color;
} statuses[_EPHEMDIR_STATUS_MAX] = {
        [EPHEMDIR_STATUS_ACTIVE] = { "🟢", "[ok]", "\033[32m" },
        [EPHEMDIR_STATUS_EXPIRING] = { "🟡", "[soon]", "\033[33m" },
        [EPHEMDIR_STATUS_EXPIRED] = { "🔴", "[due]", "\033[31m" },
        [EPHEMDIR_STATUS_UNTIL_RESTART] = { "🔄", "[boot]", "\033[36m" },
        [EPHEMDIR_STATUS_UNTIL_SWEEP] = { "🧹", "[swp]", "\033[36m" },
        [EPHEMDIR_STATUS_KEPT] = { "📌", "[pin]", "\033[34m" },
        [EPHEMDIR_STATUS_MISSING] = { "👻", "[miss]", "\033[2m" },
        [EPHEMDIR_STATUS_REPLACED] = { "⚠️ ", "[warn]", "\033[35m" },
        [EPHEMDIR_STATUS_LEGACY] = { "⚪", "[old]", "\033[2m" },
        [EPHEMDIR_STATUS_DELETING] = { "🗑️ ", "[del]", "\033[31m" },
        [EPHEMDIR_STATUS_RECOVERY] = { "🚧", "[rec]", "\033[35m" },
        [EPHEMDIR_STATUS_UNAVAILABLE] = { "❓", "[n/a]", "\033[2m" },
        [EPHEMDIR_STATUS_BLOCKED] = { "⛔", "[blk]", "\033[35m" },
};

static bool locale_is_utf8(void) {
        static int cached = -1;

        if (cached < 0) {
                setlocale(LC_CTYPE, "");
                const char *cs = nl_langinfo(CODESET);
                cached = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
        }
        return cached;
}

static bool term_is_dumb(void) {
        const char *t = getenv("TERM");
        return !t || strcmp(t, "dumb") == 0;
}

void style_init(struct style *st, const struct cli *cli, FILE *out) {
        const char *no_color = getenv("NO_COLOR");

        st->emoji = !cli->plain && locale_is_utf8();
        switch (cli->color) {
        case COLOR_ALWAYS:
                st->color = true;
                break;
        case COLOR_NEVER:
                st->color = false;
                break;
        case COLOR_AUTO:
                st->color = isatty(fileno(out)) && !(no_color && *no_color) && !term_is_dumb();
                break;
        }
}

const char *status_icon(enum ephemdir_status s, const struct style *st) {
        if ((unsigned) s >= _EPHEMDIR_STATUS_MAX)
                return st->emoji ? "❓" : "[?]";
        return st->emoji ? statuses[s].emoji : statuses[s].ascii;
}

const char *status_color(enum ephemdir_status s, const struct style *st) {
        if (!st->color || (unsigned) s >= _EPHEMDIR_STATUS_MAX)
                return "";
        return statuses[s].color;
}

const char *color_reset(const struct style *st) {
        return st->color ? "\033[0m" : "";
}

static void status_words(const struct ephemdir_info *i, char *buf, size_t n);

/* Status words, plus who holds a keep-while-in-use directory. */
void status_text(const struct ephemdir_info *i, char *buf, size_t n) {
        char base[96];

        status_words(i, base, sizeof(base));
        if (i->in_use_pid > 0)
                snprintf(buf, n, "%s; in use by %d (%s)", base, i->in_use_pid, i->in_use_comm);
        else if (i->in_use_pid < 0)
                snprintf(buf, n, "%s; in use: unknown", base);
        else
                snprintf(buf, n, "%s", base);
}

static void status_words(const struct ephemdir_info *i, char *buf, size_t n) {
        char t[64];

        switch (i->status) {
        case EPHEMDIR_STATUS_ACTIVE:
        case EPHEMDIR_STATUS_EXPIRING:
                format_remaining(i->remaining_seconds, t, sizeof(t));
                snprintf(buf, n, "%s left", t);
                break;
        case EPHEMDIR_STATUS_EXPIRED:
                if (i->expires_at != 0 && i->remaining_seconds <= 0) {
                        format_remaining(-i->remaining_seconds, t, sizeof(t));
                        snprintf(buf, n, "expired %s ago", t);
                } else
                        snprintf(buf, n, "due at the next sweep");
                break;
        case EPHEMDIR_STATUS_UNTIL_RESTART:
                snprintf(buf, n, "until restart");
                break;
        case EPHEMDIR_STATUS_UNTIL_SWEEP:
                snprintf(buf, n, "until the next sweep");
                break;
        case EPHEMDIR_STATUS_KEPT:
                snprintf(buf, n, "no auto-cleanup");
                break;
        case EPHEMDIR_STATUS_MISSING:
                snprintf(buf, n, "missing; still tracked");
                break;
        case EPHEMDIR_STATUS_REPLACED:
                snprintf(buf, n, "replaced; never touched");
                break;
        case EPHEMDIR_STATUS_LEGACY:
                snprintf(buf, n, "legacy; never auto-removed");
                break;
        case EPHEMDIR_STATUS_DELETING:
                snprintf(buf, n, "being deleted");
                break;
        case EPHEMDIR_STATUS_RECOVERY:
                snprintf(buf, n, "interrupted; needs recover");
                break;
        case EPHEMDIR_STATUS_BLOCKED:
                snprintf(buf, n, "blocked (mount point)");
                break;
        default:
                snprintf(buf, n, "inaccessible; still tracked");
                break;
        }
}

const char *cleanup_word(enum ephemdir_cleanup c) {
        return c == EPHEMDIR_CLEANUP_NEXT_SWEEP ? "next-sweep" : "auto";
}

const char *name_style_word(enum ephemdir_name_style s) {
        switch (s) {
        case EPHEMDIR_NAME_CLEAN:
                return "clean";
        case EPHEMDIR_NAME_AUTO:
                return "auto";
        default:
                return "secure";
        }
}

/* Paths and names are bytes, not necessarily UTF-8; JSON strings must be. */
json_t *json_bytes(const char *s) {
        if (!s)
                return json_null();
        json_t *j = json_string(s);
        if (j)
                return j;
        char *esc = format_escape(s);
        j = json_string(esc ? esc : "?");
        free(esc);
        return j;
}

/* null: not held (or not asked); "unknown"; or who holds it. */
static json_t *in_use_json(const struct ephemdir_info *i) {
        if (i->in_use_pid < 0)
                return json_string("unknown");
        if (i->in_use_pid == 0)
                return json_null();
        return json_pack("{s:i, s:o}", "pid", i->in_use_pid, "comm", json_bytes(i->in_use_comm));
}

json_t *info_to_json(const struct ephemdir_info *i) {
        json_t *tags = json_array();
        for (char **t = i->tags; t && *t; t++)
                json_array_append_new(tags, json_string(*t));

        return json_pack("{s:o, s:o, s:s, s:b, s:I, s:o, s:o, s:b, s:b, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:s, s:o}",
                "path", json_bytes(i->path),
                "name", json_bytes(i->name),
                "status", ephemdir_status_word(i->status),
                "exists", i->exists,
                "created_at", (json_int_t) i->created_at,
                "expires_at", i->expires_at ? json_integer(i->expires_at) : json_null(),
                "remaining_seconds", i->expires_at ? json_integer(i->remaining_seconds) : json_null(),
                "remove_on_restart", i->remove_on_restart,
                "keep_while_in_use", i->keep_while_in_use,
                "cleanup", cleanup_word(i->cleanup),
                "max_size_bytes", i->max_size > 0 ? json_integer(i->max_size) : json_null(),
                "tags", tags,
                "description", json_bytes(i->description),
                "origin", json_bytes(i->origin),
                "lifecycle_state", i->lifecycle_state ? i->lifecycle_state : "active",
                "original_state", i->exists ? "present" : "missing",
                "staging_state", i->staging_exists < 0 ? json_null()
                                 : json_string(i->staging_exists ? "present" : "missing"),
                "in_use", in_use_json(i),
                "name_style", name_style_word(i->name_style),
                "staging_path", json_bytes(i->staging_path));
}

int json_print(json_t *j, FILE *out) {
        if (!j)
                return -1;
        /* JSON_ALLOW_NAN is deliberately absent: strict JSON only. */
        int r = json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', out);
        return r;
}

char *printable(const char *s) {
        char *p = format_escape(s ? s : "");
        return p ? p : strdup("?");
}

char *printable_path(const char *path) {
        char *esc = printable(path);
        if (!esc)
                return NULL;
        char *t = format_tilde(esc, getenv("HOME"));
        if (!t)
                return esc;
        free(esc);
        return t;
}

bool info_has_tag(const struct ephemdir_info *i, const char *tag) {
        if (!tag)
                return true;
        for (char **t = i->tags; t && *t; t++)
                if (strcmp(*t, tag) == 0)
                        return true;
        return false;
}
