/* SPDX-License-Identifier: MIT */
/*
 * Directory size for max_size: an iterative walk with an explicit stack,
 * through dir fds only, never leaving the mount it starts on.
 *
 * Each directory is listed once, completely, when entered: files are
 * fstatat()ed on the spot and the names of subdirectories are kept in the
 * frame.  A frame therefore never needs its read position again, which is
 * what lets the walk close the fds of ancestors beyond DIRSIZE_MAX_OPEN_FDS
 * and re-enter them later through ".." (identity re-checked), like
 * fs_remove_contents.  Memory stays bounded by the entries budget.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "dirsize.h"
#include "fsutil.h"
#include "util.h"

#define DENTS_BUF_SIZE 16384
/* The clock is read every this many entries. */
#define CLOCK_EVERY 64

struct ds_identity {
        uint64_t dev, ino, mnt, blocks;
};

struct ds_frame {
        int fd;            /* -1 while closed for the fd budget */
        uint64_t ino;      /* identity when first opened (dev and mount are the root's) */
        char **subdirs;    /* subdirectories still to visit */
        size_t n_subdirs, cap_subdirs, next;
};

/* (dev, ino) of multiply-linked files already counted: open addressing. */
struct link_key {
        uint64_t dev, ino;
        bool used;
};

struct link_set {
        struct link_key *keys;
        size_t n, cap;
};

struct ds_walk {
        struct ds_frame *frames;
        size_t depth, cap;
        size_t first_open;    /* frames [1, first_open) closed, [first_open, depth) open */
        unsigned open_fds;
        struct ds_identity root;
        uint64_t max_entries;
        uint64_t deadline;    /* CLOCK_MONOTONIC usec; 0 = none */
        uint64_t ticks;       /* budget checks, to read the clock now and then */
        uint64_t pending;     /* subdirectory names remembered, not yet entered */
        struct dirsize_result res;
        struct link_set links;
        bool stop;            /* budget exhausted, or lost our way */
};

/* ------------------------------------------------------------------------ */
/* Budget                                                                   */

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void incomplete(struct ds_walk *w) {
        w->res.complete = false;
}

static void stop(struct ds_walk *w) {
        w->stop = true;
        incomplete(w);
}

static bool out_of_time(struct ds_walk *w) {
        if (!w->deadline || ++w->ticks % CLOCK_EVERY != 0)
                return false;
        return now_usec() >= w->deadline;
}

/* May one more object be examined?  Stops the walk when not. */
static bool may_examine(struct ds_walk *w) {
        if (!w->stop && ((w->max_entries && w->res.entries >= w->max_entries) || out_of_time(w)))
                stop(w);
        return !w->stop;
}

/* May the listing go on?  Not once the objects examined plus the
 * subdirectories waiting to be entered fill the entries budget: what
 * follows could not be examined anyway, and this bounds the memory spent
 * on remembered names. */
static bool may_list(struct ds_walk *w) {
        if (!may_examine(w))
                return false;
        if (w->max_entries && w->res.entries + w->pending >= w->max_entries) {
                incomplete(w);
                return false;
        }
        return true;
}

/* ------------------------------------------------------------------------ */
/* Hard links                                                               */

static size_t link_hash(uint64_t dev, uint64_t ino) {
        uint64_t h = ino * UINT64_C(0x9e3779b97f4a7c15) ^ dev;
        h ^= h >> 31;
        return (size_t) (h * UINT64_C(0xbf58476d1ce4e5b9));
}

static struct link_key *link_slot(struct link_key *keys, size_t cap, uint64_t dev, uint64_t ino) {
        size_t i = link_hash(dev, ino) & (cap - 1);

        while (keys[i].used && !(keys[i].dev == dev && keys[i].ino == ino))
                i = (i + 1) & (cap - 1);
        return &keys[i];
}

static int link_set_grow(struct link_set *set) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        struct link_key *keys = calloc(cap, sizeof(*keys));
        if (!keys)
                return -ENOMEM;

        for (size_t i = 0; i < set->cap; i++)
                if (set->keys[i].used)
                        *link_slot(keys, cap, set->keys[i].dev, set->keys[i].ino) = set->keys[i];
        free(set->keys);
        set->keys = keys;
        set->cap = cap;
        return 0;
}

/* 1 when (dev, ino) was new, 0 when already counted. */
static int link_set_add(struct link_set *set, uint64_t dev, uint64_t ino) {
        if ((set->n + 1) * 2 > set->cap) {
                int r = link_set_grow(set);
                if (r < 0)
                        return r;
        }
        struct link_key *k = link_slot(set->keys, set->cap, dev, ino);
        if (k->used)
                return 0;
        *k = (struct link_key) { .dev = dev, .ino = ino, .used = true };
        set->n++;
        return 1;
}

