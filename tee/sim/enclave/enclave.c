/* The sim backend inside a TA: the five calls of tee.h. Evidence and seal
 * keys come from the host's sim platform through env->host_request, so
 * every answer is hostile: bounded, copied once, then checked. */
#include <inttypes.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/wire.h"
#include "os/selffd.h"
#include "tee/sim/enclave/confine.h"
#include "tee/sim/verify/evidence.h"
#include "tee/sim/common/measure.h"
#include "tee/tee.h"

static struct talos_tee_env sim_env;

/* The measurement the evidence check compares against, taken once: hashing
 * a static image costs milliseconds, and a handshake must not pay it each
 * time. In the same pass, from the same private copy of each byte, the
 * code digest (BLAKE3 over the same byte stream): the measure_self op
 * re-reads live memory with it (introspection). */
static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static uint8_t self_measurement[TALOS_MEASUREMENT_BYTES];
static uint8_t self_digest[TALOS_SIM_CODE_DIGEST_BYTES];
static int self_rc = TALOS_ERR_BACKEND;

static void measure_once(void) { self_rc = talos_sim_digest_self(self_measurement, self_digest); }

static void *measure_thread(void *arg)
{
    (void)arg;
    pthread_once(&self_once, measure_once);
    return NULL;
}

static pthread_t measure_tid;
static int measure_started;

static void sim_fini(void)
{
    if (measure_started)
        pthread_join(measure_tid, NULL);
    measure_started = 0;
}

static int sim_init(const struct talos_tee_env *env)
{
    if (!env || !env->host_request)
        return TALOS_ERR_INVALID_ARG;
    sim_env = *env;
    /* Measure now, in the background: a migration target is started ahead of
     * time (the node's warm pool), and its first evidence — on a migration's
     * critical path — then finds the 5.6 MB hash done (measured: 4-15 ms
     * otherwise). If the thread cannot start, the first evidence measures. */
    measure_started = pthread_create(&measure_tid, NULL, measure_thread, NULL) == 0;
    return TALOS_OK;
}

/* The SHA-256 measurement of the code as it is in memory now, computed
 * through BLAKE3 when nothing changed (D42). Why it is the same answer:
 * at launch, self_measurement = SHA-256(S0) and self_digest = BLAKE3(S0)
 * were taken over one byte stream S0 read once (measure.c copies each
 * byte before either hash sees it). Now the stream S1 is read again, with
 * BLAKE3 only; if BLAKE3(S1) = BLAKE3(S0), then S1 = S0 (else a BLAKE3
 * collision), so SHA-256(S1) = self_measurement, which is returned. If they
 * differ, the code changed: it is measured again with SHA-256, and that
 * value, not the launch one, goes to talos_rt_code_unchanged, which
 * compares it with the launch measurement and the evidence's as before.
 * S0 is also what the first evidence check compared with the platform's
 * measurement (sim_evidence): that check is unchanged. */
static int sim_measure_self(uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    uint8_t now[TALOS_SIM_CODE_DIGEST_BYTES];

    if (!out)
        return TALOS_ERR_INVALID_ARG;
    pthread_once(&self_once, measure_once);
    if (self_rc == TALOS_OK && talos_sim_digest_self(NULL, now) == TALOS_OK &&
        talos_ct_eq(now, self_digest, sizeof(now))) {
        memcpy(out, self_measurement, TALOS_MEASUREMENT_BYTES);
        return TALOS_OK;
    }
    return talos_sim_measure_self(out); /* changed, or no launch pass: SHA-256 now */
}

static int sim_launch_measurement(uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    if (!out)
        return TALOS_ERR_INVALID_ARG;
    pthread_once(&self_once, measure_once);
    if (self_rc == TALOS_OK)
        memcpy(out, self_measurement, TALOS_MEASUREMENT_BYTES);
    return self_rc;
}

/* The host relays the platform's evidence. A host that substitutes evidence
 * of another TA or another request is caught here rather than by the peer,
 * so the TA reports TALOS_ERR_BACKEND at once. */
static int sim_evidence(const uint8_t report_data[TALOS_REPORT_DATA_BYTES], uint8_t *ev,
                        size_t *len)
{
    struct talos_sim_evidence e = {0};
    size_t cap = 0, got = 0;
    int rc = TALOS_ERR_INVALID_ARG;

    if (!report_data || !ev || !len)
        return TALOS_ERR_INVALID_ARG;
    cap = *len < TALOS_EVIDENCE_MAX ? *len : TALOS_EVIDENCE_MAX;
    *len = 0;
    if (!sim_env.host_request)
        return TALOS_ERR_BACKEND;
    pthread_once(&self_once, measure_once);
    rc = self_rc;
    if (rc != TALOS_OK)
        goto out;
    rc = sim_env.host_request(sim_env.ctx, TALOS_HOST_REQ_QUOTE, report_data,
                              TALOS_REPORT_DATA_BYTES, ev, cap, &got);
    if (rc != TALOS_OK || got > cap) {
        TLOG_ERR("sim: the host did not return evidence (%s)", talos_strerror(rc));
        rc = TALOS_ERR_BACKEND;
        goto out;
    }
    rc = TALOS_ERR_BACKEND;
    if (talos_sim_evidence_decode(ev, got, &e) != TALOS_OK) {
        TLOG_ERR("sim: the host returned malformed evidence");
        goto out;
    }
    if (!talos_ct_eq(e.claims.report_data, report_data, TALOS_REPORT_DATA_BYTES) ||
        !talos_ct_eq(e.claims.measurement, self_measurement, TALOS_MEASUREMENT_BYTES)) {
        TLOG_ERR("sim: the host returned evidence for another TA or request");
        goto out;
    }
    *len = got;
    rc = TALOS_OK;
out:
    if (rc != TALOS_OK)
        memset(ev, 0, cap);
    return rc;
}

