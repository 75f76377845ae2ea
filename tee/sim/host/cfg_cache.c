/* CFG extraction of a 5.6 MB static image takes ~0.3 s: far too slow for a
 * migration's critical path, fine at launch (the node keeps a warm pool of
 * targets, D12) and once per image file, like the measurement cache. */
#include "tee/sim/host/cfg_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "tools/cfg/cfg.h"

/* A few images per node; each entry holds a CFG file of a few MB. */
#define CFG_CACHE_SLOTS 4

struct cfg_entry {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    uint8_t digest[TALOS_CFG_DIGEST_BYTES];
    uint8_t *file;
    size_t file_len;
};

struct sim_cfg_cache {
    pthread_mutex_t lock;
    struct cfg_entry e[CFG_CACHE_SLOTS];
    size_t next;
};

int sim_cfg_cache_new(struct sim_cfg_cache **out)
{
    struct sim_cfg_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return TALOS_ERR_NOMEM;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return TALOS_OK;
}

void sim_cfg_cache_free(struct sim_cfg_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < CFG_CACHE_SLOTS; i++)
        free(c->e[i].file);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int same_file(const struct cfg_entry *e, const struct stat *st)
{
    return e->file && e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Copy out of a cached entry (lock held). */
static int give(const struct cfg_entry *e, uint8_t digest[TALOS_CFG_DIGEST_BYTES],
                uint8_t **file, size_t *file_len)
{
    memcpy(digest, e->digest, TALOS_CFG_DIGEST_BYTES);
    if (!file)
        return TALOS_OK;
    if (!(*file = malloc(e->file_len)))
        return TALOS_ERR_NOMEM;
    memcpy(*file, e->file, e->file_len);
    *file_len = e->file_len;
    return TALOS_OK;
}

int sim_cfg_cache_get(struct sim_cfg_cache *c, const char *path,
                      uint8_t digest[TALOS_CFG_DIGEST_BYTES], uint8_t **file, size_t *file_len)
{
    struct talos_cfg *cfg = NULL;
    struct stat st;
    uint8_t *bytes = NULL;
    size_t len = 0;
    char msg[256] = {0};
    int rc = TALOS_ERR_INVALID_ARG;

    if (file)
        *file = NULL;
    if (file_len)
        *file_len = 0;
    if (!c || !path || !digest || (file && !file_len))
        return rc;
    if (stat(path, &st) != 0)
        return TALOS_ERR_IO;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < CFG_CACHE_SLOTS; i++)
        if (same_file(&c->e[i], &st)) {
            rc = give(&c->e[i], digest, file, file_len);
            pthread_mutex_unlock(&c->lock);
            return rc;
        }
    pthread_mutex_unlock(&c->lock);
    /* Built outside the lock: two launches of a new image may both build
     * it; the result is the same. */
    if ((rc = talos_cfg_build(path, &cfg, msg, sizeof(msg))) != TALOS_OK) {
        TLOG_WARN("sim: no CFG for %s: %s", path, msg[0] ? msg : talos_strerror(rc));
        goto out;
    }
    if ((rc = talos_cfg_serialize(cfg, &bytes, &len)) != TALOS_OK)
        goto out;
    pthread_mutex_lock(&c->lock);
    struct cfg_entry *e = &c->e[c->next++ % CFG_CACHE_SLOTS];
    free(e->file);
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->size = st.st_size;
    e->mtime = st.st_mtim;
    talos_cfg_digest(cfg, e->digest);
    e->file = bytes;
    e->file_len = len;
    bytes = NULL;
    rc = give(e, digest, file, file_len);
    pthread_mutex_unlock(&c->lock);
out:
    free(bytes);
    talos_cfg_free(cfg);
    return rc;
}