/* ------------------------------------------------------------------------ */
/* Stack                                                                    */

static int ds_identity(int fd, struct ds_identity *ret) {
        struct statx stx;
        const unsigned want = STATX_TYPE | STATX_INO | STATX_BLOCKS | STATX_MNT_ID;

        if (statx(fd, "", AT_EMPTY_PATH, want, &stx) == 0 && (stx.stx_mask & want) == want) {
                if (!S_ISDIR(stx.stx_mode))
                        return -ENOTDIR;
                *ret = (struct ds_identity) {
                        .dev = (uint64_t) makedev(stx.stx_dev_major, stx.stx_dev_minor),
                        .ino = stx.stx_ino,
                        .mnt = stx.stx_mnt_id,
                        .blocks = stx.stx_blocks,
                };
                return 0;
        }

        /* Kernels without STATX_MNT_ID: fstat plus the fdinfo fallback. */
        struct stat st;
        uint64_t mnt;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        int r = fs_mount_id(fd, &mnt, NULL);
        if (r < 0)
                return r;
        *ret = (struct ds_identity) {
                .dev = (uint64_t) st.st_dev,
                .ino = (uint64_t) st.st_ino,
                .mnt = mnt,
                .blocks = (uint64_t) st.st_blocks,
        };
        return 0;
}

static void frame_free(struct ds_frame *f) {
        safe_close(f->fd);
        f->fd = -1;
        for (size_t i = f->next; i < f->n_subdirs; i++)
                free(f->subdirs[i]);
        free(f->subdirs);
        *f = (struct ds_frame) { .fd = -1 };
}

static void walk_done(struct ds_walk *w) {
        for (size_t i = 0; i < w->depth; i++)
                frame_free(&w->frames[i]);
        free(w->frames);
        free(w->links.keys);
}

static int push_frame(struct ds_walk *w, int fd, uint64_t ino) {
        if (w->depth == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 64;
                struct ds_frame *f = reallocarray(w->frames, cap, sizeof(*f));
                if (!f)
                        return -ENOMEM;
                w->frames = f;
                w->cap = cap;
        }
        w->frames[w->depth++] = (struct ds_frame) { .fd = fd, .ino = ino };
        w->open_fds++;
        return 0;
}

static int remember_subdir(struct ds_walk *w, struct ds_frame *f, const char *name) {
        if (f->n_subdirs == f->cap_subdirs) {
                size_t cap = f->cap_subdirs ? f->cap_subdirs * 2 : 16;
                char **s = reallocarray(f->subdirs, cap, sizeof(*s));
                if (!s)
                        return -ENOMEM;
                f->subdirs = s;
                f->cap_subdirs = cap;
        }
        char *copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        f->subdirs[f->n_subdirs++] = copy;
        w->pending++;
        return 0;
}

/* ------------------------------------------------------------------------ */
/* Counting                                                                 */

static int count_non_dir(struct ds_walk *w, const struct stat *st) {
        if (st->st_nlink > 1) {
                int r = link_set_add(&w->links, (uint64_t) st->st_dev, (uint64_t) st->st_ino);
                if (r <= 0)
                        return r;
        }
        w->res.bytes += (uint64_t) st->st_blocks * 512u;
        return 0;
}

/* One entry of the directory being listed.  Directories are only noted
 * here; they are counted when entered, once their mount is checked. */
