/* Shared by both roles of a migration: keys, mutual attestation, tokens.
 * Trusted code: everything the peer or the host sends is hostile until
 * checked, and every refusal is a specific talos_err. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/migcheck.h"
#include "core/migrec.h"
#include "core/msg.h"
#include "core/policy.h"
#include "core/wire.h"
#include "os/sched.h"
#include "ta/fault.h"
#include "ta/flow.h"
#include "ta/mig.h"
#include "ta/rt.h"
#include "tee/tee.h"

uint64_t mig_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mig_now(void)
{
    return mig_clock(CLOCK_MONOTONIC);
}

int mig_keys(struct mig *m)
{
    int rc = talos_chan_export(&m->ch, "EXPORTER-talos-binding", m->session,
                               sizeof(m->session), m->exporter, sizeof(m->exporter));
    if (rc == TALOS_OK)
        rc = talos_chan_export(&m->ch, "EXPORTER-talos-tokens", m->session, sizeof(m->session),
                               m->k_tok, sizeof(m->k_tok));
    m->keys = rc == TALOS_OK;
    return rc;
}

/* The binding MAC of the speaker `role` on this channel (core/migcheck.h):
 * the speaker's TLS key first, the listener's second. */
static struct talos_mig_bind bind_of(const struct mig *m, uint8_t role,
                                     const uint8_t nonce[TALOS_NONCE_BYTES])
{
    int own = role == m->role;
    return (struct talos_mig_bind){.role = role,
                                   .exporter = m->exporter,
                                   .session = m->session,
                                   .lineage = m->lineage,
                                   .nonce = nonce,
                                   .speaker_pub = own ? m->ch.own_pub : m->ch.peer_pub,
                                   .listener_pub = own ? m->ch.peer_pub : m->ch.own_pub};
}

/* The peer's EVIDENCE record: its platform's word (evidence verified
 * against our anchors), the policy (same code, launch config, CFG), the
 * evidence's binding to the TLS key the peer just proved it holds (and to
 * its role and our configuration), then its MAC over this migration's
 * session and lineage under this channel's exporter. */
static int check_peer(struct mig *m, const uint8_t *ev, size_t len, const uint8_t *mac)
{
    uint8_t peer_role = m->role == MIG_ROLE_S ? MIG_ROLE_T : MIG_ROLE_S;
    int rc = talos_tee_enclave.verify(ev, len, talos_rt.anchors, talos_rt.anchors_len,
                                      talos_rt.verify_flags, &m->peer);
    if (rc != TALOS_OK) {
        snprintf(m->reason, sizeof(m->reason), "peer evidence refused: %s", talos_strerror(rc));
        return rc;
    }
    /* Policy v1: the peer runs the same code, launch config and CFG. */
    if ((rc = talos_mig_policy_check(&m->id.own, &m->peer, m->reason, sizeof(m->reason))) !=
        TALOS_OK)
        return rc;
    const struct talos_mig_binding b = {
        .role = peer_role, .pub = m->ch.peer_pub, .config = talos_rt.config_digest};
    if ((rc = talos_mig_binding_check(&b, m->peer.report_data, m->reason, sizeof(m->reason))) !=
        TALOS_OK)
        return rc;
    const struct talos_mig_bind mb = bind_of(m, peer_role, m->nonce_own);
    return talos_mig_bind_check(&mb, mac, m->reason, sizeof(m->reason));
}

