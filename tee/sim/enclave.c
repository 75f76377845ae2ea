/* The sim backend inside a TA: the five calls of tee.h. Evidence and seal
 * keys come from the host's sim platform through env->host_request, so
 * every answer is hostile: bounded, copied once, then checked. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/wire.h"
#include "tee/sim/evidence.h"
#include "tee/sim/measure.h"
#include "tee/tee.h"

static struct talos_tee_env sim_env;

static int sim_init(const struct talos_tee_env *env)
{
    if (!env || !env->host_request)
        return TALOS_ERR_INVALID_ARG;
    sim_env = *env;
    return TALOS_OK;
}

static int sim_measure_self(uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    if (!out)
        return TALOS_ERR_INVALID_ARG;
    return talos_sim_measure_self(out);
}

/* The host relays the platform's evidence. A host that substitutes evidence
 * of another TA or another request is caught here rather than by the peer,
 * so the TA reports TALOS_ERR_BACKEND at once. */
static int sim_evidence(const uint8_t report_data[TALOS_REPORT_DATA_BYTES], uint8_t *ev,
                        size_t *len)
{
    struct talos_sim_evidence e = {0};
    uint8_t self[TALOS_MEASUREMENT_BYTES] = {0};
    size_t cap = 0, got = 0;
    int rc = TALOS_ERR_INVALID_ARG;

    if (!report_data || !ev || !len)
        return TALOS_ERR_INVALID_ARG;
    cap = *len < TALOS_EVIDENCE_MAX ? *len : TALOS_EVIDENCE_MAX;
    *len = 0;
    if (!sim_env.host_request)
        return TALOS_ERR_BACKEND;
    rc = talos_sim_measure_self(self);
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
        !talos_ct_eq(e.claims.measurement, self, TALOS_MEASUREMENT_BYTES)) {
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

/* Classify one /proc/self/maps line. The anonymous mapping right after the
 * image's rw mapping holds the rest of .bss: it is DATA too. */
static uint32_t region_kind(const struct talos_region *r, int is_image, int after_image_data)
{
    if (r->start >= TALOS_ARENA_BASE && r->end <= TALOS_ARENA_BASE + TALOS_ARENA_MAX)
        return TALOS_REGION_ARENA;
    if (is_image) {
        if (r->prot & TALOS_PROT_W)
            return TALOS_REGION_DATA;
        return (r->prot & TALOS_PROT_X) ? TALOS_REGION_CODE : TALOS_REGION_RODATA;
    }
    if (after_image_data && r->prot == (TALOS_PROT_R | TALOS_PROT_W))
        return TALOS_REGION_DATA;
    return TALOS_REGION_OTHER;
}

static int sim_memory_map(struct talos_region *out, size_t *n)
{
    struct stat exe = {0};
    struct talos_region cur = {0};
    FILE *f = NULL;
    char line[512] = {0};
    size_t cap = 0, count = 0;
    uint64_t image_data_end = 0; /* end of the last image rw mapping, or 0 */
    int at_line_start = 1;
    int rc = TALOS_ERR_BACKEND;

    if (!n || (!out && *n))
        return TALOS_ERR_INVALID_ARG;
    cap = *n;
    *n = 0;
    /* The image is recognised by device and inode, which survive paths with
     * spaces and a deleted image file. */
    if (stat("/proc/self/exe", &exe) != 0)
        goto out;
    f = fopen("/proc/self/maps", "re");
    if (!f)
        goto out;
    while (fgets(line, sizeof(line), f)) {
        uint64_t start = 0, end = 0, off = 0, ino = 0;
        unsigned dmaj = 0, dmin = 0;
        char perm[5] = {0};
        int path_at = 0, continued = !at_line_start, is_image = 0, is_anon = 0;

        at_line_start = strchr(line, '\n') != NULL;
        if (continued)
            continue; /* the tail of a long path */
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n", &start,
                   &end, perm, &off, &dmaj, &dmin, &ino, &path_at) < 7)
            goto out;
        memset(&cur, 0, sizeof(cur));
        cur.start = start;
        cur.end = end;
        cur.prot = (perm[0] == 'r' ? TALOS_PROT_R : 0) | (perm[1] == 'w' ? TALOS_PROT_W : 0) |
                   (perm[2] == 'x' ? TALOS_PROT_X : 0);
        is_image = ino != 0 && ino == (uint64_t)exe.st_ino && dmaj == major(exe.st_dev) &&
                   dmin == minor(exe.st_dev);
        is_anon = ino == 0 && line[path_at] == '\0';
        cur.kind = region_kind(&cur, is_image, is_anon && image_data_end == start);
        image_data_end = is_image && cur.kind == TALOS_REGION_DATA ? end : 0;
        if (count < cap)
            out[count] = cur;
        count++;
    }
    if (ferror(f))
        goto out;
    *n = count;
    rc = count > cap ? TALOS_ERR_TOO_LARGE : TALOS_OK;
out:
    if (f)
        fclose(f);
    return rc;
}

const struct talos_tee_ops talos_tee_enclave = {
    .name = "sim",
    .init = sim_init,
    .measure_self = sim_measure_self,
    .evidence = sim_evidence,
    .verify = sim_verify,
    .seal_key = sim_seal_key,
    .memory_map = sim_memory_map,
};
