/* SPDX-License-Identifier: MIT */
/*
 * fd-bound recursive removal, see rmtree.h.
 *
 * One walker (struct rm_walk) empties one directory: an explicit stack of
 * frames, each an open directory stream, closed when the fd budget needs it
 * and re-entered through ".." with its identity re-checked.  In a parallel
 * deletion each thread runs walkers of its own.  A walker that meets a
 * subdirectory while another thread is idle hands it over (rmpool.c) as
 * the fd it has just opened and verified, plus a duplicate of the directory
 * it found it in, and reads that directory again only once the subtree is
 * gone (rm_wait_frame).  Nothing is ever looked up by path, by any thread.
 *
 * Threat model (as for fsutil.c): other local users or processes may
 * rename, replace, symlink or mount things anywhere they can write, also
 * inside the tree while it is being deleted.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "rmpool.h"
#include "rmtree.h"
#include "util.h"

/* Fewest fds the walk needs: the root stream, the current directory, the
 * child being opened and the transient fdinfo read of the mount-id fallback. */
#define RM_MIN_OPEN_FDS 4

/* Readdir passes over one directory that each removed something: normally
 * two (the second finds it empty).  More means someone keeps creating
 * entries; stop rather than race them forever. */
#define RM_MAX_PASSES 16

/* Parallel deletion.  A walker hands a subdirectory over only from one of
 * its first RM_OFFER_DEPTH frames, each with a counter of the subtrees it
 * handed over; deeper down it keeps them (the top of a tree gives workers
 * plenty to take). */
#define RM_OFFER_DEPTH 16

/* Threads (the caller's included) a deletion uses by default, at most: the
 * threads of one deletion share the filesystem's locks, so more of them
 * soon stop paying, and a sweep should not crowd a big machine. */
#define RM_DEFAULT_MAX_THREADS 4

/* Hard cap on max_workers, whatever the caller asks for. */
#define RM_MAX_WORKERS 64

/* A worker's fd share: a walk of its own plus the duplicate of the directory
 * it removes its subtree from. */
#define RM_WORKER_MIN_FDS (RM_MIN_OPEN_FDS + 1)

struct rm_frame {
        DIR *dir;          /* NULL while closed to stay within the fd budget */
        char *name;        /* entry name inside the parent frame; NULL for the root */
        uint64_t ino;      /* identity recorded when first opened (dev is the root's) */
        bool progress;     /* something was removed during the current readdir pass */
        unsigned passes;   /* passes of the current stream */
};

/* What the walkers of one parallel deletion share. */
struct rm_shared {
        struct rm_pool *pool;
        uint64_t offer_min_size;      /* rm_opts.offer_min_size, for every walker */
        _Atomic uint64_t files;       /* removed by the walks of handed-over subtrees */
        _Atomic uint64_t dirs;        /* (the caller's walker counts its own in its stats) */
};

struct rm_walk {
        struct rm_frame *frames;
        size_t depth;        /* frames in use; frames[depth - 1] is the current dir */
        size_t cap;
        size_t first_open;   /* frames [1, first_open) are closed, [first_open, depth) open */
        unsigned open_fds;
        unsigned max_open_fds;
        struct fs_dir_identity root; /* every directory must share its dev and mount */
        struct rm_stats *stats;
        void (*fault_mid_delete)(void);
        void (*fault_while_shared)(void);
        bool removed_any;
        bool handed_over;         /* a subtree went to another thread (for the hook) */
        struct rm_shared *shared; /* NULL: nothing is handed over */
        uint64_t removed;         /* entries this walker removed... */
        uint64_t offer_after;     /* ...before it may hand subtrees over */
        uint64_t offer_min_size;  /* smallest directory (st_size) it hands over */
        atomic_uint pending[RM_OFFER_DEPTH]; /* handed over from frames[i], unfinished */
};

/* A subtree handed over to a worker: the directory, opened and verified by
 * the walker that found it, and where it was found, so that the worker can
 * remove it there once it is empty. */
struct rm_item {
        struct rm_task task;      /* first member: the pool hands this back */
        struct rm_shared *shared;
        int parent_fd;            /* a duplicate of the finder's current directory */
        int fd;
        struct fs_dir_identity id;
        char name[];              /* the entry name in parent_fd */
};

