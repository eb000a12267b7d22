/* SPDX-License-Identifier: MIT */
/*
 * The registry: registry.db (SQLite, WAL) in the data directory.
 *
 * Safety rules this file keeps:
 *  - the database file is opened by us first (O_NOFOLLOW, owner checked) and
 *    SQLite's own open of the name is compared against it, so a swapped or
 *    symlinked registry.db is refused;
 *  - every row read is validated; a malformed row, like SQLITE_CORRUPT or
 *    SQLITE_NOTADB, poisons the handle: the bytes are copied aside, the file
 *    is left as it is, nothing else is done with this handle, and we never
 *    start a fresh registry over a broken one;
 *  - every write is one statement or one BEGIN IMMEDIATE transaction, and the
 *    state changes that race with other processes are compare-and-swap on
 *    (state, version) checked through sqlite3_changes().
 *
 * A handle is not thread-safe (SQLITE_OPEN_NOMUTEX): one thread at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "util.h"

#define DB_NAME "registry.db"
#define WAL_NAME "registry.db-wal"
#define CORRUPT_PREFIX "registry.db.corrupt-"
#define BUSY_TIMEOUT_MS 10000
#define MMAP_SIZE "67108864"  /* 64 MiB: a registry of 100,000 entries is about 56 MiB */
#define MARKER_HEX_LEN 32
/* How many "-N" suffixes to try when two corrupt copies share a second. */
#define MAX_COPY_SUFFIX 1000

struct registry {
        sqlite3 *db;
        int dir_fd;          /* our own dup of the verified data directory */
        int db_fd;           /* registry.db as checked at open; corrupt copies read it */
        char *db_path;
        char *error;
        bool poisoned;       /* corruption seen: this handle refuses everything */
};

/* ---- schema and migrations ------------------------------------------------ */

/* migrations[v] takes a database from user_version v to v + 1.  A release
 * that changes the schema appends a step; existing steps never change. */
static const char *const migrations[] = {
        /* 0 -> 1: initial schema. */
        "CREATE TABLE dirs ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"   /* ids are never reused */
        "  path TEXT NOT NULL UNIQUE,"
        "  name TEXT NOT NULL,"
        "  parent TEXT NOT NULL,"
        "  marker_id TEXT,"                         /* NULL: legacy entry */
        "  dev INTEGER NOT NULL,"
        "  ino INTEGER NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  expires_at INTEGER,"                     /* NULL: no time limit */
        "  boot_id TEXT NOT NULL,"
        "  remove_on_restart INTEGER NOT NULL,"
        "  keep_while_in_use INTEGER NOT NULL,"
        "  cleanup TEXT NOT NULL,"                  /* auto | next-sweep */
        "  max_size INTEGER,"                       /* NULL: no size limit */
        "  name_style TEXT NOT NULL,"               /* secure | clean */
        "  description TEXT,"
        "  origin TEXT NOT NULL,"
        "  state TEXT NOT NULL,"                    /* active | deleting | recovery */
        "  claim_id TEXT,"
        "  staging_path TEXT,"
        "  version INTEGER NOT NULL,"
        "  birth_ns INTEGER"                        /* statx btime; NULL: unknown */
        ");"
        "CREATE TABLE dir_tags ("
        "  dir_id INTEGER NOT NULL REFERENCES dirs(id) ON DELETE CASCADE,"
        "  tag TEXT NOT NULL,"
        "  PRIMARY KEY (dir_id, tag)"
        ");"
        "CREATE INDEX dir_tags_by_tag ON dir_tags(tag);"
        "CREATE TABLE stats ("
        "  key TEXT PRIMARY KEY,"
        "  value INTEGER NOT NULL"
        ");"
        /* Name prefix resolution: a range scan name >= p AND name < p'. */
        "CREATE INDEX dirs_by_name ON dirs(name);"
        /* Due by lifetime: state = 'active' AND expires_at <= now. */
        "CREATE INDEX dirs_by_expiry ON dirs(state, expires_at);"
        /* Due by restart: boot_id < b OR boot_id > b, two ranges. */
        "CREATE INDEX dirs_by_restart ON dirs(state, remove_on_restart, boot_id);"
        "CREATE INDEX dirs_by_cleanup ON dirs(state, cleanup);"
        "CREATE INDEX dirs_by_max_size ON dirs(state, max_size);"
        "CREATE INDEX dirs_by_parent ON dirs(parent);"
        /* "last" and per-state listings, oldest or newest first. */
        "CREATE INDEX dirs_by_created ON dirs(state, created_at);"
        /* list: every entry oldest first, without a temporary sort. */
        "CREATE INDEX dirs_by_age ON dirs(created_at, id);",
};

#define SCHEMA_VERSION ((int) ELEMENTSOF(migrations))

/* Column order of every entry SELECT; the enum below must match it. */
#define ENTRY_COLUMNS                                                          \
        "id, path, name, parent, marker_id, dev, ino, created_at, expires_at, " \
        "boot_id, remove_on_restart, keep_while_in_use, cleanup, max_size, "    \
        "name_style, description, origin, state, claim_id, staging_path, version, birth_ns"

enum {
        COL_ID,
        COL_PATH,
        COL_NAME,
        COL_PARENT,
        COL_MARKER_ID,
        COL_DEV,
        COL_INO,
        COL_CREATED_AT,
        COL_EXPIRES_AT,
        COL_BOOT_ID,
        COL_REMOVE_ON_RESTART,
        COL_KEEP_WHILE_IN_USE,
        COL_CLEANUP,
        COL_MAX_SIZE,
        COL_NAME_STYLE,
        COL_DESCRIPTION,
        COL_ORIGIN,
        COL_STATE,
        COL_CLAIM_ID,
        COL_STAGING_PATH,
        COL_VERSION,
        COL_BIRTH_NS,
};

/* ---- words ------------------------------------------------------------------ */

static const char *const state_words[] = {
        [ENTRY_ACTIVE] = "active",
        [ENTRY_DELETING] = "deleting",
        [ENTRY_RECOVERY] = "recovery",
};

const char *entry_state_word(enum entry_state s) {
        if ((size_t) s >= ELEMENTSOF(state_words))
                return NULL;
        return state_words[s];
}

static int state_from_word(const char *w, enum entry_state *ret) {
        for (size_t i = 0; i < ELEMENTSOF(state_words); i++)
                if (streq(w, state_words[i])) {
                        *ret = (enum entry_state) i;
                        return 0;
                }
        return -EINVAL;
}

/* What a row may hold: the settings as resolved at creation, never a
 * request for a default (DEFAULT) or for a choice still to make (name style
 * AUTO). */
static bool stored_cleanup_ok(enum ephemdir_cleanup c) {
        return c == EPHEMDIR_CLEANUP_AUTO || c == EPHEMDIR_CLEANUP_NEXT_SWEEP;
}

static bool stored_name_style_ok(enum ephemdir_name_style s) {
        return s == EPHEMDIR_NAME_SECURE || s == EPHEMDIR_NAME_CLEAN;
}

/* ---- entries ---------------------------------------------------------------- */

static void strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

static size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

