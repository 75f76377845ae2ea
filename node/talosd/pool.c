/* A warm pool of virgin targets: one restore-mode TA per image, started
 * ahead of time, so that an arriving migration does not wait for a process
 * launch (and the target's first-use costs) on its critical path.
 *
 * A pooled target is exactly as untrusted as a fresh one: it holds no
 * lineage, and the source attests it during the migration like any other.
 * It is refilled in the background after each use. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "node/talosd/node.h"

#define POOL_MAX 16

struct slot {
    uint8_t sha[TALOS_SHA256_BYTES];
    int mode; /* 0 passive, 1 switchless */
    struct talos_ta *ta;
    char path[PATH_MAX];
    struct stat st; /* the image file as it was when the target started */
};

/* The store is content-addressed and files are never rewritten; if one was
 * anyway (an operator, a test acting as a hostile host), a target started
 * from the old bytes must not be handed out under the new ones. */
static int same_file(const struct slot *s)
{
    struct stat now;
    return stat(s->path, &now) == 0 && now.st_dev == s->st.st_dev && now.st_ino == s->st.st_ino &&
           now.st_size == s->st.st_size && now.st_mtim.tv_sec == s->st.st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == s->st.st_mtim.tv_nsec;
}

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_idle = PTHREAD_COND_INITIALIZER;
static struct slot pool[POOL_MAX];
static int inflight; /* fill threads running (under pool_lock) */
static int closing;

static struct slot *find(const uint8_t sha[TALOS_SHA256_BYTES], int mode)
{
    for (size_t i = 0; i < POOL_MAX; i++)
        if (pool[i].ta && pool[i].mode == mode && memcmp(pool[i].sha, sha, TALOS_SHA256_BYTES) == 0)
            return &pool[i];
    return NULL;
}

struct talos_ta *pool_take(const uint8_t sha[TALOS_SHA256_BYTES], int mode)
{
    struct talos_ta *ta = NULL;
    pthread_mutex_lock(&pool_lock);
    struct slot *s = find(sha, mode);
    struct talos_ta *stale = NULL;
    if (s) {
        if (same_file(s))
            ta = s->ta;
        else
            stale = s->ta;
        s->ta = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    talos_ta_destroy(stale);
    return ta;
}

struct fill_job {
    uint8_t sha[TALOS_SHA256_BYTES];
    int mode;
    unsigned delay_ms;
    char path[PATH_MAX];
};

static void *fill_thread(void *arg)
{
    struct fill_job *j = arg;
    struct talos_ta_options opt = {.mode = j->mode ? TALOS_CALL_SWITCHLESS : TALOS_CALL_PASSIVE,
                                   .ocalls = node_ocalls, .n_ocalls = node_n_ocalls};
    struct talos_ta *ta = NULL;
    struct stat st;
    if (j->delay_ms) {
        struct timespec d = {.tv_sec = j->delay_ms / 1000, .tv_nsec = (long)(j->delay_ms % 1000) * 1000000};
        nanosleep(&d, NULL);
    }
    char path[PATH_MAX];
    /* A stored image is hashed again when used (images_have). */
    int rc = images_have(j->sha, path, sizeof(path)) && stat(path, &st) == 0
                 ? talos_ta_create_target(node.host, path, &opt, &ta)
                 : TALOS_ERR_IMAGE;

    /* Warm memory too: an import then writes into touched pages. */
    if (rc == TALOS_OK && node.pool_arena && (rc = talos_ta_prefault(ta, node.pool_arena)) != TALOS_OK) {
        talos_ta_destroy(ta);
        ta = NULL;
    }
    if (rc != TALOS_OK)
        TLOG_WARN("pool: cannot pre-start a target of %s: %s", j->path, talos_strerror(rc));
    pthread_mutex_lock(&pool_lock);
    struct slot *free_slot = NULL;
    if (ta && !closing && !find(j->sha, j->mode))
        for (size_t i = 0; i < POOL_MAX && !free_slot; i++)
            if (!pool[i].ta)
                free_slot = &pool[i];
    if (free_slot) {
        memcpy(free_slot->sha, j->sha, TALOS_SHA256_BYTES);
        free_slot->mode = j->mode;
        free_slot->ta = ta;
        free_slot->st = st;
        snprintf(free_slot->path, sizeof(free_slot->path), "%s", j->path);
        ta = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    talos_ta_destroy(ta); /* the pool was full or already had one */
    free(j);
    pthread_mutex_lock(&pool_lock);
    inflight--;
    pthread_cond_broadcast(&pool_idle);
    pthread_mutex_unlock(&pool_lock);
    return NULL;
}

void pool_fill(const uint8_t sha[TALOS_SHA256_BYTES], int mode, const char *path, unsigned delay_ms)
{
    struct fill_job *j = calloc(1, sizeof(*j));
    pthread_t t;

    if (!j)
        return;
    memcpy(j->sha, sha, TALOS_SHA256_BYTES);
    j->mode = mode;
    j->delay_ms = delay_ms;
    snprintf(j->path, sizeof(j->path), "%s", path);
    pthread_mutex_lock(&pool_lock);
    if (closing) {
        pthread_mutex_unlock(&pool_lock);
        free(j);
        return;
    }
    inflight++;
    pthread_mutex_unlock(&pool_lock);
    if (pthread_create(&t, NULL, fill_thread, j) != 0) {
        free(j);
        pthread_mutex_lock(&pool_lock);
        inflight--;
        pthread_mutex_unlock(&pool_lock);
        return;
    }
    pthread_detach(t);
}

void pool_shutdown(void)
{
    struct timespec until;

    /* Let targets being started finish (bounded), so that none outlives
     * the node and no fill thread is still running when the process ends. */
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&pool_lock);
    closing = 1;
    while (inflight > 0 && pthread_cond_timedwait(&pool_idle, &pool_lock, &until) == 0)
        ;
    for (size_t i = 0; i < POOL_MAX; i++) {
        talos_ta_destroy(pool[i].ta);
        pool[i].ta = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
}
