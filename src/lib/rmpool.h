/* SPDX-License-Identifier: MIT */
/*
 * The worker pool behind parallel subtree deletion (rmtree.c).  It knows
 * nothing about files: it runs tasks that a walker hands over, on at most
 * max_workers threads started lazily, and keeps the bookkeeping the walkers
 * need to stay correct when work runs elsewhere:
 *
 *  - a task is accepted only when a thread is free to run it right away (an
 *    idle worker, a walker waiting with fds to spare, or a new worker), so
 *    every queued task has a taker and no thread holds more than one task's
 *    fds beyond its own walk's;
 *  - every task is counted on a counter of the walker that handed it over,
 *    which waits for that counter before it reads the directory again, and
 *    meanwhile runs queued tasks itself if it has fds to spare (so nobody
 *    idles while a subtree waits for a taker);
 *  - the first error of any task is kept, and every walker can see that the
 *    deletion failed and stop (cancellation is cooperative).
 *
 * Workers block all signals: a signal meant for the process is handled by
 * the thread that called in, as before threads existed.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct rm_pool;

struct rm_task {
        struct rm_task *next;          /* queue link, the pool's */
        atomic_uint *counter;          /* the handing walker's pending count */
        /* Runs the task with at most max_fds fds open, and frees it.  A
         * negative result other than -ECANCELED becomes the pool's error
         * if it is the first. */
        int (*run)(struct rm_task *task, unsigned max_fds);
};

/* A pool for up to max_workers threads (none started yet), each running
 * tasks with worker_fds fds; a waiting walker helps only with at least
 * min_task_fds to spare.  -ENOMEM. */
int rm_pool_new(unsigned max_workers, unsigned worker_fds, unsigned min_task_fds,
                struct rm_pool **ret);

/* Stop the workers (all handed-over tasks must be finished: walkers wait for
 * their counters first) and free the pool.  NULL is fine. */
void rm_pool_free(struct rm_pool *pool);

/* Cheap, lock-free hint: could a task be accepted now?  A false "yes" only
 * costs the caller a rm_pool_offer() that declines. */
bool rm_pool_may_accept(struct rm_pool *pool);

/* Hand task over if a thread can start it right away (an idle one, or a new
 * worker while fewer than max_workers exist): then counts it on
 * task->counter and returns true; the task now belongs to the pool.  false:
 * the caller keeps the task and does the work itself (also when a thread
 * could not be started: the deletion goes on without it). */
bool rm_pool_offer(struct rm_pool *pool, struct rm_task *task);

/* Block until every task counted on counter has finished.  Meanwhile, with
 * spare_fds >= min_task_fds, run queued tasks (with spare_fds fds). */
void rm_pool_wait(struct rm_pool *pool, atomic_uint *counter, unsigned spare_fds);

/* Record err as the pool's error unless one was recorded first. */
void rm_pool_fail(struct rm_pool *pool, int err);

/* The first error recorded, 0 if none: walkers poll it to stop early. */
int rm_pool_error(struct rm_pool *pool);

/* Threads started so far (never more than max_workers). */
unsigned rm_pool_workers(struct rm_pool *pool);