static int rm_walk_run(struct rm_walk *w, int fd, const struct fs_dir_identity *id);

/* Subtrees handed over from frames[i] must be finished before the walker
 * reads that directory again (a new pass, or a stream reopened via ".."):
 * it would find a subdirectory a worker is still emptying and walk into it
 * too, and two walkers in one subtree take each other's removals for
 * identity changes.  While waiting, the thread takes on queued subtrees
 * with the fds its walk does not use at the moment. */
static void rm_wait_frame(struct rm_walk *w, size_t i) {
        if (!w->shared || i >= RM_OFFER_DEPTH)
                return;
        unsigned spare = w->open_fds < w->max_open_fds ? w->max_open_fds - w->open_fds : 0;
        rm_pool_wait(w->shared->pool, &w->pending[i], spare);
}

static void rm_walk_done(struct rm_walk *w) {
        /* Also on failure: workers still hold this walker's counters. */
        for (size_t i = 0; i < RM_OFFER_DEPTH; i++)
                rm_wait_frame(w, i);
        for (size_t i = 0; i < w->depth; i++) {
                if (w->frames[i].dir)
                        closedir(w->frames[i].dir);
                free(w->frames[i].name);
        }
        free(w->frames);
        w->frames = NULL;
        w->depth = 0;
}

static int rm_push(struct rm_walk *w, int fd, char *name, uint64_t ino) {
        if (w->depth == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 64;
                struct rm_frame *f = reallocarray(w->frames, cap, sizeof(*f));
                if (!f)
                        return -ENOMEM;
                w->frames = f;
                w->cap = cap;
        }

        DIR *d = fdopendir(fd);
        if (!d)
                return negative_errno();

        w->frames[w->depth++] = (struct rm_frame) { .dir = d, .name = name, .ino = ino };
        w->open_fds++;
        return 0;
}

static void rm_note_removed(struct rm_walk *w, struct rm_frame *f) {
        f->progress = true;
        w->removed++;
        if (!w->removed_any) {
                w->removed_any = true;
                if (w->fault_mid_delete)
                        w->fault_mid_delete();
        }
        if (w->handed_over && w->fault_while_shared) {
                void (*hook)(void) = w->fault_while_shared;
                w->fault_while_shared = NULL;
                hook();
        }
}

/* Keep room for the child about to be opened plus the fdinfo fallback's
 * transient fd.  Ancestors closest to the root are needed last, so they go
 * first; the root stream and the current directory always stay open. */
static void rm_make_room(struct rm_walk *w) {
        while (w->open_fds + 2 > w->max_open_fds && w->first_open < w->depth - 1) {
                struct rm_frame *f = &w->frames[w->first_open++];
                closedir(f->dir);
                f->dir = NULL;
                w->open_fds--;
        }
        if (w->first_open < 1)
                w->first_open = 1;
}

/* rmdir name in parent_fd if it still is the directory (dev, ino) that was
 * emptied.  Defends against the emptied directory being moved away and
 * another one put under its name: that one was never walked and is not ours
 * to remove (-ESTALE, like any identity change).  What could still be
 * swapped in between this check and the rmdir is only ever an empty
 * directory of the tree: rmdir refuses a non-empty one (ENOTEMPTY) and a
 * mount point (EBUSY), and parent_fd pins the directory it happens in. */
static int rm_dir_if_same(int parent_fd, const char *name, uint64_t dev, uint64_t ino) {
        struct stat st;

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? -ESTALE : negative_errno();
        if ((uint64_t) st.st_dev != dev || (uint64_t) st.st_ino != ino)
                return -ESTALE;
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0)
                return negative_errno();
        return 0;
}

/* A handed-over subtree, on a worker (or on a walker that waits and helps,
 * nested in its wait): empty it with a walker of its own (which hands parts
 * on in turn when threads are idle), then remove the directory itself from
 * the one it was found in.  The walk is the same as the caller's: same
 * mount (the root identity is the subtree's, which was checked against the
 * deletion's root), same ".." re-checks, same budget rule, on max_fds. */
