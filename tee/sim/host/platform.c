/* The sim platform, host side: the node's stand-in for a TEE's quoting
 * service and key derivation. It has real keys and real signatures but no
 * hardware isolation: the host can read a sim TA's memory.
 *
 * It signs whatever measurement and CFG digest the host passes: the node
 * passes the ones the platform computed itself from the image at launch, as
 * hardware would.
 *
 * Debug knobs, sim only, for tests (docs/cfg.md); they grant nothing an
 * attacker lacks, as a sim host can already sign anything with its key and
 * hand a TA any bytes:
 *  - TALOS_SIM_CFG_DIGEST_TAMPER=1: sign a wrong CFG digest (first byte
 *    flipped) for every TA launched: peers refuse it (CFG_DIGEST);
 *  - TALOS_SIM_CFG_FILE=PATH: hand TAs that ask for their CFG file the
 *    bytes of PATH instead: a target must refuse a CFG file that does not
 *    hash to its signed digest. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/reason.h"
#include "tee/sim/host/ca.h"
#include "tee/sim/host/cfg_cache.h"
#include "tee/sim/verify/evidence.h"
#include "tee/sim/host/image_check.h"
#include "tee/sim/host/launch.h"
#include "tee/sim/common/measure.h"
#include "tee/sim/host/reports.h"
#include "tee/tee.h"

#define SEAL_SALT "talos-seal-v1"

#define MEASURE_CACHE 16

/* A launched image is measured once per file identity: hashing the 5.6 MB
 * static image took 3.5 ms of every target launch (bench/RESULTS.md). A file
 * rewritten in place changes mtime or size and is measured again; measuring
 * and launching are separate steps either way (see docs/measurement.md). */
struct measure_entry {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    uint8_t m[TALOS_MEASUREMENT_BYTES];
};

struct talos_platform {
    struct talos_sim_identity id;
    pthread_mutex_t cache_lock;
    struct measure_entry cache[MEASURE_CACHE];
    size_t cache_next;
    struct sim_cfg_cache *cfgs;
    int cfg_tamper;        /* TALOS_SIM_CFG_DIGEST_TAMPER: see the top of this file */
    char *cfg_file_other;  /* TALOS_SIM_CFG_FILE: see the top of this file */
    struct talos_sim_jail jail;     /* who TAs run as (docs/confinement.md) */
    struct sim_reports *reports;    /* report pipes of the TAs launched */
};

static int sim_open(const struct talos_platform_config *cfg, struct talos_platform **out)
{
    struct talos_platform *p = NULL;
    const char *ca_dir = NULL;
    char id_hex[2 * TALOS_PLATFORM_ID_BYTES + 1] = {0};
    int rc = TALOS_ERR_INVALID_ARG;

    if (out)
        *out = NULL;
    if (!cfg || !out || !cfg->state_dir)
        goto out;
    ca_dir = talos_tee_option(cfg, "ca");
    if (!ca_dir)
        ca_dir = talos_sim_ca_default();
    if (!ca_dir) {
        TLOG_ERR("sim: no sim CA directory: set TALOS_SIM_CA or HOME");
        goto out;
    }
    rc = TALOS_ERR_NOMEM;
    p = calloc(1, sizeof(*p));
    if (!p)
        goto out;
    pthread_mutex_init(&p->cache_lock, NULL);
    if ((rc = sim_reports_new(&p->reports)) != TALOS_OK ||
        (rc = talos_sim_jail_init(cfg->ta_user, &p->jail)) != TALOS_OK)
        goto out;
    const char *tamper = getenv("TALOS_SIM_CFG_DIGEST_TAMPER");
    p->cfg_tamper = tamper && strcmp(tamper, "1") == 0;
    if (p->cfg_tamper)
        TLOG_WARN("sim: TALOS_SIM_CFG_DIGEST_TAMPER=1: this platform signs WRONG CFG digests "
                  "(test knob)");
    const char *other = getenv("TALOS_SIM_CFG_FILE");
    if (other && *other) {
        if (!(p->cfg_file_other = strdup(other))) {
            rc = TALOS_ERR_NOMEM;
            goto out;
        }
        TLOG_WARN("sim: TALOS_SIM_CFG_FILE: this platform hands TAs the CFG file %s, not their "
                  "own (test knob)", other);
    }
    rc = talos_sim_identity_open(cfg->state_dir, ca_dir, &p->id);
    if (rc != TALOS_OK)
        goto out;
    /* After the identity, which creates the state dir when it is missing:
     * the kept CFGs live there too (D43). */
    if ((rc = sim_cfg_cache_new(cfg->state_dir, &p->cfgs)) != TALOS_OK) {
        talos_sim_identity_close(&p->id);
        goto out;
    }
    talos_hex(p->id.platform_id, sizeof(p->id.platform_id), id_hex);
    TLOG_INFO("sim platform %s, CA %s (simulation: no hardware isolation)", id_hex, ca_dir);
    if (p->jail.drop)
        TLOG_INFO("sim: TAs run as uid %u gid %u, without network, under a system call "
                  "filter (docs/confinement.md)", (unsigned)p->jail.uid, (unsigned)p->jail.gid);
    else
        TLOG_INFO("sim: TAs run as this node's user (not root: no user switch, no "
                  "namespaces), under a system call filter (docs/confinement.md)");
    *out = p;
    p = NULL;
out:
    if (p) {
        free(p->cfg_file_other);
        sim_reports_free(p->reports);
        sim_cfg_cache_free(p->cfgs);
        pthread_mutex_destroy(&p->cache_lock);
    }
    free(p);
    return rc;
}