static int sim_verify(const uint8_t *ev, size_t len, const uint8_t *anchors_pem,
                      size_t anchors_len, unsigned flags, struct talos_claims *out)
{
    return talos_verify_evidence(ev, len, anchors_pem, anchors_len, flags, out);
}

static int sim_seal_key(enum talos_seal_policy policy, uint8_t key[TALOS_SEAL_KEY_BYTES])
{
    uint8_t req[4] = {0};
    size_t got = 0;
    int rc = TALOS_ERR_INVALID_ARG;

    if (!key)
        return TALOS_ERR_INVALID_ARG;
    if (policy != TALOS_SEAL_MEASUREMENT)
        goto out;
    rc = TALOS_ERR_BACKEND;
    if (!sim_env.host_request)
        goto out;
    /* The platform derives the key from the measurement it assigned at
     * launch, never from anything this request could claim. */
    talos_be32_put(req, (uint32_t)policy);
    rc = sim_env.host_request(sim_env.ctx, TALOS_HOST_REQ_SEAL_KEY, req, sizeof(req), key,
                              TALOS_SEAL_KEY_BYTES, &got);
    if (rc != TALOS_OK || got != TALOS_SEAL_KEY_BYTES) {
        TLOG_ERR("sim: the host did not return a seal key (%s)", talos_strerror(rc));
        rc = TALOS_ERR_BACKEND;
        goto out;
    }
    rc = TALOS_OK;
out:
    if (rc != TALOS_OK)
        talos_wipe(key, TALOS_SEAL_KEY_BYTES);
    return rc;
}

/* The main executable's PT_LOAD ranges in memory, page-rounded. Mappings
 * are matched by address, not by file: that works on any filesystem
 * (overlayfs reports other inodes), for a deleted image, and covers the
 * anonymous tail of .bss, which lies inside the rw segment's p_memsz. */
struct image_ranges {
    uint64_t lo[TALOS_SIM_MAX_SEGMENTS], hi[TALOS_SIM_MAX_SEGMENTS];
    size_t n;
    int seen;
};

static int ranges_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    struct image_ranges *r = data;
    const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

    if (r->seen)
        return 1;
    r->seen = 1;
    for (size_t i = 0; i < info->dlpi_phnum && r->n < TALOS_SIM_MAX_SEGMENTS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
            continue;
        r->lo[r->n] = lo & ~(page - 1);
        r->hi[r->n] = (lo + ph->p_memsz + page - 1) & ~(page - 1);
        r->n++;
    }
    return 1;
}

static uint32_t region_kind(const struct talos_region *m, const struct image_ranges *img)
{
    if (m->start >= TALOS_ARENA_BASE && m->end <= TALOS_ARENA_BASE + TALOS_ARENA_MAX)
        return TALOS_REGION_ARENA;
    for (size_t i = 0; i < img->n; i++) {
        if (m->start < img->lo[i] || m->end > img->hi[i])
            continue;
        if (m->prot & TALOS_PROT_W)
            return TALOS_REGION_DATA;
        return (m->prot & TALOS_PROT_X) ? TALOS_REGION_CODE : TALOS_REGION_RODATA;
    }
    return TALOS_REGION_OTHER;
}

/* The descriptors of /proc/self/maps share one file offset (os/selffd.h). */
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;

/* Parse /proc/self/maps, through the descriptor opened before the TA was
 * confined (it may not open files then). Every mapping is listed; a line
 * longer than the buffer (a long path) is read on and its tail skipped. */
static int sim_memory_map(struct talos_region *out, size_t *n)
{
    struct image_ranges img = {0};
    FILE *f = NULL;
    char line[512] = {0};
    size_t cap = 0, count = 0;
    int at_line_start = 1, fd = -1;
    int rc = TALOS_ERR_BACKEND;

    if (!n || (!out && *n))
        return TALOS_ERR_INVALID_ARG;
    cap = *n;
    *n = 0;
    dl_iterate_phdr(ranges_cb, &img);
    if (img.n == 0)
        return rc;
    pthread_mutex_lock(&maps_lock);
    if ((fd = talos_self_open(TALOS_SELF_MAPS)) < 0 || lseek(fd, 0, SEEK_SET) != 0)
        goto out;
    if (!(f = fdopen(fd, "r")))
        goto out;
    fd = -1; /* f owns it */
    while (fgets(line, sizeof(line), f)) {
        struct talos_region m = {0};
        char perm[5] = {0};
        int continued = !at_line_start;

        at_line_start = strchr(line, '\n') != NULL;
        if (continued)
            continue;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &m.start, &m.end, perm) != 3 ||
            m.start >= m.end)
            goto out;
        m.prot = (perm[0] == 'r' ? TALOS_PROT_R : 0) | (perm[1] == 'w' ? TALOS_PROT_W : 0) |
                 (perm[2] == 'x' ? TALOS_PROT_X : 0);
        m.kind = region_kind(&m, &img);
        if (count < cap)
            out[count] = m;
        count++;
    }
    if (ferror(f))
        goto out;
    *n = count;
    rc = count > cap ? TALOS_ERR_TOO_LARGE : TALOS_OK;
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    pthread_mutex_unlock(&maps_lock);
    return rc;
}

const struct talos_tee_ops talos_tee_enclave = {
    .name = "sim",
    .confine = talos_sim_confine,
    .init = sim_init,
    .measure_self = sim_measure_self,
    .launch_measurement = sim_launch_measurement,
    .fini = sim_fini,
    .evidence = sim_evidence,
    .verify = sim_verify,
    .seal_key = sim_seal_key,
    .memory_map = sim_memory_map,
};