static int rm_item_run(struct rm_task *task, unsigned max_fds) {
        struct rm_item *it = (struct rm_item *) task;
        struct rm_shared *sh = it->shared;
        struct rm_stats st = { 0 };
        struct rm_walk w = {
                .max_open_fds = max_fds - 1, /* the other one is parent_fd */
                .stats = &st,
                .shared = sh,
                .offer_min_size = sh->offer_min_size,
        };

        int r = rm_walk_run(&w, TAKE_FD(it->fd), &it->id);
        if (r >= 0) {
                r = rm_dir_if_same(it->parent_fd, it->name, it->id.dev, it->id.ino);
                if (r >= 0)
                        st.dirs++;
        }
        atomic_fetch_add(&sh->files, st.files);
        atomic_fetch_add(&sh->dirs, st.dirs);
        safe_close(it->parent_fd);
        free(it);
        return r;
}

static bool rm_may_offer(const struct rm_walk *w) {
        return w->shared && w->depth <= RM_OFFER_DEPTH && w->removed >= w->offer_after &&
               rm_pool_may_accept(w->shared->pool);
}

/* Hand the subdirectory open at *fd (name in the current directory, with
 * identity id) to a worker.  true: a worker took it, and *fd with it.
 * false, also when the hand-over cannot be prepared: walk it here.  No path
 * is involved: the worker gets the very fds this walker verified. */
static bool rm_offer(struct rm_walk *w, const char *name, int *fd, const struct fs_dir_identity *id) {
        size_t top = w->depth - 1;
        size_t len = strlen(name);
        struct rm_item *it = malloc(sizeof(*it) + len + 1);

        if (!it)
                return false;
        it->task = (struct rm_task) { .counter = &w->pending[top], .run = rm_item_run };
        it->shared = w->shared;
        it->fd = *fd;
        it->id = *id;
        memcpy(it->name, name, len + 1);
        it->parent_fd = fcntl(dirfd(w->frames[top].dir), F_DUPFD_CLOEXEC, 3);
        if (it->parent_fd < 0 || !rm_pool_offer(w->shared->pool, &it->task)) {
                safe_close(it->parent_fd);
                free(it);
                return false;
        }
        /* it belongs to the worker now (and may be freed already). */
        *fd = -1;
        w->handed_over = true;
        w->frames[top].progress = true; /* so the directory is read again after */
        return true;
}

/* Descend into name of the current directory, or hand it to a worker.
 * -ENOENT: vanished; -ELOOP/-ENOTDIR: no longer a directory; -EXDEV:
 * another mount. */
static int rm_descend(struct rm_walk *w, const char *name) {
        rm_make_room(w);

        int parent_fd = dirfd(w->frames[w->depth - 1].dir);
        struct fs_dir_identity id;
        _cleanup_close_ int fd = fs_open_child_on_mount(parent_fd, name, &w->root, &id);
        if (fd < 0)
                return fd;
        if (id.size >= w->offer_min_size && rm_may_offer(w) && rm_offer(w, name, &fd, &id))
                return 0;

        _cleanup_free_ char *copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        int r = rm_push(w, fd, copy, id.ino);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        TAKE_PTR(copy);
        return 0;
}

static int entry_type_unknown_is_dir(int dir_fd, const char *name, bool *ret_is_dir) {
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        *ret_is_dir = S_ISDIR(st.st_mode);
        return 0;
}

/* Remove (or descend into) one entry of the current directory.  d_type is
 * trusted only to pick the first attempt: every syscall re-checks the type
 * (unlinkat(0) refuses directories, openat(O_DIRECTORY|O_NOFOLLOW) refuses
 * symlinks and files), so an entry swapped under us is re-examined with
 * fstatat and handled as what it now is.  A symlink is only ever unlinked. */