static int strv_copy(char *const *src, char ***ret) {
        size_t n = strv_length(src);
        char **v;

        if (!src) {
                *ret = NULL;
                return 0;
        }
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                v[i] = strdup(src[i]);
                if (!v[i]) {
                        strv_free(v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        return 0;
}

void entry_done(struct entry *e) {
        if (!e)
                return;
        free(e->path);
        free(e->name);
        free(e->parent);
        free(e->marker_id);
        free(e->boot_id);
        strv_free(e->tags);
        free(e->description);
        free(e->origin);
        free(e->claim_id);
        free(e->staging_path);
        *e = (struct entry) {};
}

void entry_free_array(struct entry *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                entry_done(&v[i]);
        free(v);
}

/* strdup that keeps NULL as NULL; false only when out of memory. */
static bool dup_nullable(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return !s || *ret;
}

int entry_copy(const struct entry *src, struct entry *ret) {
        _cleanup_(entry_done) struct entry c = *src;

        /* Scalars came with the struct copy; now replace every pointer with
         * an owned duplicate (NULL first, so cleanup never frees src's). */
        c.path = c.name = c.parent = c.marker_id = c.boot_id = NULL;
        c.description = c.origin = c.claim_id = c.staging_path = NULL;
        c.tags = NULL;

        if (!dup_nullable(src->path, &c.path) ||
            !dup_nullable(src->name, &c.name) ||
            !dup_nullable(src->parent, &c.parent) ||
            !dup_nullable(src->marker_id, &c.marker_id) ||
            !dup_nullable(src->boot_id, &c.boot_id) ||
            !dup_nullable(src->description, &c.description) ||
            !dup_nullable(src->origin, &c.origin) ||
            !dup_nullable(src->claim_id, &c.claim_id) ||
            !dup_nullable(src->staging_path, &c.staging_path))
                return -ENOMEM;
        if (strv_copy(src->tags, &c.tags) < 0)
                return -ENOMEM;

        *ret = c;
        c = (struct entry) {};
        return 0;
}

/* A growable array of entries that frees what it holds on scope exit. */
struct entry_vec {
        struct entry *v;
        size_t n;
        size_t cap;
};

static void entry_vec_done(struct entry_vec *vec) {
        entry_free_array(vec->v, vec->n);
        *vec = (struct entry_vec) {};
}

/* Moves *e into the vector (e is left zeroed). */
static int entry_vec_push(struct entry_vec *vec, struct entry *e) {
        if (vec->n == vec->cap) {
                size_t cap = vec->cap ? vec->cap * 2 : 16;
                struct entry *v = reallocarray(vec->v, cap, sizeof(struct entry));
                if (!v)
                        return -ENOMEM;
                vec->v = v;
                vec->cap = cap;
        }
        vec->v[vec->n++] = *e;
        *e = (struct entry) {};
        return 0;
}

/* ---- validation ----------------------------------------------------------------
 * The same rules guard what we write and what we read back: a row that breaks
 * them was not written by us and must not drive a deletion. */

/* Absolute, no empty, "." or ".." component, no trailing slash ("/" alone ok). */
static bool path_is_normalized_absolute(const char *p) {
        if (!p || p[0] != '/')
                return false;
        if (streq(p, "/"))
                return true;
        for (const char *c = p + 1;;) {
                size_t len = strcspn(c, "/");
                if (len == 0)
                        return false;   /* "//" or a trailing '/' */
                if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (c[len] == '\0')
                        return true;
                c += len + 1;
        }
}

static bool name_is_valid(const char *n) {
        return n && n[0] && !strchr(n, '/') && !streq(n, ".") && !streq(n, "..");
}

/* path == parent + "/" + name (no doubled slash when parent is "/"). */
static bool path_is_parent_and_name(const char *path, const char *parent, const char *name) {
        size_t lp = strlen(parent);

        if (strncmp(path, parent, lp) != 0)
                return false;
        if (!streq(parent, "/")) {
                if (path[lp] != '/')
                        return false;
                lp++;
        }
        return streq(path + lp, name);
}

static bool marker_id_is_valid(const char *m) {
        if (strlen(m) != MARKER_HEX_LEN)
                return false;
        for (const char *c = m; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return false;
        return true;
}

/* What is wrong with the claim fields for e's state, or NULL. */
static const char *entry_claim_problem(const struct entry *e) {
        switch (e->state) {
        case ENTRY_ACTIVE:
                if (e->claim_id || e->staging_path)
                        return "active entry carries a claim";
                return NULL;
        case ENTRY_DELETING:
        case ENTRY_RECOVERY:
                if (!e->claim_id || !e->claim_id[0])
                        return "claimed entry has no claim_id";
                if (!path_is_normalized_absolute(e->staging_path))
                        return "claimed entry has no absolute staging_path";
                return NULL;
        default:
                return "unknown state";
        }
}

/* What is wrong with e, or NULL.  id and version are checked by the reader. */
static const char *entry_problem(const struct entry *e) {
        if (!path_is_normalized_absolute(e->path) || streq(e->path, "/"))
                return "path is not an absolute normalized path";
        if (!name_is_valid(e->name))
                return "name is empty, \".\", \"..\" or contains '/'";
        if (!path_is_normalized_absolute(e->parent))
                return "parent is not an absolute normalized path";
        if (!path_is_parent_and_name(e->path, e->parent, e->name))
                return "path is not parent/name";
        if (e->marker_id && !marker_id_is_valid(e->marker_id))
                return "marker_id is not 32 lowercase hex digits";
        if (e->dev > (uint64_t) INT64_MAX || e->ino > (uint64_t) INT64_MAX)
                return "dev or inode out of range";
        if (e->created_at < 0 || e->expires_at < 0)
                return "negative timestamp";
        if (!e->boot_id)
                return "boot_id missing";
        if (!stored_cleanup_ok(e->cleanup))
                return "unknown cleanup";
        if (e->max_size != EPHEMDIR_NO_SIZE_LIMIT && e->max_size <= 0)
                return "max_size is not positive";
        if (!stored_name_style_ok(e->name_style))
                return "unknown name_style";
        for (char **t = e->tags; t && *t; t++)
                if (!(*t)[0])
                        return "empty tag";
        if (!e->origin || !e->origin[0])
                return "origin missing";
        return entry_claim_problem(e);
}

/* ---- errors ------------------------------------------------------------------ */

static int set_error(struct registry *reg, int err, const char *fmt, ...) _printf_(3, 4);
static int set_error(struct registry *reg, int err, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        free(reg->error);
        reg->error = msg;
        return err;
}

const char *registry_error(const struct registry *r) {
        if (!r)
                return "";
        return r->error ?: "";
}

static int errno_from_sqlite(sqlite3 *db, int rc) {
        /* rc may be a primary or an extended code. */
        int ext = rc > 0xff ? rc : sqlite3_extended_errcode(db);

        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        case SQLITE_CANTOPEN:
                return ext == SQLITE_CANTOPEN_SYMLINK ? -ELOOP : -EACCES;
        case SQLITE_CONSTRAINT:
                return ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY ? -EEXIST : -EINVAL;
        case SQLITE_RANGE:
        case SQLITE_MISUSE:
                return -EINVAL;
        default:
                return -EIO;
        }
}

static void utc_stamp(char buf[static 17]) {
        time_t now = time(NULL);
        struct tm tm;

        if (!gmtime_r(&now, &tm) || strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm) == 0)
                strcpy(buf, "00000000T000000Z");
}

/* Create <base>, or <base>-1, <base>-2, ... (n_names candidates): never
 * overwrites anything. */
static int create_exclusive(int dir_fd, const char *base, unsigned n_names, char **ret_name, int *ret_fd) {
        for (unsigned i = 0; i < n_names; i++) {
                _cleanup_free_ char *name = NULL;
                int fd;

                if (i == 0)
                        name = strdup(base);
                else if (asprintf(&name, "%s-%u", base, i) < 0)
                        name = NULL;
                if (!name)
                        return -ENOMEM;

                fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        *ret_name = TAKE_PTR(name);
                        *ret_fd = fd;
                        return 0;
                }
                if (errno != EEXIST)
                        return negative_errno();
        }
        return -EEXIST;
}

/* pread from offset 0: the source offset is never moved, and the bytes are
 * read from the file we opened, whatever the name points to now. */
static int copy_fd_contents(int src_fd, int dst_fd) {
        enum { BUF_SIZE = 64 * 1024 };
        _cleanup_free_ char *buf = malloc(BUF_SIZE);
        off_t off = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = pread(src_fd, buf, BUF_SIZE, off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                for (ssize_t done = 0; done < n;) {
                        ssize_t w = write(dst_fd, buf + done, (size_t) (n - done));
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                return negative_errno();
                        }
                        done += w;
                }
                off += n;
        }
        if (fsync(dst_fd) < 0)
                return negative_errno();
        return 0;
}