static void sim_close(struct talos_platform *p)
{
    if (!p)
        return;
    talos_sim_identity_close(&p->id);
    free(p->cfg_file_other);
    sim_reports_free(p->reports);
    sim_cfg_cache_free(p->cfgs);
    pthread_mutex_destroy(&p->cache_lock);
    free(p);
}

static int sim_check_image(struct talos_platform *p, int fd, char *why, size_t cap)
{
    if (!p)
        return talos_reason(TALOS_ERR_INVALID_ARG, why, cap, "no platform");
    return talos_sim_check_image(fd, why, cap);
}

static int same_file(const struct measure_entry *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static int sim_measure_image(struct talos_platform *p, const char *path,
                             uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    struct stat st;
    int rc = TALOS_OK;

    if (!p || !path || !out)
        return TALOS_ERR_INVALID_ARG;
    if (stat(path, &st) != 0)
        return talos_sim_measure_file(path, out); /* it reports the error */
    pthread_mutex_lock(&p->cache_lock);
    for (size_t i = 0; i < MEASURE_CACHE; i++)
        if (p->cache[i].ino && same_file(&p->cache[i], &st)) {
            memcpy(out, p->cache[i].m, TALOS_MEASUREMENT_BYTES);
            pthread_mutex_unlock(&p->cache_lock);
            return TALOS_OK;
        }
    pthread_mutex_unlock(&p->cache_lock);
    if ((rc = talos_sim_measure_file(path, out)) != TALOS_OK)
        return rc;
    pthread_mutex_lock(&p->cache_lock);
    struct measure_entry *e = &p->cache[p->cache_next++ % MEASURE_CACHE];
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->size = st.st_size;
    e->mtime = st.st_mtim;
    memcpy(e->m, out, TALOS_MEASUREMENT_BYTES);
    pthread_mutex_unlock(&p->cache_lock);
    return TALOS_OK;
}

/* The whole of a (test) file, malloc'd. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n = 0;
    int rc = TALOS_ERR_IO;

    if (!f)
        return rc;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    rc = TALOS_ERR_NOMEM;
    if (!(*out = malloc(n ? (size_t)n : 1)))
        goto out;
    rc = TALOS_ERR_IO;
    if (fread(*out, 1, (size_t)n, f) != (size_t)n) {
        free(*out);
        *out = NULL;
        goto out;
    }
    *len = (size_t)n;
    rc = TALOS_OK;
out:
    fclose(f);
    return rc;
}

static int sim_cfg_image(struct talos_platform *p, const char *path,
                         uint8_t digest[TALOS_CFG_DIGEST_BYTES], uint8_t **file, size_t *file_len)
{
    int rc = TALOS_ERR_INVALID_ARG;

    if (!p)
        return rc;
    rc = sim_cfg_cache_get(p->cfgs, path, digest, file, file_len);
    if (rc == TALOS_OK && p->cfg_tamper)
        digest[0] ^= 0x01;
    if (rc == TALOS_OK && file && p->cfg_file_other) {
        free(*file);
        *file = NULL;
        *file_len = 0;
        rc = read_file(p->cfg_file_other, file, file_len);
    }
    return rc;
}

static int sim_launch(struct talos_platform *p, const struct talos_launch *l, int *pid)
{
    int report = -1, rc = TALOS_ERR_INVALID_ARG;

    if (!p)
        return rc;
    if ((rc = talos_sim_launch(&p->jail, l, pid, &report)) != TALOS_OK)
        return rc;
    /* Without its pipe a TA still runs: only the name of a forbidden call
     * it may make is lost. */
    if (sim_reports_add(p->reports, *pid, report) != TALOS_OK)
        TLOG_WARN("sim: no memory to keep TA %d's report pipe", *pid);
    return TALOS_OK;
}

