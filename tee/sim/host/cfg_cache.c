/* CFG extraction of a 5.6 MB static image takes ~0.3 s: far too slow for a
 * migration's critical path, fine at launch (the node keeps a warm pool of
 * targets, D12) and once per image, like the measurement cache: in memory
 * per image file identity, and across restarts in the state dir (D43,
 * cfg_store.h), keyed by the image file's SHA-256. */
#include "tee/sim/host/cfg_cache.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "tee/sim/host/cfg_store.h"
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
    struct sim_cfg_store *store; /* CFG files kept in the state dir, or NULL */
    struct cfg_entry e[CFG_CACHE_SLOTS];
    size_t next;
};

int sim_cfg_cache_new(const char *state_dir, struct sim_cfg_cache **out)
{
    struct sim_cfg_cache *c = calloc(1, sizeof(*c));
    int rc = TALOS_OK;

    if (!c)
        return TALOS_ERR_NOMEM;
    if (state_dir && (rc = sim_cfg_store_open(state_dir, &c->store)) != TALOS_OK) {
        free(c);
        return rc;
    }
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
    sim_cfg_store_close(c->store);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int same_file(const struct cfg_entry *e, const struct stat *st)
{
    return e->file && e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static int same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
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

/* Milliseconds on the monotonic clock, for the log lines. */
static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The SHA-256 of the file at path, which must still be the file st
 * describes: the name a kept CFG is found under. */
static int hash_image(const char *path, const struct stat *st, uint8_t sha[TALOS_SHA256_BYTES])
{
    struct stat now;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), rc = TALOS_ERR_IO;

    if (fd < 0)
        return rc;
    if (fstat(fd, &now) == 0 && S_ISREG(now.st_mode) && same_stat(&now, st))
        rc = sim_cfg_store_hash_fd(fd, sha);
    close(fd);
    return rc;
}

/* Build the CFG of the image at path: its digest and canonical file. */
static int extract(const char *path, uint8_t digest[TALOS_CFG_DIGEST_BYTES], uint8_t **bytes,
                   size_t *len)
{
    struct talos_cfg *cfg = NULL;
    char msg[256] = {0};
    double t0 = now_ms();
    int rc = talos_cfg_build(path, &cfg, msg, sizeof(msg));

    if (rc != TALOS_OK) {
        TLOG_WARN("sim: no CFG for %s: %s", path, msg[0] ? msg : talos_strerror(rc));
        return rc;
    }
    if ((rc = talos_cfg_serialize(cfg, bytes, len)) == TALOS_OK) {
        talos_cfg_digest(cfg, digest);
        TLOG_INFO("sim: CFG of %s extracted in %.0f ms (%zu bytes)", path, now_ms() - t0, *len);
    }
    talos_cfg_free(cfg);
    return rc;
}

/* The kept CFG of the image (sha), or TALOS_ERR_NOT_FOUND when there is
 * none fit for use: a kept file that fails a check is logged, once, and
 * left for the extraction that follows to replace. */
static int from_store(struct sim_cfg_store *st, const char *path,
                      const uint8_t sha[TALOS_SHA256_BYTES], uint8_t digest[TALOS_CFG_DIGEST_BYTES],
                      uint8_t **bytes, size_t *len)
{
    char why[512] = "", where[PATH_MAX + 80] = "";
    double t0 = now_ms();
    int rc = sim_cfg_store_load(st, sha, digest, bytes, len, why, sizeof(why));

    sim_cfg_store_path(st, sha, where, sizeof(where));
    if (rc == TALOS_OK)
        TLOG_INFO("sim: CFG of %s loaded from %s in %.1f ms (not extracted)", path, where,
                  now_ms() - t0);
    else if (rc != TALOS_ERR_NOT_FOUND && rc != TALOS_ERR_NOMEM)
        TLOG_WARN("sim: kept CFG %s not used: %s: extracting it again", where, why);
    return rc == TALOS_ERR_NOMEM ? rc : rc == TALOS_OK ? TALOS_OK : TALOS_ERR_NOT_FOUND;
}

int sim_cfg_cache_get(struct sim_cfg_cache *c, const char *path,
                      uint8_t digest[TALOS_CFG_DIGEST_BYTES], uint8_t **file, size_t *file_len)
{
    struct stat st, after;
    uint8_t sha[TALOS_SHA256_BYTES], d[TALOS_CFG_DIGEST_BYTES];
    uint8_t *bytes = NULL;
    size_t len = 0;
    int keyed = 0, rc = TALOS_ERR_INVALID_ARG;

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
    /* Found or built outside the lock: two launches of a new image may
     * both do it; the result is the same. A file that cannot be hashed is
     * extracted, not kept. */
    keyed = c->store && hash_image(path, &st, sha) == TALOS_OK;
    rc = keyed ? from_store(c->store, path, sha, d, &bytes, &len) : TALOS_ERR_NOT_FOUND;
    if (rc == TALOS_ERR_NOT_FOUND) {
        if ((rc = extract(path, d, &bytes, &len)) != TALOS_OK)
            goto out;
        /* Kept only if the file extracted is still the one hashed. */
        if (keyed && stat(path, &after) == 0 && same_stat(&after, &st)) {
            char why[512] = "", where[PATH_MAX + 80] = "";
            sim_cfg_store_path(c->store, sha, where, sizeof(where));
            if (sim_cfg_store_save(c->store, sha, d, bytes, len, why, sizeof(why)) != TALOS_OK)
                TLOG_WARN("sim: cannot keep the CFG of %s: %s", path, why);
            else
                TLOG_DEBUG("sim: CFG of %s kept in %s", path, where);
        }
    }
    if (rc != TALOS_OK)
        goto out;
    pthread_mutex_lock(&c->lock);
    struct cfg_entry *e = &c->e[c->next++ % CFG_CACHE_SLOTS];
    free(e->file);
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->size = st.st_size;
    e->mtime = st.st_mtim;
    memcpy(e->digest, d, sizeof(d));
    e->file = bytes;
    e->file_len = len;
    bytes = NULL;
    rc = give(e, digest, file, file_len);
    pthread_mutex_unlock(&c->lock);
out:
    free(bytes);
    return rc;
}