int mig_attest(struct mig *m)
{
    uint8_t mac[TALOS_MIG_BIND_MAC_BYTES], peer_ev[TALOS_MIG_EVIDENCE_MAX_BYTES];
    uint32_t len = 0;
    uint8_t got = 0;
    struct talos_wr w;
    int rc = TALOS_OK;

    /* Our evidence was made ahead over this channel's key (ta/mig_ident.c);
     * only the MAC over this migration is new. */
    struct talos_mig_bind own = bind_of(m, m->role, m->nonce_peer);
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    if (TALOS_TAMPER("bind_lineage")) { /* test builds: a MAC over another lineage */
        memcpy(lineage, m->lineage, sizeof(lineage));
        lineage[0] ^= 0x01;
        own.lineage = lineage;
    }
    if ((rc = talos_mig_bind_mac(&own, mac)) != TALOS_OK) {
        snprintf(m->reason, sizeof(m->reason), "cannot compute the binding MAC");
        return rc;
    }
    talos_wr_init(&w, 0);
    if ((rc = talos_mig_evidence_encode(m->id.ev, m->id.ev_len, mac, &w)) != TALOS_OK)
        goto out;
    /* Both sides send first, then verify: evidence is no secret, and the
     * peer's checks of ours then run while we wait for its. */
    if ((rc = talos_chan_send(&m->ch, TALOS_MIG_EVIDENCE, w.p, w.len, NULL, 0)) != TALOS_OK)
        goto out;
    TLOG_DEBUG("%c: +%.3f ms attest: evidence sent", m->role, (mig_now() - m->t0) / 1e6);
    if ((rc = mig_recv(m, TALOS_MIG_EVIDENCE, &got, peer_ev, sizeof(peer_ev), &len)) != TALOS_OK)
        goto out;
    if (got == TALOS_MIG_ABORT) { /* the target refused us first */
        rc = mig_abort_code(m, peer_ev, len);
        goto out;
    }
    const uint8_t *pev = NULL, *pmac = NULL;
    size_t n = 0;
    if ((rc = talos_mig_evidence_decode(peer_ev, len, &pev, &n, &pmac)) != TALOS_OK)
        goto out;
    TLOG_DEBUG("%c: +%.3f ms attest: peer evidence received", m->role, (mig_now() - m->t0) / 1e6);
    if ((rc = check_peer(m, pev, n, pmac)) != TALOS_OK)
        goto out;
    TLOG_DEBUG("%c: +%.3f ms attest: peer verified", m->role, (mig_now() - m->t0) / 1e6);
out:
    talos_wr_free(&w);
    return rc;
}

int mig_recv(struct mig *m, uint8_t want, uint8_t *got, void *buf, size_t cap, uint32_t *len)
{
    uint8_t from = m->role == MIG_ROLE_S ? TALOS_MIG_FROM_T : TALOS_MIG_FROM_S;
    int rc = talos_chan_recv_hdr(&m->ch, from, got, len);

    if (rc != TALOS_OK)
        return rc;
    if (*got != want && !(m->role == MIG_ROLE_S && *got == TALOS_MIG_ABORT)) {
        snprintf(m->reason, sizeof(m->reason), "expected %s, peer sent %s",
                 talos_mig_find(want)->name, talos_mig_find(*got)->name);
        return TALOS_ERR_PROTOCOL;
    }
    if (*len > cap)
        return TALOS_ERR_TOO_LARGE;
    return talos_chan_read(&m->ch, buf, *len);
}

int mig_abort_check(struct mig *m, const uint8_t *buf, uint32_t len, int *code)
{
    struct talos_token t;
    int rc = m->keys ? talos_token_open(buf, len, m->k_tok, TALOS_MIG_ABORT, m->session,
                                        m->lineage, &t)
                     : TALOS_ERR_PROTOCOL;
    if (rc != TALOS_OK) {
        snprintf(m->reason, sizeof(m->reason), "target sent an ABORT that does not verify: %s",
                 talos_strerror(rc));
        return rc;
    }
    *code = t.code < 0 && t.code >= TALOS_ERR_MIN ? t.code : TALOS_ERR_PROTOCOL;
    snprintf(m->reason, sizeof(m->reason), "target refused: %s", talos_strerror(*code));
    return TALOS_OK;
}

int mig_abort_code(struct mig *m, const uint8_t *buf, uint32_t len)
{
    int code = TALOS_ERR_PROTOCOL;
    int rc = mig_abort_check(m, buf, len, &code);
    return rc == TALOS_OK ? code : rc;
}

int mig_send_token(struct mig *m, uint8_t kind, uint64_t version,
                   const uint8_t head[TALOS_MIG_HASH_BYTES],
                   int32_t code, uint8_t out[TALOS_TOKEN_BYTES])
{
    struct talos_token t = {.kind = kind, .version = version, .code = code};
    int rc = TALOS_OK;

    memcpy(t.session, m->session, sizeof(t.session));
    memcpy(t.lineage, m->lineage, sizeof(t.lineage));
    memcpy(t.head, head, sizeof(t.head));
    if ((rc = talos_token_seal(&t, m->k_tok, out)) != TALOS_OK)
        return rc;
    return talos_chan_send(&m->ch, kind, out, TALOS_TOKEN_BYTES, NULL, 0);
}

