/* State certificates, TA side (docs/state-certs.md). The lineage key lives
 * only here and inside the encrypted migration stream: made at a fresh
 * start, sent to the target in the LINEAGE record while the source is
 * frozen, rotated by the target after it activated (the new key certified
 * by the old one, the old one wiped), wiped on retire, FAILED and exit. */
#include "ta/cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cert.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/sign.h"
#include "core/wire.h"
#include "ta/arena.h"
#include "ta/rt.h"
#include "tee/tee.h"

#define EXEC_BATCH 64
#define EXEC_TAG "talos-exec"
#define EXEC_GENESIS_TAG "talos-exec-genesis"

struct exec_entry {
    uint64_t version;
    uint32_t ecall;
};

struct lineage_key {
    int live;
    uint64_t epoch;
    uint8_t seed[TALOS_ED25519_SEED_BYTES], pub[TALOS_ED25519_PUB_BYTES],
        pub0[TALOS_ED25519_PUB_BYTES];
    struct talos_cert_link *links; /* n_links == epoch */
    uint32_t n_links;
    uint8_t exec_head[TALOS_HASH];
    struct exec_entry pend[EXEC_BATCH];
    unsigned n_pend;
    /* The checkpoint before the current chain head (talos_rt.head). */
    uint64_t prev_version;
    uint8_t prev_head[TALOS_HASH];
    int rooted;                    /* talos_rt.head commits to a state root */
    uint8_t *ev;                   /* evidence of this epoch's key, made once */
    size_t ev_len;
    struct talos_claims id;        /* what that evidence says about us */
};

static struct lineage_key lk, incoming;

static void key_wipe(struct lineage_key *k)
{
    free(k->links);
    if (k->ev)
        talos_wipe(k->ev, k->ev_len);
    free(k->ev);
    talos_wipe(k, sizeof(*k));
}

void talos_rt_cert_wipe(void)
{
    key_wipe(&lk);
    key_wipe(&incoming);
}

/* E' = SHA-256("talos-exec" ‖ E ‖ u32 n ‖ n × (u64 version ‖ u32 ecall)). */
static void exec_fold(void)
{
    uint8_t buf[sizeof(EXEC_TAG) - 1 + TALOS_HASH + 4 + EXEC_BATCH * 12];
    uint8_t *p = buf;

    if (lk.n_pend == 0)
        return;
    memcpy(p, EXEC_TAG, sizeof(EXEC_TAG) - 1), p += sizeof(EXEC_TAG) - 1;
    memcpy(p, lk.exec_head, TALOS_HASH), p += TALOS_HASH;
    talos_be32_put(p, lk.n_pend), p += 4;
    for (unsigned i = 0; i < lk.n_pend; i++, p += 12) {
        talos_be64_put(p, lk.pend[i].version);
        talos_be32_put(p + 8, lk.pend[i].ecall);
    }
    talos_sha256(buf, (size_t)(p - buf), lk.exec_head);
    lk.n_pend = 0;
}

void talos_rt_exec_note(uint64_t version, uint32_t ecall)
{
    lk.pend[lk.n_pend].version = version;
    lk.pend[lk.n_pend].ecall = ecall;
    if (++lk.n_pend == EXEC_BATCH)
        exec_fold();
}

int talos_rt_cert_genesis(void)
{
    uint8_t buf[sizeof(EXEC_GENESIS_TAG) - 1 + TALOS_LINEAGE_BYTES];
    int rc = TALOS_OK;

    key_wipe(&lk);
    if ((rc = talos_ed25519_keygen(lk.seed, lk.pub)) != TALOS_OK)
        return rc;
    memcpy(lk.pub0, lk.pub, TALOS_ED25519_PUB_BYTES);
    memcpy(buf, EXEC_GENESIS_TAG, sizeof(EXEC_GENESIS_TAG) - 1);
    memcpy(buf + sizeof(EXEC_GENESIS_TAG) - 1, talos_rt.lineage, TALOS_LINEAGE_BYTES);
    talos_sha256(buf, sizeof(buf), lk.exec_head);
    lk.live = 1;
    return TALOS_OK;
}

/* The same leaves as a migration: arena pages in use, then the persist
 * section's pages, its last one zero-padded. */
