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
static void write_in_use(struct jsonw *w, const struct ephemdir_info *i) {
        if (i->in_use_pid < 0) {
                jsonw_string(w, "unknown");
                return;
        }
        if (i->in_use_pid == 0) {
                jsonw_null(w);
                return;
        }
        jsonw_open(w, '{');
        jsonw_key(w, "pid");
        jsonw_int(w, i->in_use_pid);
        jsonw_key(w, "comm");
        jsonw_string(w, i->in_use_comm);
        jsonw_close(w, '}');
}

static void write_int_or_null(struct jsonw *w, bool present, int64_t v) {
        if (present)
                jsonw_int(w, v);
        else
                jsonw_null(w);
}

void info_write_json(struct jsonw *w, const struct ephemdir_info *i) {
        jsonw_key(w, "path");
        jsonw_string(w, i->path);
        jsonw_key(w, "name");
        jsonw_string(w, i->name);
        jsonw_key(w, "status");
        jsonw_string(w, ephemdir_status_word(i->status));
        jsonw_key(w, "exists");
        jsonw_bool(w, i->exists);
        jsonw_key(w, "created_at");
        jsonw_int(w, i->created_at);
        jsonw_key(w, "expires_at");
        write_int_or_null(w, i->expires_at != 0, i->expires_at);
        jsonw_key(w, "remaining_seconds");
        write_int_or_null(w, i->expires_at != 0, i->remaining_seconds);
        jsonw_key(w, "remove_on_restart");
        jsonw_bool(w, i->remove_on_restart);
        jsonw_key(w, "keep_while_in_use");
        jsonw_bool(w, i->keep_while_in_use);
        jsonw_key(w, "cleanup");
        jsonw_string(w, ephemdir_cleanup_word(i->cleanup));
        jsonw_key(w, "max_size_bytes");
        write_int_or_null(w, i->max_size > 0, i->max_size);
        jsonw_key(w, "tags");
        jsonw_open(w, '[');
        for (char **t = i->tags; t && *t; t++)
                jsonw_string(w, *t);
        jsonw_close(w, ']');
        jsonw_key(w, "description");
        jsonw_string(w, i->description);
        jsonw_key(w, "origin");
        jsonw_string(w, i->origin);
        jsonw_key(w, "lifecycle_state");
        jsonw_string(w, i->lifecycle_state ? i->lifecycle_state : "active");
        jsonw_key(w, "original_state");
        jsonw_string(w, i->exists ? "present" : "missing");
        jsonw_key(w, "staging_state");
        jsonw_string(w, i->staging_exists < 0 ? NULL : i->staging_exists ? "present" : "missing");
        jsonw_key(w, "in_use");
        write_in_use(w, i);
        jsonw_key(w, "name_style");
        jsonw_string(w, ephemdir_name_style_word(i->name_style));
        jsonw_key(w, "staging_path");
        jsonw_string(w, i->staging_path);
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