/* Copy src_fd to a new file in dir_fd named base (or base-N). */
static int save_copy(int dir_fd, int src_fd, const char *base, unsigned n_names, char **ret_name) {
        _cleanup_free_ char *name = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = create_exclusive(dir_fd, base, n_names, &name, &fd);
        if (r < 0)
                return r;
        r = copy_fd_contents(src_fd, fd);
        if (r < 0) {
                /* A truncated copy would pass for the evidence: remove it. */
                (void) unlinkat(dir_fd, name, 0);
                return r;
        }
        *ret_name = TAKE_PTR(name);
        return 0;
}

/* In WAL mode the newest commits (a hand-edited row, say) may live only in
 * registry.db-wal, so it is saved next to the copy: together they are the
 * database SQLite inspected.  Best effort; returns true if a WAL was saved. */
static bool save_wal_copy(struct registry *reg, const char *copy_name) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *base = NULL, *name = NULL;
        struct stat st;

        fd = openat(reg->dir_fd, WAL_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return false;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_size == 0)
                return false;
        if (asprintf(&base, "%s-wal", copy_name) < 0)
                return false;
        return save_copy(reg->dir_fd, fd, base, 1, &name) >= 0;
}

/* The one reaction to corruption: copy the bytes aside, touch nothing else,
 * refuse every later call on this handle. */
static int registry_corrupt(struct registry *reg, const char *reason) {
        _cleanup_free_ char *copy = NULL;
        char stamp[17], base[sizeof(CORRUPT_PREFIX) + sizeof(stamp)];
        bool wal;
        int r;

        if (reg->poisoned)
                return -EUCLEAN;
        reg->poisoned = true;
        /* Closing the last connection would checkpoint the WAL into the
         * damaged file: keep registry.db exactly as it was found. */
        if (reg->db)
                (void) sqlite3_db_config(reg->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);

        utc_stamp(stamp);
        snprintf(base, sizeof(base), CORRUPT_PREFIX "%s", stamp);
        r = save_copy(reg->dir_fd, reg->db_fd, base, MAX_COPY_SUFFIX, &copy);
        if (r < 0)
                return set_error(reg, -EUCLEAN,
                                 "registry %s is corrupt (%s); saving a copy failed (%s); nothing was changed",
                                 reg->db_path, reason, strerror(-r));
        wal = save_wal_copy(reg, copy);
        return set_error(reg, -EUCLEAN,
                         "registry %s is corrupt (%s); a copy was saved as %s%s%s%s; nothing was changed",
                         reg->db_path, reason, copy,
                         wal ? " with its WAL as " : "", wal ? copy : "", wal ? "-wal" : "");
}

/* Report a failed SQLite call: corruption takes the corrupt path, anything
 * else becomes a negative errno with SQLite's message. */
static int registry_fail(struct registry *reg, int rc, const char *what) {
        /* A copy: the next SQLite call may replace the connection's message. */
        _cleanup_free_ char *copy = strdup(sqlite3_errmsg(reg->db));
        const char *msg = copy ?: sqlite3_errstr(rc);
        int err = errno_from_sqlite(reg->db, rc);

        if (err == -EUCLEAN)
                return registry_corrupt(reg, msg);
        if (err == 0)
                err = -EIO;
        if (err == -ELOOP)
                return set_error(reg, err, "registry %s: %s: is or goes through a symlink", reg->db_path, what);
        return set_error(reg, err, "registry %s: %s: %s", reg->db_path, what, msg);
}

/* A malformed row is corruption too (reason "row N: ..."). */
static int registry_bad_row(struct registry *reg, int64_t id, const char *what, const char *problem) {
        _cleanup_free_ char *reason = NULL;

        if (asprintf(&reason, "row %" PRId64 ": %s%s%s", id, what ?: "", what ? " " : "", problem) < 0)
                return registry_corrupt(reg, "malformed row");
        return registry_corrupt(reg, reason);
}

/* ---- statements and transactions --------------------------------------------- */