static int state_root(uint8_t root[TALOS_HASH])
{
    size_t plen = 0;
    const uint8_t *persist = talos_rt_persist(&plen);
    const uint8_t *base = (const uint8_t *)talos_arena_base();
    uint64_t a_pages = talos_arena_used_bytes() / TALOS_PAGE;
    uint64_t p_pages = (plen + TALOS_PAGE - 1) / TALOS_PAGE, total = a_pages + p_pages;
    uint8_t *leaves = malloc((total ? total : 1) * TALOS_HASH);
    uint8_t *last = calloc(1, TALOS_PAGE);
    int rc = TALOS_ERR_NOMEM;

    if (!leaves || !last)
        goto out;
    talos_merkle_leaves(0, base, a_pages, leaves);
    uint64_t whole = plen / TALOS_PAGE; /* the persist section's full pages */
    talos_merkle_leaves(a_pages, persist, whole, leaves + a_pages * TALOS_HASH);
    if (whole < p_pages) { /* the partial last page */
        talos_rt_persist_copy(last, persist + whole * TALOS_PAGE, plen - whole * TALOS_PAGE);
        talos_merkle_leaf(a_pages + whole, last, leaves + (a_pages + whole) * TALOS_HASH);
    }
    talos_merkle_root(leaves, total, root);
    rc = TALOS_OK;
out:
    free(leaves);
    if (last)
        talos_wipe(last, TALOS_PAGE);
    free(last);
    return rc;
}

/* Evidence that this epoch's key sits in this TA: made at the first
 * certificate of the epoch, then reused. */
static int key_evidence(char *why, size_t cap)
{
    uint8_t rd[TALOS_REPORT_DATA_BYTES];
    uint8_t *ev = NULL;
    size_t len = TALOS_EVIDENCE_MAX;
    int rc = TALOS_OK;

    if (lk.ev)
        return TALOS_OK;
    if (!(ev = malloc(TALOS_EVIDENCE_MAX)))
        return TALOS_ERR_NOMEM;
    talos_cert_key_report_data(talos_rt.lineage, lk.epoch, lk.pub, rd);
    if ((rc = talos_tee_enclave.evidence(rd, ev, &len)) != TALOS_OK) {
        snprintf(why, cap, "the platform could not produce evidence for the lineage key");
        goto out;
    }
    /* Our identity as the platform states it (as mig_attest learns it). */
    if ((rc = talos_tee_enclave.verify(ev, len, talos_rt.anchors, talos_rt.anchors_len,
                                       talos_rt.verify_flags, &lk.id)) != TALOS_OK) {
        snprintf(why, cap, "own evidence does not verify: %s", talos_strerror(rc));
        goto out;
    }
    lk.id.backend[sizeof(lk.id.backend) - 1] = '\0';
    lk.ev = ev;
    lk.ev_len = len;
    ev = NULL;
out:
    free(ev);
    return rc;
}

static int make_cert(struct talos_wr *w, char *why, size_t cap)
{
    struct talos_cert c;
    uint8_t root[TALOS_HASH];
    int rc = TALOS_OK;

    if ((rc = state_root(root)) != TALOS_OK)
        return rc;
    exec_fold();
    /* Checkpoint (D9): the chain advances when the version moved since the
     * last one, or when the head is still the genesis (it has no root). */
    if (talos_rt.version != talos_rt.head_version || !lk.rooted) {
        lk.prev_version = talos_rt.head_version;
        memcpy(lk.prev_head, talos_rt.head, TALOS_HASH);
        talos_chain_next(talos_rt.head, talos_rt.version, root, talos_rt.head);
        talos_rt.head_version = talos_rt.version;
        lk.rooted = 1;
    }
    if ((rc = key_evidence(why, cap)) != TALOS_OK)
        return rc;
    memset(&c, 0, sizeof(c));
    c.format = TALOS_CERT_FORMAT;
    memcpy(c.lineage, talos_rt.lineage, sizeof(c.lineage));
    c.epoch = lk.epoch;
    memcpy(c.pub, lk.pub, TALOS_ED25519_PUB_BYTES);
    c.version = talos_rt.version;
    memcpy(c.root, root, TALOS_HASH);
    c.prev_version = lk.prev_version;
    memcpy(c.prev_head, lk.prev_head, TALOS_HASH);
    c.head_version = talos_rt.head_version;
    memcpy(c.head, talos_rt.head, TALOS_HASH);
    memcpy(c.exec_head, lk.exec_head, TALOS_HASH);
    memcpy(c.backend, lk.id.backend, sizeof(c.backend));
    memcpy(c.measurement, lk.id.measurement, sizeof(c.measurement));
    memcpy(c.config_id, lk.id.config_id, sizeof(c.config_id));
    memcpy(c.cfg_digest, lk.id.cfg_digest, sizeof(c.cfg_digest));
    memcpy(c.pub0, lk.pub0, TALOS_ED25519_PUB_BYTES);
    c.n_links = lk.n_links;
    c.links = lk.links;    /* borrowed: c is not cleared */
    c.evidence = lk.ev;
    c.evidence_len = lk.ev_len;
    if ((rc = talos_cert_sign(&c, lk.seed)) != TALOS_OK)
        return rc;
    talos_cert_encode(&c, w);
    return w->err;
}