static int rm_entry(struct rm_walk *w, const char *name, unsigned char d_type) {
        size_t top = w->depth - 1;
        int fd = dirfd(w->frames[top].dir);
        bool is_dir;
        int r;

        if (d_type == DT_UNKNOWN) {
                r = entry_type_unknown_is_dir(fd, name, &is_dir);
                if (r < 0)
                        return r == -ENOENT ? 0 : r;
        } else
                is_dir = d_type == DT_DIR;

        /* Bounded: an attacker flipping the entry between a directory and a
         * symlink must not keep us busy forever. */
        for (unsigned attempt = 0; attempt < 4; attempt++) {
                if (!is_dir) {
                        if (unlinkat(fd, name, 0) == 0) {
                                if (w->stats)
                                        w->stats->files++;
                                rm_note_removed(w, &w->frames[top]);
                                return 0;
                        }
                        if (errno == ENOENT)
                                return 0;
                        if (errno != EISDIR && errno != EPERM)
                                return negative_errno();
                        r = -errno;
                } else {
                        r = rm_descend(w, name);
                        if (r == 0 || r == -ENOENT)
                                return 0;
                        if (r != -ELOOP && r != -ENOTDIR)
                                return r;
                }

                /* Replaced since readdir (or EPERM for a reason other than
                 * being a directory): look again without following. */
                int q = entry_type_unknown_is_dir(fd, name, &is_dir);
                if (q == -ENOENT)
                        return 0;
                if (q < 0)
                        return r;
                if (r == -EPERM && !is_dir)
                        return r; /* a real permission problem */
        }
        return -EBUSY;
}

/* Bring the parent of the current frame back after it was closed for the fd
 * budget: reopen it through ".." of the child and check it is the very
 * directory recorded on the way down.  A mismatch means someone moved the
 * subtree: -ESTALE, and nothing more is deleted. */