static void stmt_finalizep(sqlite3_stmt **s) {
        if (*s)
                sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(stmt_finalizep)

static int reg_prepare(struct registry *reg, const char *sql, sqlite3_stmt **ret) {
        sqlite3_stmt *s = NULL;
        int rc;

        if (reg->poisoned)
                return -EUCLEAN;
        rc = sqlite3_prepare_v2(reg->db, sql, -1, &s, NULL);
        if (rc != SQLITE_OK) {
                sqlite3_finalize(s);
                return registry_fail(reg, rc, "prepare");
        }
        *ret = s;
        return 0;
}

/* 1 for a row, 0 when done, negative errno on failure. */
static int reg_step(struct registry *reg, sqlite3_stmt *s, const char *what) {
        int rc = sqlite3_step(s);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return registry_fail(reg, rc, what);
}

/* Run a statement that returns no rows; returns the number of rows changed. */
static int reg_run(struct registry *reg, sqlite3_stmt *s, const char *what) {
        int r = reg_step(reg, s, what);

        if (r < 0)
                return r;
        return sqlite3_changes(reg->db);
}

static int reg_exec(struct registry *reg, const char *sql, const char *what) {
        int rc;

        if (reg->poisoned)
                return -EUCLEAN;
        rc = sqlite3_exec(reg->db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return registry_fail(reg, rc, what);
        return 0;
}

/* Single-integer query ("PRAGMA user_version", "SELECT count(*) ..."). */
static int reg_query_int(struct registry *reg, const char *sql, int64_t *ret) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = reg_prepare(reg, sql, &s);
        if (r < 0)
                return r;
        r = reg_step(reg, s, sql);
        if (r < 0)
                return r;
        if (r == 0 || sqlite3_column_type(s, 0) != SQLITE_INTEGER)
                return registry_corrupt(reg, "unexpected answer to a schema query");
        *ret = sqlite3_column_int64(s, 0);
        return 0;
}

static int reg_bind_failed(struct registry *reg, int rc) {
        return registry_fail(reg, rc, "bind");
}

/* Open transactions are rolled back on scope exit unless disarmed (set to
 * NULL) after COMMIT.  Declare the guard before any statement so statements
 * are finalized first.  For reads, the rollback simply ends the snapshot. */
static void tx_rollbackp(struct registry **reg) {
        if (*reg)
                (void) sqlite3_exec((*reg)->db, "ROLLBACK", NULL, NULL, NULL);
}
#define _cleanup_tx_ _cleanup_(tx_rollbackp)

/* BEGIN IMMEDIATE takes the write lock up front, so busy_timeout applies to
 * it and a write never fails half-way on a lock upgrade. */
static int tx_begin(struct registry *reg, bool write, struct registry **guard) {
        int r = reg_exec(reg, write ? "BEGIN IMMEDIATE" : "BEGIN", "begin");

        if (r < 0)
                return r;
        *guard = reg;
        return 0;
}

static int tx_commit(struct registry *reg, struct registry **guard) {
        int r = reg_exec(reg, "COMMIT", "commit");

        if (r < 0)
                return r;   /* guard still armed: it rolls back */
        *guard = NULL;
        return 0;
}

/* ---- reading rows --------------------------------------------------------------- */

/* Column readers: -EBADMSG with *problem set for a malformed value. */
static int col_text(sqlite3_stmt *s, int col, bool nullable, char **ret, const char **problem) {
        int type = sqlite3_column_type(s, col);
        const char *t;
        char *copy;

        if (type == SQLITE_NULL) {
                if (!nullable) {
                        *problem = "is NULL";
                        return -EBADMSG;
                }
                *ret = NULL;
                return 0;
        }
        if (type != SQLITE_TEXT) {
                *problem = "is not text";
                return -EBADMSG;
        }
        t = (const char *) sqlite3_column_text(s, col);
        if (!t)
                return -ENOMEM;
        if (strlen(t) != (size_t) sqlite3_column_bytes(s, col)) {
                *problem = "contains a NUL byte";
                return -EBADMSG;
        }
        copy = strdup(t);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

static int col_int(sqlite3_stmt *s, int col, bool nullable, int64_t min, int64_t *ret, const char **problem) {
        int type = sqlite3_column_type(s, col);
        int64_t v;

        if (type == SQLITE_NULL) {
                if (!nullable) {
                        *problem = "is NULL";
                        return -EBADMSG;
                }
                *ret = 0;
                return 0;
        }
        if (type != SQLITE_INTEGER) {
                *problem = "is not an integer";
                return -EBADMSG;
        }
        v = sqlite3_column_int64(s, col);
        if (v < min) {
                *problem = "is out of range";
                return -EBADMSG;
        }
        *ret = v;
        return 0;
}

static int col_bool(sqlite3_stmt *s, int col, bool *ret, const char **problem) {
        int64_t v;
        int r = col_int(s, col, false, 0, &v, problem);

        if (r < 0)
                return r;
        if (v > 1) {
                *problem = "is not 0 or 1";
                return -EBADMSG;
        }
        *ret = v;
        return 0;
}

/* Text column holding one of a fixed set of words. */
static int col_word(sqlite3_stmt *s, int col, int (*parse)(const char *, void *), void *ret, const char **problem) {
        _cleanup_free_ char *w = NULL;
        int r = col_text(s, col, false, &w, problem);

        if (r < 0)
                return r;
        if (parse(w, ret) < 0) {
                *problem = "is not a known value";
                return -EBADMSG;
        }
        return 0;
}

static int parse_state(const char *w, void *ret) {
        return state_from_word(w, ret);
}
static int parse_cleanup(const char *w, void *ret) {
        return ephemdir_cleanup_from_word(w, ret);
}
static int parse_name_style(const char *w, void *ret) {
        return ephemdir_name_style_from_word(w, ret);
}

/* Scalar and text columns of the current row into e; *bad_col names the
 * offending column on -EBADMSG. */
static int row_columns(sqlite3_stmt *s, struct entry *e, int *bad_col, const char **problem) {
        int64_t dev, ino, expires, max_size;
        int r = 0;

#define READ(col, expr)                         \
        do {                                    \
                *bad_col = (col);               \
                r = (expr);                     \
                if (r < 0)                      \
                        return r;               \
        } while (0)

        READ(COL_PATH, col_text(s, COL_PATH, false, &e->path, problem));
        READ(COL_NAME, col_text(s, COL_NAME, false, &e->name, problem));
        READ(COL_PARENT, col_text(s, COL_PARENT, false, &e->parent, problem));
        READ(COL_MARKER_ID, col_text(s, COL_MARKER_ID, true, &e->marker_id, problem));
        READ(COL_DEV, col_int(s, COL_DEV, false, 0, &dev, problem));
        READ(COL_INO, col_int(s, COL_INO, false, 0, &ino, problem));
        READ(COL_CREATED_AT, col_int(s, COL_CREATED_AT, false, 0, &e->created_at, problem));
        READ(COL_EXPIRES_AT, col_int(s, COL_EXPIRES_AT, true, 0, &expires, problem));
        READ(COL_BOOT_ID, col_text(s, COL_BOOT_ID, false, &e->boot_id, problem));
        READ(COL_REMOVE_ON_RESTART, col_bool(s, COL_REMOVE_ON_RESTART, &e->remove_on_restart, problem));
        READ(COL_KEEP_WHILE_IN_USE, col_bool(s, COL_KEEP_WHILE_IN_USE, &e->keep_while_in_use, problem));
        READ(COL_CLEANUP, col_word(s, COL_CLEANUP, parse_cleanup, &e->cleanup, problem));
        READ(COL_MAX_SIZE, col_int(s, COL_MAX_SIZE, true, 1, &max_size, problem));
        READ(COL_NAME_STYLE, col_word(s, COL_NAME_STYLE, parse_name_style, &e->name_style, problem));
        READ(COL_DESCRIPTION, col_text(s, COL_DESCRIPTION, true, &e->description, problem));
        READ(COL_ORIGIN, col_text(s, COL_ORIGIN, false, &e->origin, problem));
        READ(COL_STATE, col_word(s, COL_STATE, parse_state, &e->state, problem));
        READ(COL_CLAIM_ID, col_text(s, COL_CLAIM_ID, true, &e->claim_id, problem));
        READ(COL_STAGING_PATH, col_text(s, COL_STAGING_PATH, true, &e->staging_path, problem));
        READ(COL_VERSION, col_int(s, COL_VERSION, false, 1, &e->version, problem));
        READ(COL_BIRTH_NS, col_int(s, COL_BIRTH_NS, true, 0, &e->birth_ns, problem));
#undef READ

        e->dev = (uint64_t) dev;
        e->ino = (uint64_t) ino;
        e->expires_at = expires;
        e->max_size = sqlite3_column_type(s, COL_MAX_SIZE) == SQLITE_NULL ? EPHEMDIR_NO_SIZE_LIMIT : max_size;
        return 0;
}

/* Append tag to the NULL-terminated vector *v (of *n tags). */
static int tags_append(char ***v, size_t *n, char *tag) {
        char **nv = reallocarray(*v, *n + 2, sizeof(char *));
        if (!nv)
                return -ENOMEM;
        nv[(*n)++] = tag;
        nv[*n] = NULL;
        *v = nv;
        return 0;
}

/* Tags of one entry, in the order they were given. */
static int load_tags(struct registry *reg, sqlite3_stmt *tags, struct entry *e) {
        size_t n = 0;
        int rc, r;

        sqlite3_reset(tags);
        rc = sqlite3_bind_int64(tags, 1, e->id);
        if (rc != SQLITE_OK)
                return reg_bind_failed(reg, rc);
        while ((r = reg_step(reg, tags, "read tags")) > 0) {
                const char *problem = NULL;
                char *tag = NULL;

                r = col_text(tags, 0, false, &tag, &problem);
                if (r == -EBADMSG)
                        return registry_bad_row(reg, e->id, "tag", problem);
                if (r < 0)
                        return r;
                if (tags_append(&e->tags, &n, tag) < 0) {
                        free(tag);
                        return -ENOMEM;
                }
        }
        return r;
}

static int load_tags_per_entry(struct registry *reg, struct entry *v, size_t n) {
        _cleanup_stmt_ sqlite3_stmt *tags = NULL;
        int r;

        r = reg_prepare(reg, "SELECT tag FROM dir_tags WHERE dir_id = ?1 ORDER BY rowid", &tags);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = load_tags(reg, tags, &v[i]);
        return r < 0 ? r : 0;
}

struct id_index {
        int64_t id;
        size_t at;
};

static int by_id(const void *a, const void *b) {
        const struct id_index *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

/* Tags of every entry of v (all rows of dirs) from one scan of dir_tags, in
 * rowid order, so each entry's tags keep the order they were given. */
static int load_tags_by_scan(struct registry *reg, struct entry *v, size_t n) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        _cleanup_free_ struct id_index *index = calloc(n ? n : 1, sizeof(*index));
        _cleanup_free_ size_t *counts = calloc(n ? n : 1, sizeof(size_t));
        int r;

        if (!index || !counts)
                return -ENOMEM;
        bool sorted = true;
        for (size_t i = 0; i < n; i++) {
                index[i] = (struct id_index) { .id = v[i].id, .at = i };
                sorted = sorted && (i == 0 || index[i - 1].id < index[i].id);
        }
        if (!sorted)    /* creation order is usually id order already */
                qsort(index, n, sizeof(*index), by_id);

        r = reg_prepare(reg, "SELECT dir_id, tag FROM dir_tags ORDER BY rowid", &s);
        if (r < 0)
                return r;
        while ((r = reg_step(reg, s, "read tags")) > 0) {
                struct id_index key = { .id = sqlite3_column_int64(s, 0) };
                const struct id_index *hit = bsearch(&key, index, n, sizeof(*index), by_id);
                const char *problem = NULL;
                char *tag = NULL;

                if (!hit)
                        continue;       /* a tag row whose entry is gone */
                r = col_text(s, 1, false, &tag, &problem);
                if (r == -EBADMSG)
                        return registry_bad_row(reg, key.id, "tag", problem);
                if (r < 0)
                        return r;
                if (tags_append(&v[hit->at].tags, &counts[hit->at], tag) < 0) {
                        free(tag);
                        return -ENOMEM;
                }
        }
        return r;
}

/* The current row of s as an entry, tags not yet loaded. */
static int read_entry(struct registry *reg, sqlite3_stmt *s, struct entry *ret) {
        _cleanup_(entry_done) struct entry e = {};
        const char *problem = NULL;
        int bad_col = COL_ID, r;

        r = col_int(s, COL_ID, false, 1, &e.id, &problem);
        if (r == -EBADMSG)
                return registry_bad_row(reg, sqlite3_column_int64(s, COL_ID), "id", problem);
        r = row_columns(s, &e, &bad_col, &problem);
        if (r == -EBADMSG)
                return registry_bad_row(reg, e.id, sqlite3_column_name(s, bad_col), problem);
        if (r < 0)
                return set_error(reg, r, "registry %s: reading row %" PRId64 ": %s",
                                 reg->db_path, e.id, strerror(-r));
        *ret = e;
        e = (struct entry) {};
        return 0;
}

/* Every row of an entry SELECT (bound by the caller), at most max (0: all). */
static int read_entries(struct registry *reg, sqlite3_stmt *s, size_t max, struct entry_vec *ret) {
        int r;

        while (max == 0 || ret->n < max) {
                struct entry e = {};

                r = reg_step(reg, s, "read entries");
                if (r <= 0)
                        return r;
                r = read_entry(reg, s, &e);
                if (r < 0)
                        return r;
                r = entry_vec_push(ret, &e);
                if (r < 0) {
                        entry_done(&e);
                        return r;
                }
        }
        return 0;
}

enum tag_loading {
        TAGS_PER_ENTRY,         /* a query per entry: for a few entries of many */
        TAGS_ONE_SCAN,          /* one pass over dir_tags: for every entry */
};

/* Run an entry query inside one read snapshot (rows and tags agree), and
 * validate each entry once its tags are in. */
static int query_entries_tags(struct registry *reg, sqlite3_stmt *s, size_t max, enum tag_loading how,
                              struct entry **ret, size_t *ret_n) {
        _cleanup_tx_ struct registry *tx = NULL;
        _cleanup_(entry_vec_done) struct entry_vec vec = {};
        int r;

        r = tx_begin(reg, false, &tx);
        if (r < 0)
                return r;
        r = read_entries(reg, s, max, &vec);
        if (r < 0)
                return r;
        sqlite3_reset(s);   /* ends the statement's read before ROLLBACK */
        r = how == TAGS_ONE_SCAN ? load_tags_by_scan(reg, vec.v, vec.n) : load_tags_per_entry(reg, vec.v, vec.n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < vec.n; i++) {
                const char *problem = entry_problem(&vec.v[i]);
                if (problem)
                        return registry_bad_row(reg, vec.v[i].id, NULL, problem);
        }

        *ret = TAKE_PTR(vec.v);
        *ret_n = vec.n;
        vec = (struct entry_vec) {};
        return 0;
}

static int query_entries(struct registry *reg, sqlite3_stmt *s, size_t max, struct entry **ret, size_t *ret_n) {
        return query_entries_tags(reg, s, max, TAGS_PER_ENTRY, ret, ret_n);
}

/* Prepared statement for an entry SELECT with the given tail. */
static int prepare_entry_query(struct registry *reg, const char *tail, sqlite3_stmt **ret) {
        _cleanup_free_ char *sql = NULL;

        if (asprintf(&sql, "SELECT " ENTRY_COLUMNS " FROM dirs %s", tail) < 0)
                return -ENOMEM;
        return reg_prepare(reg, sql, ret);
}

/* The single entry a statement selects: -ENOENT if none. */
static int query_one(struct registry *reg, sqlite3_stmt *s, struct entry *ret) {
        struct entry *v = NULL;
        size_t n = 0;
        int r;

        r = query_entries(reg, s, 1, &v, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                free(v);
                return -ENOENT;
        }
        *ret = v[0];
        free(v);
        return 0;
}

/* ---- open / close ------------------------------------------------------------- */

/* Our own open of registry.db: never through a symlink, never a FIFO or
 * device (O_NONBLOCK keeps a FIFO from blocking us before fstat says so),
 * and only a regular file the caller owns. */
static int open_db_file(struct registry *reg) {
        struct stat st;
        int fd;

        fd = openat(reg->dir_fd, DB_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
        if (fd < 0) {
                int err = negative_errno();
                if (err == -ELOOP)
                        return set_error(reg, err, "registry %s is a symlink; refusing to use it", reg->db_path);
                if (err == -EISDIR)
                        return set_error(reg, -EPERM, "registry %s is not a regular file; refusing to use it",
                                         reg->db_path);
                return set_error(reg, err, "cannot open registry %s: %s", reg->db_path, strerror(-err));
        }
        reg->db_fd = fd;
        if (fstat(fd, &st) < 0)
                return set_error(reg, negative_errno(), "cannot stat registry %s: %m", reg->db_path);
        if (!S_ISREG(st.st_mode))
                return set_error(reg, -EPERM, "registry %s is not a regular file; refusing to use it", reg->db_path);
        if (st.st_uid != geteuid())
                return set_error(reg, -EPERM, "registry %s is owned by uid %u, not by us (uid %u); refusing to use it",
                                 reg->db_path, (unsigned) st.st_uid, (unsigned) geteuid());
        return 0;
}

/* SQLite opens the name on its own; if registry.db was swapped between our
 * open and SQLite's, the two would differ: refuse rather than trust it. */
static int check_same_file(struct registry *reg) {
        struct stat ours, named;

        if (fstat(reg->db_fd, &ours) < 0)
                return set_error(reg, negative_errno(), "cannot stat registry %s: %m", reg->db_path);
        if (fstatat(reg->dir_fd, DB_NAME, &named, AT_SYMLINK_NOFOLLOW) < 0)
                return set_error(reg, -EPERM, "registry %s disappeared while opening it: %m", reg->db_path);
        if (ours.st_dev != named.st_dev || ours.st_ino != named.st_ino)
                return set_error(reg, -EPERM, "registry %s was replaced while opening it; refusing to use it",
                                 reg->db_path);
        return 0;
}

static int open_sqlite(struct registry *reg) {
        int rc;

        /* NOFOLLOW refuses a symlink in any component of the name; NOMUTEX:
         * a handle belongs to one thread at a time. */
        rc = sqlite3_open_v2(reg->db_path, &reg->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
                             NULL);
        if (!reg->db)
                return set_error(reg, -ENOMEM, "cannot open registry %s: out of memory", reg->db_path);
        (void) sqlite3_extended_result_codes(reg->db, 1);
        if (rc != SQLITE_OK)
                return registry_fail(reg, rc, "open");
        rc = sqlite3_busy_timeout(reg->db, BUSY_TIMEOUT_MS);
        if (rc != SQLITE_OK)
                return registry_fail(reg, rc, "busy_timeout");
        return 0;
}

static int schema_too_new(struct registry *reg, int64_t version) {
        return set_error(reg, -EPROTO, "registry schema %" PRId64 " is newer than this ephemdir supports", version);
}

/* The first read of the file: a damaged header or schema shows up here, as
 * NOTADB/CORRUPT, before any pragma could write to it.  So does a database
 * that is not ours: tables but no version (we create both in one
 * transaction).  Building our schema next to them would hide that, so it is
 * treated as corrupt too. */
static int read_schema_version(struct registry *reg, int64_t *ret_version) {
        int64_t objects = 0, version = 0;
        int r;

        r = reg_query_int(reg, "SELECT count(*) FROM sqlite_master", &objects);
        if (r < 0)
                return r;
        r = reg_query_int(reg, "PRAGMA user_version", &version);
        if (r < 0)
                return r;
        if (version < 0)
                return registry_corrupt(reg, "negative schema version");
        if (version > SCHEMA_VERSION)
                return schema_too_new(reg, version);
        if (version == 0 && objects > 0)
                return registry_corrupt(reg, "database has tables but no ephemdir schema version");
        *ret_version = version;
        return 0;
}

static int configure_connection(struct registry *reg) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        /* WAL where the filesystem allows it (readers never block writers);
         * SQLite falls back to a rollback journal otherwise. */
        r = reg_prepare(reg, "PRAGMA journal_mode = WAL", &s);
        if (r < 0)
                return r;
        r = reg_step(reg, s, "journal_mode");
        if (r < 0)
                return r;
        /* FULL: a claim must be on disk before the rename it announces, even
         * across a power cut (NORMAL may roll back the last commits then). */
        r = reg_exec(reg, "PRAGMA synchronous = FULL", "synchronous");
        if (r < 0)
                return r;
        /* Read pages through a mapping instead of one pread(2) and copy
         * each: `list` reads every row and tag, and at 10,000 entries this
         * cut its CPU time by 7%.  Writes still go through write(2), as
         * SQLite does with mmap on. */
        r = reg_exec(reg, "PRAGMA mmap_size = " MMAP_SIZE, "mmap_size");
        if (r < 0)
                return r;
        return reg_exec(reg, "PRAGMA foreign_keys = ON", "foreign_keys");
}

static int apply_migrations(struct registry *reg, int64_t from) {
        char sql[64];
        int r;

        for (int64_t v = from; v < SCHEMA_VERSION; v++) {
                r = reg_exec(reg, migrations[v], "migrate");
                if (r < 0)
                        return r;
        }
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
        return reg_exec(reg, sql, "set schema version");
}

/* Create or upgrade the schema in one write transaction.  The version is
 * read again under the write lock: another process may have just done it. */
static int migrate(struct registry *reg) {
        _cleanup_tx_ struct registry *tx = NULL;
        int64_t version = 0;
        int r;

        r = tx_begin(reg, true, &tx);
        if (r < 0)
                return r;
        r = read_schema_version(reg, &version);
        if (r < 0)
                return r;
        if (version == SCHEMA_VERSION)
                return 0;   /* the guard ends the transaction */
        r = apply_migrations(reg, version);
        if (r < 0)
                return r;
        return tx_commit(reg, &tx);
}

static int registry_open_steps(struct registry *reg, int data_dir_fd, const char *data_dir_path) {
        int64_t version = 0;
        size_t len = strlen(data_dir_path);
        int r;

        /* A dup of our own: the caller may close theirs, and corrupt copies
         * must land in the directory that was verified. */
        reg->dir_fd = fcntl(data_dir_fd, F_DUPFD_CLOEXEC, 3);
        if (reg->dir_fd < 0)
                return set_error(reg, negative_errno(), "cannot use data directory %s: %m", data_dir_path);
        if (asprintf(&reg->db_path, "%s%s" DB_NAME, data_dir_path,
                     len > 0 && data_dir_path[len - 1] == '/' ? "" : "/") < 0) {
                reg->db_path = NULL;
                return -ENOMEM;
        }

        r = open_db_file(reg);
        if (r < 0)
                return r;
        r = open_sqlite(reg);
        if (r < 0)
                return r;
        r = check_same_file(reg);
        if (r < 0)
                return r;
        r = read_schema_version(reg, &version);
        if (r < 0)
                return r;
        r = configure_connection(reg);
        if (r < 0)
                return r;
        if (version < SCHEMA_VERSION)
                return migrate(reg);
        return 0;
}

void registry_close(struct registry *r) {
        if (!r)
                return;
        /* SQLite first: closing any other fd of registry.db would drop the
         * POSIX locks SQLite holds on it. */
        if (r->db)
                (void) sqlite3_close_v2(r->db);
        safe_close(r->db_fd);
        safe_close(r->dir_fd);
        free(r->db_path);
        free(r->error);
        free(r);
}

static void registry_closep(struct registry **r) {
        registry_close(*r);
}

int registry_open(int data_dir_fd, const char *data_dir_path, struct registry **ret, char **ret_error) {
        _cleanup_(registry_closep) struct registry *reg = NULL;
        int r;

        if (data_dir_fd < 0 || !data_dir_path || data_dir_path[0] != '/' || !ret) {
                if (ret_error)
                        *ret_error = strdup("registry_open: invalid arguments");
                return -EINVAL;
        }
        reg = calloc(1, sizeof(*reg));
        if (!reg)
                return -ENOMEM;
        reg->dir_fd = reg->db_fd = -1;

        r = registry_open_steps(reg, data_dir_fd, data_dir_path);
        if (r < 0) {
                if (ret_error)
                        *ret_error = reg->error ? TAKE_PTR(reg->error) : strdup(strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(reg);
        return 0;
}

int registry_schema_version(struct registry *r) {
        int64_t v = 0;
        int k = reg_query_int(r, "PRAGMA user_version", &v);

        if (k < 0)
                return k;
        return (int) v;
}

/* ---- writes --------------------------------------------------------------------- */

static int bind_text(sqlite3_stmt *s, int idx, const char *t) {
        return t ? sqlite3_bind_text(s, idx, t, -1, SQLITE_STATIC) : sqlite3_bind_null(s, idx);
}

/* 0 means "none" for expires_at and is stored as NULL (the expiry index then
 * only holds entries that can expire). */
static int bind_positive_or_null(sqlite3_stmt *s, int idx, int64_t v) {
        return v > 0 ? sqlite3_bind_int64(s, idx, v) : sqlite3_bind_null(s, idx);
}

static int bind_entry(sqlite3_stmt *s, const struct entry *e) {
        int rc = bind_text(s, 1, e->path);

        if (rc == SQLITE_OK)
                rc = bind_text(s, 2, e->name);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 3, e->parent);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 4, e->marker_id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 5, (int64_t) e->dev);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 6, (int64_t) e->ino);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 7, e->created_at);
        if (rc == SQLITE_OK)
                rc = bind_positive_or_null(s, 8, e->expires_at);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 9, e->boot_id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(s, 10, e->remove_on_restart);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(s, 11, e->keep_while_in_use);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 12, ephemdir_cleanup_word(e->cleanup));
        if (rc == SQLITE_OK)
                rc = bind_positive_or_null(s, 13, e->max_size);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 14, ephemdir_name_style_word(e->name_style));
        if (rc == SQLITE_OK)
                rc = bind_text(s, 15, e->description);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 16, e->origin);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 17, entry_state_word(e->state));
        if (rc == SQLITE_OK)
                rc = bind_text(s, 18, e->claim_id);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 19, e->staging_path);
        if (rc == SQLITE_OK)
                rc = bind_positive_or_null(s, 20, e->birth_ns);
        return rc;
}