int talos_rt_state_cert(void)
{
    struct talos_wr w;
    char why[200] = "";
    int status = TALOS_OK, rc = TALOS_OK;

    /* ACTIVE only: the frame table answers MOVED or STATE otherwise (ta/frames.c). */
    talos_wr_init(&w, 0);
    if (!lk.live) {
        snprintf(why, sizeof(why), "this instance holds no lineage key (see its log)");
        status = TALOS_ERR_STATE;
    } else if ((status = make_cert(&w, why, sizeof(why))) != TALOS_OK && !why[0]) {
        snprintf(why, sizeof(why), "cannot make a state certificate: %s", talos_strerror(status));
    }
    rc = talos_rt_reply(status, status == TALOS_OK ? w.p : NULL, status == TALOS_OK ? w.len : 0, why);
    talos_wr_free(&w);
    return rc;
}

int talos_rt_cert_export(struct talos_lineage_rec *rec)
{
    memset(rec, 0, sizeof(*rec));
    if (!lk.live)
        return TALOS_ERR_STATE;
    exec_fold(); /* a migration is a checkpoint: nothing pending travels */
    rec->epoch = lk.epoch;
    memcpy(rec->seed, lk.seed, sizeof(rec->seed));
    memcpy(rec->pub0, lk.pub0, TALOS_ED25519_PUB_BYTES);
    memcpy(rec->exec_head, lk.exec_head, TALOS_HASH);
    rec->head_version = talos_rt.head_version;
    memcpy(rec->head, talos_rt.head, TALOS_HASH);
    rec->n_links = lk.n_links;
    rec->links = lk.links; /* borrowed */
    return TALOS_OK;
}

void talos_rt_cert_import(struct talos_lineage_rec *rec)
{
    key_wipe(&incoming);
    incoming.epoch = rec->epoch;
    memcpy(incoming.seed, rec->seed, sizeof(incoming.seed));
    memcpy(incoming.pub0, rec->pub0, TALOS_ED25519_PUB_BYTES);
    memcpy(incoming.exec_head, rec->exec_head, TALOS_HASH);
    incoming.prev_version = rec->head_version;
    memcpy(incoming.prev_head, rec->head, TALOS_HASH);
    incoming.n_links = rec->n_links;
    incoming.links = rec->links; /* n_links + 1 slots: one for our rotation */
    rec->links = NULL;
    incoming.live = 1;
    talos_lineage_rec_clear(rec);
}

void talos_rt_cert_adopt(void)
{
    uint8_t seed[TALOS_ED25519_SEED_BYTES], pub[TALOS_ED25519_PUB_BYTES],
        check[TALOS_ED25519_PUB_BYTES];
    struct talos_cert_link *l = NULL;

    if (!incoming.live) /* nothing arrived: not a new instance (or already adopted) */
        return;
    key_wipe(&lk);
    lk = incoming;
    memset(&incoming, 0, sizeof(incoming)); /* lk owns the links now */
    lk.live = 0;
    if (lk.n_links == TALOS_CERT_MAX_LINKS) {
        /* Format 1 carries at most this many links (docs/state-certs.md):
         * the lineage lives on, its state can no longer be certified. */
        key_wipe(&lk);
        TLOG_ERR("lineage migrated %u times: no more state certificates", TALOS_CERT_MAX_LINKS);
        return;
    }
    /* The key that travelled must be the one its links lead to: a wrong
     * seed would sign links nobody can check. */
    if (talos_ed25519_public(lk.seed, check) != TALOS_OK ||
        !talos_ct_eq(check, lk.epoch ? lk.links[lk.epoch - 1].pub : lk.pub0,
                     TALOS_ED25519_PUB_BYTES) ||
        talos_ed25519_keygen(seed, pub) != TALOS_OK)
        goto fail;
    l = &lk.links[lk.n_links];
    l->epoch = lk.epoch + 1;
    memcpy(l->pub, pub, TALOS_ED25519_PUB_BYTES);
    l->version = talos_rt.version;
    memcpy(l->head, talos_rt.head, TALOS_HASH);
    if (talos_cert_link_sign(talos_rt.lineage, l, lk.seed) != TALOS_OK)
        goto fail;
    lk.n_links++;
    lk.epoch++;
    talos_wipe(lk.seed, sizeof(lk.seed)); /* key n is gone for good */
    memcpy(lk.seed, seed, sizeof(seed));
    memcpy(lk.pub, pub, TALOS_ED25519_PUB_BYTES);
    lk.rooted = 1; /* the migration's checkpoint: talos_rt.head has a root */
    lk.live = 1;
    talos_wipe(seed, sizeof(seed));
    return;
fail:
    talos_wipe(seed, sizeof(seed));
    key_wipe(&lk);
    TLOG_ERR("lineage key rotation failed: this instance cannot certify its state");
}