static int rm_reopen_parent(struct rm_walk *w) {
        size_t top = w->depth - 1;
        struct rm_frame *parent = &w->frames[top - 1];
        struct fs_dir_identity id;

        rm_wait_frame(w, top - 1); /* the new stream starts a new pass */
        _cleanup_close_ int fd = openat(dirfd(w->frames[top].dir), "..",
                                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        int r = fs_dir_identity(fd, &id);
        if (r < 0)
                return r;
        if (id.dev != w->root.dev || id.ino != parent->ino || id.mnt != w->root.mnt)
                return -ESTALE;

        parent->dir = fdopendir(fd);
        if (!parent->dir)
                return negative_errno();
        TAKE_FD(fd);
        parent->progress = false; /* a fresh stream starts afresh */
        parent->passes = 0;
        w->open_fds++;
        w->first_open = top - 1;
        return 0;
}

/* The current directory is empty: close it, return to its parent and remove
 * it there, after checking the name still refers to it (a directory moved
 * away and replaced by another one is not ours to rmdir). */
static int rm_pop(struct rm_walk *w) {
        size_t top = w->depth - 1;
        struct rm_frame *child = &w->frames[top];
        int r;

        if (!w->frames[top - 1].dir) {
                r = rm_reopen_parent(w);
                if (r < 0)
                        return r;
        }
        closedir(child->dir);
        child->dir = NULL;
        w->open_fds--;

        struct rm_frame *parent = &w->frames[top - 1];
        int parent_fd = dirfd(parent->dir);
        r = rm_dir_if_same(parent_fd, child->name, w->root.dev, child->ino);
        if (r < 0)
                return r;

        if (w->stats)
                w->stats->dirs++;
        rm_note_removed(w, parent);
        free(child->name);
        child->name = NULL;
        w->depth--;
        if (w->first_open > w->depth)
                w->first_open = w->depth;
        return 0;
}


/* End of a readdir pass over the current directory. */
static int rm_end_of_dir(struct rm_walk *w, bool *ret_done) {
        rm_wait_frame(w, w->depth - 1);

        struct rm_frame *f = &w->frames[w->depth - 1];

        /* Removing entries while reading is fine on Linux filesystems, but an
         * extra pass after a pass that removed something (one short getdents)
         * makes "empty" not depend on that. */
        if (f->progress) {
                if (++f->passes >= RM_MAX_PASSES)
                        return -ENOTEMPTY;
                f->progress = false;
                rewinddir(f->dir);
                return 0;
        }
        if (w->depth == 1) {
                *ret_done = true;
                return 0;
        }
        return rm_pop(w);
}

/* Empty the directory open at fd, whose identity is id.  The walk owns fd
 * from here on, also when failing. */
static int rm_walk_run(struct rm_walk *w, int fd, const struct fs_dir_identity *id) {
        bool done = false;

        w->root = *id;
        int r = rm_push(w, fd, NULL, id->ino);
        if (r < 0)
                safe_close(fd);
        w->first_open = 1;

        while (r >= 0 && !done) {
                /* Another walker of this deletion failed: stop too, the
                 * first error is the one reported. */
                if (w->shared && rm_pool_error(w->shared->pool) != 0) {
                        r = -ECANCELED;
                        break;
                }

                struct rm_frame *f = &w->frames[w->depth - 1];
                errno = 0;
                struct dirent *de = readdir(f->dir);
                if (!de) {
                        r = errno != 0 ? negative_errno() : rm_end_of_dir(w, &done);
                        continue;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = rm_entry(w, de->d_name, de->d_type);
        }

        /* Make the others stop before waiting for them. */
        if (r < 0 && w->shared)
                rm_pool_fail(w->shared->pool, r);
        rm_walk_done(w);
        return r < 0 ? r : 0;
}

static int rm_open_root(int dir_fd, int *ret_fd, struct fs_dir_identity *ret_id) {
        /* A new open file description: reading it does not move the caller's
         * offset, and it works for an O_PATH dir_fd too. */
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        /* Without a mount id we could not tell a mount point from a plain
         * directory: refuse before deleting anything. */
        int r = fs_dir_identity(fd, ret_id);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

unsigned fs_remove_default_workers(void) {
        cpu_set_t set;
        long cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
                                                                 : sysconf(_SC_NPROCESSORS_ONLN);

        if (cpus < 1)
                cpus = 1;
        if (cpus > RM_DEFAULT_MAX_THREADS)
                cpus = RM_DEFAULT_MAX_THREADS;
        return (unsigned) cpus - 1;
}

/* How many workers the fd budget allows, and each one's share.  The
 * caller's walker keeps max_open_fds - workers * share, never less than a
 * share; with too small a budget for one worker the deletion stays
 * single-threaded. */
static unsigned rm_plan_workers(unsigned max_open_fds, unsigned want, unsigned *ret_share) {
        if (want > RM_MAX_WORKERS)
                want = RM_MAX_WORKERS;
        for (; want > 0; want--) {
                unsigned share = max_open_fds / (want + 1);
                if (share >= RM_WORKER_MIN_FDS) {
                        *ret_share = share;
                        return want;
                }
        }
        *ret_share = 0;
        return 0;
}

int fs_remove_contents_opts(int dir_fd, const struct rm_opts *opts, struct rm_stats *stats) {
        struct rm_shared shared = { 0 };
        struct fs_dir_identity id;
        int fd = -1;
        int r;

        if (dir_fd < 0 || !opts || opts->max_open_fds < RM_MIN_OPEN_FDS)
                return -EINVAL;
        if (stats)
                *stats = (struct rm_stats) { 0 };
        shared.offer_min_size = opts->offer_min_size;

        unsigned share;
        unsigned workers = rm_plan_workers(opts->max_open_fds, opts->max_workers, &share);
        if (workers > 0) {
                r = rm_pool_new(workers, share, RM_WORKER_MIN_FDS, &shared.pool);
                if (r < 0)
                        return r;
        }
        struct rm_walk w = {
                .max_open_fds = opts->max_open_fds - workers * share,
                .stats = stats,
                .fault_mid_delete = opts->fault_mid_delete,
                .fault_while_shared = opts->fault_while_shared,
                .shared = shared.pool ? &shared : NULL,
                .offer_after = opts->workers_after,
                .offer_min_size = opts->offer_min_size,
        };

        r = rm_open_root(dir_fd, &fd, &id);
        if (r >= 0)
                r = rm_walk_run(&w, fd, &id);

        /* Every subtree handed over has finished (rm_walk_run waited). */
        if (shared.pool) {
                int first = rm_pool_error(shared.pool);
                if (first < 0)
                        r = first;
                if (stats) {
                        stats->files += atomic_load(&shared.files);
                        stats->dirs += atomic_load(&shared.dirs);
                        stats->workers = rm_pool_workers(shared.pool);
                }
                rm_pool_free(shared.pool);
        }
        return r;
}

int fs_remove_contents(int dir_fd, unsigned max_open_fds, struct rm_stats *stats,
                       void (*fault_mid_delete)(void)) {
        struct rm_opts opts = {
                .max_open_fds = max_open_fds,
                .fault_mid_delete = fault_mid_delete,
        };
        return fs_remove_contents_opts(dir_fd, &opts, stats);
}