int mig_reply(struct mig *m, int status)
{
    struct talos_wr rep;
    int rc = TALOS_OK;

    /* The report goes back on success and failure alike: a failed target's
     * ABORT token, a source in doubt's HANDOFF token, the phase times. */
    m->rep.cpu_ns = mig_clock(CLOCK_PROCESS_CPUTIME_ID) - m->cpu0;
    talos_wr_init(&rep, 4096);
    talos_mig_report_encode(&m->rep, &rep);
    rc = rep.err ? rep.err
                 : talos_rt_reply(status, rep.p, rep.len,
                                  m->reason[0] ? m->reason : talos_strerror(status));
    talos_wr_free(&rep);
    return rc;
}

/* The tail of a target's import that its first calls need not wait for:
 * the channel's graceful close (it waits for the peer's FIN) and the CFG's
 * release. One at a time; joined before the next import and at exit. */
static struct {
    pthread_t thread;
    int started;
    struct talos_chan ch;
    int chan_up;
} later;

static void *later_run(void *arg)
{
    (void)arg;
    talos_thread_background();
    if (later.chan_up)
        talos_chan_close(&later.ch);
    later.chan_up = 0;
    talos_flow_fini();
    talos_chan_prepare(); /* this TA's next migration */
    return NULL;
}

void mig_later_join(void)
{
    if (later.started)
        pthread_join(later.thread, NULL);
    later.started = 0;
}

void mig_end_later(struct mig *m)
{
    mig_later_join();
    /* The channel moves to the helper; the keys are wiped here and now. */
    later.ch = m->ch;
    later.chan_up = m->chan_up;
    m->chan_up = 0;
    talos_wipe(&m->ch, sizeof(m->ch));
    mig_end(m);
    later.started = talos_rt_thread_create(&later.thread, later_run, NULL) == 0;
    if (!later.started)
        later_run(NULL);
}

void mig_end(struct mig *m)
{
    if (m->chan_up)
        talos_chan_close(&m->ch);
    m->chan_up = 0;
    talos_wipe(m->k_tok, sizeof(m->k_tok));
    talos_wipe(m->exporter, sizeof(m->exporter));
    mig_ident_free(&m->id);
}

int mig_send_chunk(struct mig *m, uint32_t seq, uint64_t first, uint32_t n, const uint8_t *pages)
{
    const struct talos_mig_chunk c = {.seq = seq, .first = first, .n_pages = n};
    uint8_t hdr[TALOS_MIG_CHUNK_HDR_BYTES];
    int rc = talos_mig_chunk_encode(&c, hdr);

    /* The header is its own write, the pages another (no copy): the TLS
     * records the attack tests count. */
    if (rc != TALOS_OK || (rc = talos_chan_send(&m->ch, TALOS_MIG_CHUNK, hdr, sizeof(hdr), pages,
                                                (size_t)n * TALOS_PAGE)) != TALOS_OK)
        return rc;
    m->rep.state_bytes += (uint64_t)n * TALOS_PAGE;
    return TALOS_OK;
}

int mig_send_begin(struct mig *m, uint64_t arena_bytes, uint64_t persist_bytes)
{
    struct talos_mig_begin b = {.version = talos_rt.version,
                                .arena_bytes = arena_bytes,
                                .persist_bytes = persist_bytes,
                                .head_version = talos_rt.head_version};
    uint8_t body[TALOS_MIG_BEGIN_BYTES];

    memcpy(b.head, talos_rt.head, sizeof(b.head));
    if (TALOS_TAMPER("begin_head")) /* test builds: another previous head */
        b.head[0] ^= 0x01;
    talos_mig_begin_encode(&b, body);
    return talos_chan_send(&m->ch, TALOS_MIG_BEGIN, body, sizeof(body), NULL, 0);
}

int mig_send_manifest(struct mig *m, uint32_t n_chunks, const uint8_t root[TALOS_MIG_HASH_BYTES],
                      uint8_t new_head[TALOS_MIG_HASH_BYTES])
{
    struct talos_mig_manifest man = {.n_chunks = n_chunks};
    uint8_t body[TALOS_MIG_MANIFEST_BYTES];

    talos_chain_next(talos_rt.head, talos_rt.version, root, new_head);
    memcpy(man.root, root, sizeof(man.root));
    memcpy(man.head, new_head, sizeof(man.head));
    talos_mig_manifest_encode(&man, body);
    return talos_chan_send(&m->ch, TALOS_MIG_MANIFEST, body, sizeof(body), NULL, 0);
}