static int insert_row(struct registry *reg, const struct entry *e, int64_t *ret_id) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, r;

        r = reg_prepare(reg,
                        "INSERT INTO dirs (path, name, parent, marker_id, dev, ino, created_at, expires_at, "
                        "boot_id, remove_on_restart, keep_while_in_use, cleanup, max_size, name_style, "
                        "description, origin, state, claim_id, staging_path, version, birth_ns) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                        "?17, ?18, ?19, 1, ?20)",
                        &s);
        if (r < 0)
                return r;
        rc = bind_entry(s, e);
        if (rc != SQLITE_OK)
                return reg_bind_failed(reg, rc);
        r = reg_run(reg, s, "insert");
        if (r == -EEXIST)
                return set_error(reg, r, "registry %s: %s is already tracked", reg->db_path, e->path);
        if (r < 0)
                return r;
        *ret_id = sqlite3_last_insert_rowid(reg->db);
        return 0;
}

static int insert_tags(struct registry *reg, int64_t id, char *const *tags) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, r;

        if (!tags || !tags[0])
                return 0;
        /* OR IGNORE: a repeated tag is the same tag. */
        r = reg_prepare(reg, "INSERT OR IGNORE INTO dir_tags (dir_id, tag) VALUES (?1, ?2)", &s);
        if (r < 0)
                return r;
        for (char *const *t = tags; *t; t++) {
                sqlite3_reset(s);
                rc = sqlite3_bind_int64(s, 1, id);
                if (rc == SQLITE_OK)
                        rc = bind_text(s, 2, *t);
                if (rc != SQLITE_OK)
                        return reg_bind_failed(reg, rc);
                r = reg_run(reg, s, "insert tag");
                if (r < 0)
                        return r;
        }
        return 0;
}