static int list_entry(struct ds_walk *w, struct ds_frame *f, const char *name, unsigned char type) {
        struct stat st;

        if (type == DT_DIR)
                return remember_subdir(w, f, name);
        if (fstatat(f->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        incomplete(w);
                return 0;
        }
        if (S_ISDIR(st.st_mode)) /* DT_UNKNOWN, or replaced since readdir */
                return remember_subdir(w, f, name);
        w->res.entries++;
        return count_non_dir(w, &st);
}

/* Read the whole directory of the top frame (its fd is open). */
static int list_top(struct ds_walk *w) {
        struct ds_frame *f = &w->frames[w->depth - 1];
        char dents[DENTS_BUF_SIZE] __attribute__((aligned(8)));

        for (;;) {
                ssize_t n = getdents64(f->fd, dents, sizeof(dents));
                if (n < 0) {
                        incomplete(w);
                        return 0;
                }
                if (n == 0)
                        return 0;
                for (ssize_t pos = 0; pos < n; ) {
                        struct dirent64 *de = (struct dirent64 *) (dents + pos);
                        pos += de->d_reclen;
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        if (!may_list(w))
                                return 0;
                        int r = list_entry(w, f, de->d_name, de->d_type);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ------------------------------------------------------------------------ */
/* Walking                                                                  */

/* Keep room for the child about to be opened plus one transient fd (the
 * fdinfo fallback).  The root and the current directory stay open. */
static void make_room(struct ds_walk *w) {
        if (w->first_open < 1)
                w->first_open = 1;
        while (w->open_fds + 2 > DIRSIZE_MAX_OPEN_FDS && w->first_open < w->depth - 1) {
                struct ds_frame *f = &w->frames[w->first_open++];
                f->fd = safe_close(f->fd);
                w->open_fds--;
        }
}

/* A subdirectory that turned out not to be one (swapped since listing). */
static int count_swapped(struct ds_walk *w, int dir_fd, const char *name) {
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        if (S_ISDIR(st.st_mode)) {
                incomplete(w); /* flipping back and forth: give up on it */
                return 0;
        }
        w->res.entries++;
        return count_non_dir(w, &st);
}

static int descend(struct ds_walk *w, const char *name) {
        if (!may_examine(w))
                return 0;
        make_room(w);

        int parent_fd = w->frames[w->depth - 1].fd;
        _cleanup_close_ int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOTDIR || errno == ELOOP)
                        return count_swapped(w, parent_fd, name);
                if (errno != ENOENT)
                        incomplete(w); /* EACCES, EMFILE: a part we cannot see */
                return 0;
        }

        struct ds_identity id;
        int r = ds_identity(fd, &id);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                incomplete(w);
                return 0;
        }
        w->res.entries++;
        if (id.dev != w->root.dev || id.mnt != w->root.mnt) {
                w->res.crossed_mount_skipped = true;
                return 0;
        }
        w->res.bytes += id.blocks * 512u;

        r = push_frame(w, fd, id.ino);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return list_top(w);
}

/* Re-enter the closed parent of the top frame through "..": it must be the
 * very directory recorded on the way down. */
static int reopen_parent(struct ds_walk *w) {
        struct ds_frame *top = &w->frames[w->depth - 1];
        struct ds_frame *parent = &w->frames[w->depth - 2];
        struct ds_identity id;

        _cleanup_close_ int fd = openat(top->fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        int r = ds_identity(fd, &id);
        if (r < 0)
                return r;
        if (id.dev != w->root.dev || id.mnt != w->root.mnt || id.ino != parent->ino)
                return -ESTALE;

        parent->fd = TAKE_FD(fd);
        w->open_fds++;
        w->first_open = w->depth - 2;
        return 0;
}

/* The top frame is done: return to its parent. */
static int pop(struct ds_walk *w) {
        if (w->frames[w->depth - 2].fd < 0) {
                int r = reopen_parent(w);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        /* The subtree moved: we no longer know where we are. */
                        stop(w);
                        return 0;
                }
        }
        frame_free(&w->frames[--w->depth]);
        w->open_fds--;
        if (w->first_open > w->depth - 1)
                w->first_open = w->depth - 1;
        return 0;
}

static int walk(struct ds_walk *w) {
        int r = list_top(w);

        while (r >= 0 && !w->stop) {
                struct ds_frame *f = &w->frames[w->depth - 1];
                if (f->next < f->n_subdirs) {
                        _cleanup_free_ char *name = f->subdirs[f->next++];
                        w->pending--;
                        r = descend(w, name);
                } else if (w->depth == 1)
                        break;
                else
                        r = pop(w);
        }
        return r;
}

static int open_root(struct ds_walk *w, int dir_fd) {
        /* A new open file description: listing it leaves the caller's offset
         * alone, and it works for an O_PATH dir_fd too. */
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        int r = ds_identity(fd, &w->root);
        if (r < 0)
                return r;
        r = push_frame(w, fd, w->root.ino);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        w->first_open = 1;
        w->res.entries = 1;
        w->res.bytes = w->root.blocks * 512u;
        return 0;
}

int dirsize_measure(int dir_fd, const struct dirsize_budget *budget, struct dirsize_result *ret) {
        struct ds_walk w = { .res.complete = true };

        if (dir_fd < 0 || !ret)
                return -EINVAL;
        if (budget) {
                w.max_entries = budget->max_entries;
                if (budget->max_usec)
                        w.deadline = now_usec() + budget->max_usec;
        }

        int r = open_root(&w, dir_fd);
        if (r >= 0)
                r = walk(&w);
        walk_done(&w);
        if (r < 0)
                return r;
        *ret = w.res;
        return 0;
}
