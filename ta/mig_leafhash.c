/* A target's leaf hasher for the final phase (ta/leafhash.h). */
#include "ta/leafhash.h"
#include "ta/rt.h"

#include <stdlib.h>
#include <string.h>

#include "core/merkle.h"
#include "talos/err.h"

static void hash_job(const struct leafhash_job *j)
{
    talos_merkle_leaves(j->first, j->pages, j->n, j->slots);
}

static void *run(void *arg)
{
    struct leafhash *h = arg;

    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (h->done == h->posted && !h->end)
            pthread_cond_wait(&h->cond, &h->lock);
        if (h->done == h->posted)
            break; /* the end, and nothing left */
        struct leafhash_job j = h->jobs[h->done];
        pthread_mutex_unlock(&h->lock);
        hash_job(&j);
        pthread_mutex_lock(&h->lock);
        if (++h->done == h->posted)
            pthread_cond_broadcast(&h->idle);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

void leafhash_start(struct leafhash *h, uint32_t cap)
{
    memset(h, 0, sizeof(*h));
    h->on = 1;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    pthread_cond_init(&h->idle, NULL);
    if (!(h->jobs = calloc(cap ? cap : 1, sizeof(*h->jobs))))
        return;
    h->cap = cap;
    h->started = talos_rt_thread_create(&h->thread, run, h) == 0;
}

void leafhash_post(struct leafhash *h, const struct leafhash_job *j)
{
    if (!h->started) {
        hash_job(j);
        return;
    }
    pthread_mutex_lock(&h->lock);
    if (h->posted < h->cap) {
        h->jobs[h->posted++] = *j;
        pthread_cond_signal(&h->cond);
        j = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    if (j) /* more jobs than announced: cannot happen in a checked stream */
        hash_job(j);
}

void leafhash_drain(struct leafhash *h)
{
    if (!h->started)
        return;
    pthread_mutex_lock(&h->lock);
    while (h->done != h->posted)
        pthread_cond_wait(&h->idle, &h->lock);
    pthread_mutex_unlock(&h->lock);
}

void leafhash_finish(struct leafhash *h)
{
    if (h->started) {
        pthread_mutex_lock(&h->lock);
        h->end = 1;
        pthread_cond_signal(&h->cond);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->thread, NULL);
        h->started = 0;
    }
    if (h->jobs) {
        free(h->jobs);
        h->jobs = NULL;
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->cond);
        pthread_cond_destroy(&h->idle);
    }
}