int registry_insert(struct registry *r, struct entry *e) {
        _cleanup_tx_ struct registry *tx = NULL;
        const char *problem = entry_problem(e);
        int64_t id = 0;
        int k;

        if (problem)
                return set_error(r, -EINVAL, "invalid entry %s: %s", e->path ?: "(null)", problem);
        k = tx_begin(r, true, &tx);
        if (k < 0)
                return k;
        k = insert_row(r, e, &id);
        if (k < 0)
                return k;
        k = insert_tags(r, id, e->tags);
        if (k < 0)
                return k;
        k = tx_commit(r, &tx);
        if (k < 0)
                return k;
        e->id = id;
        e->version = 1;
        return 0;
}

/* Run a single-row compare-and-swap: exactly one row must change. */
static int run_cas(struct registry *reg, sqlite3_stmt *s, int64_t id, const char *what) {
        int r = reg_run(reg, s, what);

        if (r < 0)
                return r;
        if (r != 1)
                return set_error(reg, -ESTALE, "registry entry %" PRId64 " changed or is gone (%s lost)", id, what);
        return 0;
}

int registry_claim(struct registry *r, int64_t id, int64_t version, const char *claim_id, const char *staging_path) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        if (!claim_id || !claim_id[0] || !path_is_normalized_absolute(staging_path))
                return set_error(r, -EINVAL, "claim needs a claim id and an absolute staging path");
        k = reg_prepare(r,
                        "UPDATE dirs SET state = 'deleting', claim_id = ?3, staging_path = ?4, "
                        "version = version + 1 "
                        "WHERE id = ?1 AND version = ?2 AND state = 'active'",
                        &s);
        if (k < 0)
                return k;
        rc = sqlite3_bind_int64(s, 1, id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, version);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 3, claim_id);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 4, staging_path);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        return run_cas(r, s, id, "claim");
}

