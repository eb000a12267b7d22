/* SPDX-License-Identifier: MIT */
/*
 * Worker pool for parallel subtree deletion; see rmpool.h for the contract.
 *
 * One mutex guards the queue and the thread accounting, one condition
 * variable announces every change (a task queued, a task finished, the pool
 * stopping) to every thread that waits: idle workers and waiting walkers.
 * With a handful of threads a broadcast costs less than keeping them apart.
 *
 * The invariant that keeps it free of deadlocks: queued <= idle, where idle
 * counts the threads inside the pool's wait loops that may take a task.  A
 * task is queued only when it holds (rm_pool_offer), and a thread leaves
 * the idle count only by taking a task or when the others still cover the
 * queue (rm_pool_wait).  `idle` and `queued` are also read without the
 * lock, as a hint, so that a walker that finds everybody busy pays no lock
 * per subdirectory.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "rmpool.h"

/* Workers only walk directories: an explicit stack of frames on the heap,
 * a few small buffers on the stack, and a walk nested in a wait for each
 * task they help with (bounded by the fds that needs).  Far more than
 * enough, also under the sanitizers, and it keeps the address space small. */
#define RM_POOL_STACK_SIZE (1024u * 1024u)

struct rm_pool {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        struct rm_task *head, *tail;
        atomic_uint queued;        /* tasks in the queue, not yet taken */
        atomic_uint idle;          /* threads in a wait loop that may take one */
        atomic_bool can_grow;      /* started < max_workers, and no pthread_create failed */
        atomic_int error;
        unsigned started;
        unsigned max_workers;
        unsigned worker_fds;
        unsigned min_task_fds;
        bool stopping;
        pthread_t *threads;
};

int rm_pool_new(unsigned max_workers, unsigned worker_fds, unsigned min_task_fds,
                struct rm_pool **ret) {
        struct rm_pool *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->threads = calloc(max_workers ? max_workers : 1, sizeof(*p->threads));
        if (!p->threads) {
                free(p);
                return -ENOMEM;
        }
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->changed, NULL);
        p->max_workers = max_workers;
        p->worker_fds = worker_fds;
        p->min_task_fds = min_task_fds;
        atomic_init(&p->can_grow, max_workers > 0);
        *ret = p;
        return 0;
}

/* With the lock held, by a thread counted idle: take the first task, run it
 * unlocked, and be idle again. */
static void run_one(struct rm_pool *p, unsigned max_fds) {
        struct rm_task *t = p->head;

        p->head = t->next;
        if (!p->head)
                p->tail = NULL;
        atomic_fetch_sub(&p->queued, 1);
        atomic_fetch_sub(&p->idle, 1);
        pthread_mutex_unlock(&p->lock);

        /* The task frees itself: keep what is needed after. */
        atomic_uint *counter = t->counter;
        int r = t->run(t, max_fds);

        pthread_mutex_lock(&p->lock);
        if (r < 0 && r != -ECANCELED) {
                int none = 0;
                atomic_compare_exchange_strong(&p->error, &none, r);
        }
        atomic_fetch_sub(counter, 1);
        atomic_fetch_add(&p->idle, 1);
        pthread_cond_broadcast(&p->changed);
}

static void *worker_main(void *arg) {
        struct rm_pool *p = arg;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                if (p->head)
                        run_one(p, p->worker_fds);
                else if (p->stopping)
                        break;
                else
                        pthread_cond_wait(&p->changed, &p->lock);
        }
        atomic_fetch_sub(&p->idle, 1);
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

/* Start one more worker; called with the lock held.  It counts as idle from
 * now on, so the task about to be queued is guaranteed a taker. */
static bool start_worker(struct rm_pool *p) {
        pthread_attr_t attr;
        sigset_t all;
        bool ok = false;

        if (!atomic_load(&p->can_grow))
                return false;
        if (pthread_attr_init(&attr) == 0) {
                sigfillset(&all);
                ok = pthread_attr_setsigmask_np(&attr, &all) == 0 &&
                     pthread_attr_setstacksize(&attr, RM_POOL_STACK_SIZE) == 0 &&
                     pthread_create(&p->threads[p->started], &attr, worker_main, p) == 0;
                pthread_attr_destroy(&attr);
        }
        if (!ok) {
                atomic_store(&p->can_grow, false); /* e.g. EAGAIN: go on with what we have */
                return false;
        }
        p->started++;
        atomic_fetch_add(&p->idle, 1);
        if (p->started == p->max_workers)
                atomic_store(&p->can_grow, false);
        return true;
}

bool rm_pool_may_accept(struct rm_pool *p) {
        if (atomic_load_explicit(&p->idle, memory_order_relaxed) >
            atomic_load_explicit(&p->queued, memory_order_relaxed))
                return true;
        return atomic_load_explicit(&p->can_grow, memory_order_relaxed) &&
               !atomic_load_explicit(&p->error, memory_order_relaxed);
}

bool rm_pool_offer(struct rm_pool *p, struct rm_task *task) {
        bool taken = false;

        pthread_mutex_lock(&p->lock);
        if (atomic_load(&p->error) == 0 &&
            (atomic_load(&p->idle) > atomic_load(&p->queued) || start_worker(p))) {
                atomic_fetch_add(task->counter, 1);
                task->next = NULL;
                if (p->tail)
                        p->tail->next = task;
                else
                        p->head = task;
                p->tail = task;
                atomic_fetch_add(&p->queued, 1);
                pthread_cond_broadcast(&p->changed);
                taken = true;
        }
        pthread_mutex_unlock(&p->lock);
        return taken;
}

void rm_pool_wait(struct rm_pool *p, atomic_uint *counter, unsigned spare_fds) {
        bool helps = spare_fds >= p->min_task_fds;

        /* Decrements happen under the lock, so checking again under it
         * cannot miss the broadcast. */
        if (atomic_load(counter) == 0)
                return;
        pthread_mutex_lock(&p->lock);
        if (helps)
                atomic_fetch_add(&p->idle, 1);
        for (;;) {
                bool finished = atomic_load(counter) == 0;
                /* Once finished, take a task only if leaving would leave
                 * the queue short of takers. */
                if (helps && p->head &&
                    (!finished || atomic_load(&p->queued) >= atomic_load(&p->idle)))
                        run_one(p, spare_fds);
                else if (finished)
                        break;
                else
                        pthread_cond_wait(&p->changed, &p->lock);
        }
        if (helps)
                atomic_fetch_sub(&p->idle, 1);
        pthread_mutex_unlock(&p->lock);
}

void rm_pool_fail(struct rm_pool *p, int err) {
        int none = 0;

        if (err < 0 && err != -ECANCELED)
                atomic_compare_exchange_strong(&p->error, &none, err);
}

int rm_pool_error(struct rm_pool *p) {
        return atomic_load_explicit(&p->error, memory_order_relaxed);
}

unsigned rm_pool_workers(struct rm_pool *p) {
        pthread_mutex_lock(&p->lock);
        unsigned n = p->started;
        pthread_mutex_unlock(&p->lock);
        return n;
}

void rm_pool_free(struct rm_pool *p) {
        if (!p)
                return;

        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 0; i < p->started; i++)
                pthread_join(p->threads[i], NULL);

        pthread_cond_destroy(&p->changed);
        pthread_mutex_destroy(&p->lock);
        free(p->threads);
        free(p);
}