static void sim_ended(struct talos_platform *p, int pid, int signo, char *why, size_t cap)
{
    if (cap)
        why[0] = '\0';
    if (p)
        sim_reports_end(p->reports, pid, signo, why, cap);
}

static int sim_quote(struct talos_platform *p, const uint8_t measurement[TALOS_MEASUREMENT_BYTES],
                     const uint8_t config_id[TALOS_CONFIG_ID_BYTES],
                     const uint8_t cfg_digest[TALOS_CFG_DIGEST_BYTES],
                     const uint8_t report_data[TALOS_REPORT_DATA_BYTES], uint8_t *ev, size_t *len)
{
    if (!p)
        return TALOS_ERR_INVALID_ARG;
    return talos_sim_evidence_sign(p->id.key, p->id.cert_der, p->id.cert_der_len,
                                   TALOS_CLAIM_SIMULATED, measurement, config_id, cfg_digest,
                                   report_data, ev, len);
}

static int sim_seal_key(struct talos_platform *p, const uint8_t measurement[TALOS_MEASUREMENT_BYTES],
                        enum talos_seal_policy policy, uint8_t key[TALOS_SEAL_KEY_BYTES])
{
    uint8_t info[4 + TALOS_MEASUREMENT_BYTES] = {0};
    int rc = TALOS_ERR_INVALID_ARG;

    if (!key)
        return TALOS_ERR_INVALID_ARG;
    memset(key, 0, TALOS_SEAL_KEY_BYTES);
    if (!p || !measurement || policy != TALOS_SEAL_MEASUREMENT)
        goto out;
    /* info = u32 BE policy ‖ measurement: a key per (platform, policy, code). */
    info[0] = (uint8_t)((uint32_t)policy >> 24);
    info[1] = (uint8_t)((uint32_t)policy >> 16);
    info[2] = (uint8_t)((uint32_t)policy >> 8);
    info[3] = (uint8_t)policy;
    memcpy(info + 4, measurement, TALOS_MEASUREMENT_BYTES);
    rc = talos_hkdf(p->id.secret, sizeof(p->id.secret), SEAL_SALT, sizeof(SEAL_SALT) - 1, info,
                    sizeof(info), key, TALOS_SEAL_KEY_BYTES);
out:
    if (rc != TALOS_OK)
        talos_wipe(key, TALOS_SEAL_KEY_BYTES);
    return rc;
}

static int sim_anchors(struct talos_platform *p, const uint8_t **pem, size_t *len)
{
    if (!p || !pem || !len)
        return TALOS_ERR_INVALID_ARG;
    *pem = p->id.ca_pem;
    *len = p->id.ca_pem_len;
    return TALOS_OK;
}

/* The file verifiers on this machine trust by default: the local CA's
 * certificate, where a node opened without the option sim.ca keeps it. */
static int sim_default_anchors(char *path, size_t cap, const char **hint)
{
    const char *dir = talos_sim_ca_default();
    int n = 0;

    *hint = "set TALOS_SIM_CA";
    if (!dir)
        return TALOS_ERR_INVALID_ARG;
    n = snprintf(path, cap, "%s/ca.pem", dir);
    if (n < 0 || (size_t)n >= cap) {
        path[0] = '\0';
        return TALOS_ERR_TOO_LARGE;
    }
    return TALOS_OK;
}

/* ca: the directory of the local sim CA (talosd --sim-ca). */
static const char *const sim_options[] = {"ca", NULL};

const struct talos_tee_host_ops talos_tee_sim_host = {
    .name = "sim",
    /* Every TA is an ordinary process the host can read and change. */
    .claims = TALOS_CLAIM_SIMULATED,
    .options = sim_options,
    .default_anchors = sim_default_anchors,
    .open = sim_open,
    .close = sim_close,
    .check_image = sim_check_image,
    .measure_image = sim_measure_image,
    .cfg_image = sim_cfg_image,
    .launch = sim_launch,
    .quote = sim_quote,
    .seal_key = sim_seal_key,
    .anchors = sim_anchors,
    .ended = sim_ended,
};