int registry_release_claim(struct registry *r, int64_t id, const char *claim_id, enum entry_state state) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        const char *sql;
        int rc, k;

        switch (state) {
        case ENTRY_ACTIVE:
                sql = "UPDATE dirs SET state = 'active', claim_id = NULL, staging_path = NULL, "
                      "version = version + 1 WHERE id = ?1 AND claim_id = ?2";
                break;
        case ENTRY_RECOVERY:
                /* Parked entries keep claim and staging path: recover needs them. */
                sql = "UPDATE dirs SET state = 'recovery', version = version + 1 "
                      "WHERE id = ?1 AND claim_id = ?2";
                break;
        default:
                return set_error(r, -EINVAL, "a claim can only be released to active or recovery");
        }
        if (!claim_id)
                return set_error(r, -EINVAL, "release needs a claim id");
        k = reg_prepare(r, sql, &s);
        if (k < 0)
                return k;
        rc = sqlite3_bind_int64(s, 1, id);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 2, claim_id);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        return run_cas(r, s, id, "release claim");
}

int registry_reclaim(struct registry *r, int64_t id, int64_t version, const char *claim_id) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        if (!claim_id || !claim_id[0])
                return set_error(r, -EINVAL, "reclaim needs a claim id");
        k = reg_prepare(r,
                        "UPDATE dirs SET state = 'deleting', claim_id = ?3, version = version + 1 "
                        "WHERE id = ?1 AND version = ?2 AND state = 'recovery'",
                        &s);
        if (k < 0)
                return k;
        rc = sqlite3_bind_int64(s, 1, id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, version);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 3, claim_id);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        return run_cas(r, s, id, "reclaim");
}

int registry_commit_delete(struct registry *r, int64_t id, const char *claim_id) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        if (!claim_id)
                return set_error(r, -EINVAL, "commit needs a claim id");
        /* Only a DELETING row: an entry parked in recovery must be reclaimed
         * (new claim id) by `recover` before it can be committed. */
        k = reg_prepare(r, "DELETE FROM dirs WHERE id = ?1 AND claim_id = ?2 AND state = 'deleting'", &s);
        if (k < 0)
                return k;
        rc = sqlite3_bind_int64(s, 1, id);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 2, claim_id);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        return run_cas(r, s, id, "commit delete");
}

static int delete_at_version(struct registry *reg, const char *sql, int64_t id, int64_t version, const char *what) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        k = reg_prepare(reg, sql, &s);
        if (k < 0)
                return k;
        rc = sqlite3_bind_int64(s, 1, id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, version);
        if (rc != SQLITE_OK)
                return reg_bind_failed(reg, rc);
        return run_cas(reg, s, id, what);
}

int registry_forget(struct registry *r, int64_t id, int64_t version) {
        return delete_at_version(r, "DELETE FROM dirs WHERE id = ?1 AND version = ?2 AND state = 'active'",
                                 id, version, "forget");
}

int registry_forget_any(struct registry *r, int64_t id, int64_t version) {
        return delete_at_version(r, "DELETE FROM dirs WHERE id = ?1 AND version = ?2", id, version, "forget");
}

int registry_set_expiry(struct registry *r, int64_t id, int64_t version, int64_t expires_at, int64_t *ret_version) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        if (expires_at < 0)
                return set_error(r, -EINVAL, "negative expiry time");
        k = reg_prepare(r,
                        "UPDATE dirs SET expires_at = ?3, version = version + 1 "
                        "WHERE id = ?1 AND version = ?2 AND state = 'active'",
                        &s);
        if (k < 0)
                return k;
        rc = sqlite3_bind_int64(s, 1, id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, version);
        if (rc == SQLITE_OK)
                rc = bind_positive_or_null(s, 3, expires_at);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        k = run_cas(r, s, id, "set expiry");
        if (k < 0)
                return k;
        if (ret_version)
                *ret_version = version + 1;   /* the CAS matched exactly this version */
        return 0;
}

int registry_set_policy(struct registry *r, int64_t id, int64_t version, const struct entry *policy,
                        int64_t *ret_version) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        if (policy->expires_at < 0)
                return set_error(r, -EINVAL, "negative expiry time");
        k = reg_prepare(r,
                        "UPDATE dirs SET expires_at = ?3, remove_on_restart = ?4, keep_while_in_use = ?5, "
                        "max_size = ?6, version = version + 1 "
                        "WHERE id = ?1 AND version = ?2 AND state = 'active'",
                        &s);
        if (k < 0)
                return k;
        rc = sqlite3_bind_int64(s, 1, id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, version);
        if (rc == SQLITE_OK)
                rc = bind_positive_or_null(s, 3, policy->expires_at);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(s, 4, policy->remove_on_restart);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(s, 5, policy->keep_while_in_use);
        if (rc == SQLITE_OK)
                rc = bind_positive_or_null(s, 6, policy->max_size);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        k = run_cas(r, s, id, "set policy");
        if (k < 0)
                return k;
        if (ret_version)
                *ret_version = version + 1;
        return 0;
}

/* ---- lookups ----------------------------------------------------------------------- */

int registry_get_by_id(struct registry *r, int64_t id, struct entry *ret) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        k = prepare_entry_query(r, "WHERE id = ?1", &s);
        if (k < 0)
                return k;
        rc = sqlite3_bind_int64(s, 1, id);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        return query_one(r, s, ret);
}

int registry_get_by_path(struct registry *r, const char *path, struct entry *ret) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        if (!path)
                return -EINVAL;
        k = prepare_entry_query(r, "WHERE path = ?1", &s);
        if (k < 0)
                return k;
        rc = bind_text(s, 1, path);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        return query_one(r, s, ret);
}

/* Names are unique only per parent: two entries with the same name make the
 * name ambiguous (-ENOTUNIQ) rather than picking one to act on. */
int registry_get_by_name(struct registry *r, const char *name, struct entry *ret) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        struct entry *v = NULL;
        size_t n = 0;
        int rc, k;

        if (!name)
                return -EINVAL;
        k = prepare_entry_query(r, "WHERE name = ?1 ORDER BY id LIMIT 2", &s);
        if (k < 0)
                return k;
        rc = bind_text(s, 1, name);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        k = query_entries(r, s, 2, &v, &n);
        if (k < 0)
                return k;
        if (n != 1) {
                entry_free_array(v, n);
                if (n == 0)
                        return -ENOENT;
                return set_error(r, -ENOTUNIQ, "more than one tracked directory is named \"%s\"", name);
        }
        *ret = v[0];
        free(v);
        return 0;
}

int registry_get_last(struct registry *r, struct entry *ret) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k;

        k = prepare_entry_query(r, "WHERE state = 'active' ORDER BY created_at DESC, id DESC LIMIT 1", &s);
        if (k < 0)
                return k;
        return query_one(r, s, ret);
}

/* The smallest string greater than every string starting with prefix: the
 * prefix with its last byte incremented (trailing 0xff bytes carry).
 * Names compare bytewise (BINARY collation), so name >= p AND name < upper
 * is exactly "starts with p" -- and, unlike LIKE, '%' and '_' are literal.
 * *ret = NULL when there is no upper bound (empty or all-0xff prefix). */
static int prefix_upper_bound(const char *prefix, char **ret) {
        size_t n = strlen(prefix);
        char *u;

        while (n > 0 && (unsigned char) prefix[n - 1] == 0xff)
                n--;
        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        u = strndup(prefix, n);
        if (!u)
                return -ENOMEM;
        u[n - 1] = (char) ((unsigned char) u[n - 1] + 1);
        *ret = u;
        return 0;
}

int registry_find_by_prefix(struct registry *r, const char *prefix, size_t limit, struct entry **ret, size_t *ret_n) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        _cleanup_free_ char *upper = NULL;
        int rc, k;

        if (!prefix)
                return -EINVAL;
        k = prefix_upper_bound(prefix, &upper);
        if (k < 0)
                return k;
        k = prepare_entry_query(r,
                                upper ? "WHERE name >= ?1 AND name < ?2 ORDER BY name, id LIMIT ?3"
                                      : "WHERE name >= ?1 ORDER BY name, id LIMIT ?3",
                                &s);
        if (k < 0)
                return k;
        rc = bind_text(s, 1, prefix);
        if (rc == SQLITE_OK && upper)
                rc = bind_text(s, 2, upper);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 3, limit > 0 ? (int64_t) limit : -1);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        return query_entries(r, s, limit, ret, ret_n);
}

int registry_list_all(struct registry *r, struct entry **ret, size_t *ret_n) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k;

        k = prepare_entry_query(r, "ORDER BY created_at, id", &s);
        if (k < 0)
                return k;
        /* A 10,000-entry listing spent half its registry time re-running
         * the per-entry tag query. */
        return query_entries_tags(r, s, 0, TAGS_ONE_SCAN, ret, ret_n);
}

int registry_list_by_state(struct registry *r, enum entry_state state, struct entry **ret, size_t *ret_n) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        const char *word = entry_state_word(state);
        int rc, k;

        if (!word)
                return -EINVAL;
        k = prepare_entry_query(r, "WHERE state = ?1 ORDER BY created_at, id", &s);
        if (k < 0)
                return k;
        rc = bind_text(s, 1, word);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        return query_entries(r, s, 0, ret, ret_n);
}

/* One index-driven branch per reason an entry may be due; IN dedupes ids
 * matched by several branches.  "boot_id != ?" cannot use an index, so the
 * restart branch is two ranges.  ?3/?4 switch the optional branches off
 * before their loops start.  A NULL current boot id matches nothing: with
 * an unknown boot, nothing is ever due by restart. */
#define DUE_CANDIDATES_TAIL                                                                          \
        "WHERE id IN ("                                                                              \
        " SELECT id FROM dirs WHERE state = 'active' AND expires_at <= ?1"                          \
        " UNION ALL"                                                                                 \
        " SELECT id FROM dirs WHERE state = 'active' AND remove_on_restart = 1 AND boot_id < ?2"    \
        " UNION ALL"                                                                                 \
        " SELECT id FROM dirs WHERE state = 'active' AND remove_on_restart = 1 AND boot_id > ?2"    \
        " UNION ALL"                                                                                 \
        " SELECT id FROM dirs WHERE ?3 AND state = 'active' AND cleanup = 'next-sweep'"             \
        " UNION ALL"                                                                                 \
        " SELECT id FROM dirs WHERE ?4 AND state = 'active' AND max_size > 0"                       \
        ") AND id > ?6 ORDER BY id LIMIT ?5"

int registry_due_candidates(struct registry *r, int64_t now, const char *current_boot_id,
                            bool include_next_sweep, bool include_sized, int64_t after_id,
                            size_t limit, struct entry **ret, size_t *ret_n) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        k = prepare_entry_query(r, DUE_CANDIDATES_TAIL, &s);
        if (k < 0)
                return k;
        rc = sqlite3_bind_int64(s, 1, now);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 2, current_boot_id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(s, 3, include_next_sweep);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(s, 4, include_sized);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 5, limit > 0 ? (int64_t) limit : -1);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 6, after_id);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        return query_entries(r, s, limit, ret, ret_n);
}

int registry_count(struct registry *r, int64_t *ret) {
        int64_t n = 0;
        int k = reg_query_int(r, "SELECT count(*) FROM dirs", &n);

        if (k < 0)
                return k;
        *ret = n;
        return 0;
}

/* ---- stats -------------------------------------------------------------------------- */

int registry_stat_add(struct registry *r, const char *key, int64_t delta) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        if (!key || !key[0] || delta < 0)
                return set_error(r, -EINVAL, "counters need a key and a non-negative delta");
        k = reg_prepare(r,
                        "INSERT INTO stats (key, value) VALUES (?1, ?2) "
                        "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                        &s);
        if (k < 0)
                return k;
        rc = bind_text(s, 1, key);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, delta);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        k = reg_run(r, s, "update counter");
        return k < 0 ? k : 0;
}

int registry_stat_set(struct registry *r, const char *key, int64_t value) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        if (!key || !key[0])
                return set_error(r, -EINVAL, "counters need a key");
        k = reg_prepare(r, "INSERT OR REPLACE INTO stats (key, value) VALUES (?1, ?2)", &s);
        if (k < 0)
                return k;
        rc = bind_text(s, 1, key);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, value);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        k = reg_run(r, s, "set counter");
        return k < 0 ? k : 0;
}

/* A counter never incremented reads as 0. */
int registry_stat_get(struct registry *r, const char *key, int64_t *ret) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int64_t v = 0;
        int rc, k;

        if (!key)
                return -EINVAL;
        k = reg_prepare(r, "SELECT value FROM stats WHERE key = ?1", &s);
        if (k < 0)
                return k;
        rc = bind_text(s, 1, key);
        if (rc != SQLITE_OK)
                return reg_bind_failed(r, rc);
        k = reg_step(r, s, "read counter");
        if (k < 0)
                return k;
        if (k > 0) {
                if (sqlite3_column_type(s, 0) != SQLITE_INTEGER)
                        return registry_corrupt(r, "counter value is not an integer");
                v = sqlite3_column_int64(s, 0);
        }
        *ret = v;
        return 0;
}
