/* The source side of a migration (S): attest the target, freeze, stream the
 * state as a pipeline, hand off, retire. SECURITY.md's lifecycle: from
 * FROZEN, S may resume on its own (nothing was promised); from HANDED_OFF,
 * only with the target's ABORT; RETIRED is final. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/migcheck.h"
#include "core/migrec.h"
#include "core/wire.h"
#include "os/sched.h"
#include "ta/arena.h"
#include "ta/cert.h"
#include "ta/fault.h"
#include "ta/flow.h"
#include "ta/mig.h"
#include "ta/precopy.h"
#include "ta/prehash.h"
#include "ta/rt.h"

/* Kept while HANDED_OFF: the only key that can verify the target's ABORT
 * or RECEIPT, and what a RECEIPT must name (version, chain head). */
static struct talos_mig_pending pending;

static int hello(struct mig *m, uint64_t arena_bytes)
{
    /* A size hint: the target pre-faults its arena during attestation. */
    struct talos_mig_hello h = {.version = TALOS_MIG_VERSION, .arena_hint = arena_bytes};
    struct talos_mig_hello_ack ack;
    uint8_t body[TALOS_MIG_HELLO_BYTES], buf[TALOS_MIG_HELLO_ACK_BYTES], got = 0;
    uint32_t len = 0;
    int rc = TALOS_OK;

    memset(&ack, 0, sizeof(ack));
    if ((rc = talos_random_bytes(m->session, sizeof(m->session))) != TALOS_OK ||
        (rc = talos_random_bytes(m->nonce_own, sizeof(m->nonce_own))) != TALOS_OK)
        return rc;
    memcpy(h.session, m->session, sizeof(h.session));
    memcpy(h.nonce, m->nonce_own, sizeof(h.nonce));
    memcpy(h.lineage, m->lineage, sizeof(h.lineage));
    talos_mig_hello_encode(&h, body);
    if ((rc = talos_chan_send(&m->ch, TALOS_MIG_HELLO, body, sizeof(body), NULL, 0)) != TALOS_OK ||
        (rc = mig_recv(m, TALOS_MIG_HELLO_ACK, &got, buf, sizeof(buf), &len)) != TALOS_OK)
        return rc;
    if (got == TALOS_MIG_ABORT || talos_mig_hello_ack_decode(buf, len, &ack) != TALOS_OK ||
        ack.version != TALOS_MIG_VERSION) {
        snprintf(m->reason, sizeof(m->reason), "target speaks migration protocol %u, not %u",
                 ack.version, TALOS_MIG_VERSION);
        return TALOS_ERR_PROTOCOL;
    }
    memcpy(m->nonce_peer, ack.nonce, sizeof(m->nonce_peer));
    return mig_keys(m);
}

/* The target's answer to a stream: PREPARED (go on) or ABORT (resume). */
static int await_prepared(struct mig *m, const uint8_t head[TALOS_MIG_HASH_BYTES])
{
    uint8_t buf[TALOS_TOKEN_BYTES], got = 0;
    uint32_t len = 0;
    struct talos_token t;
    int rc = mig_recv(m, TALOS_MIG_PREPARED, &got, buf, sizeof(buf), &len);

    if (rc != TALOS_OK)
        return rc;
    if (got == TALOS_MIG_ABORT)
        return mig_abort_code(m, buf, len);
    if ((rc = talos_token_open(buf, len, m->k_tok, got, m->session, m->lineage, &t)) != TALOS_OK)
        return rc;
    if (t.version != talos_rt.version || !talos_ct_eq(t.head, head, TALOS_MIG_HASH_BYTES)) {
        snprintf(m->reason, sizeof(m->reason), "PREPARED names another version or chain head");
        return TALOS_ERR_PROTOCOL;
    }
    return TALOS_OK;
}

/* RETIRED (its caller applied the RECEIPT, before the host hears of it) is
 * final: the state and every key leave with the process. */
static void retire(void)
{
    talos_rt_wipe_state();
    talos_wipe(&pending, sizeof(pending));
    TLOG_INFO("retired: the lineage now lives on the target");
}

int talos_rt_migrate_out(int fd, const struct talos_rt_migopts *o)
{
    struct mig m;
    uint8_t head[TALOS_MIG_HASH_BYTES], buf[TALOS_MIG_RECEIPT_BYTES], got = 0;
    uint32_t len = 0;
    uint64_t t_freeze = 0, t_handoff = 0;
    struct talos_mig_receipt rcpt;
    struct talos_token t;
    struct prehash h;
    struct precopy *pc = NULL;
    int frozen = 0, rc = TALOS_OK;

    memset(&m, 0, sizeof(m));
    memset(&h, 0, sizeof(h));
    m.role = MIG_ROLE_S;
    m.t0 = mig_now();
    m.cpu0 = mig_clock(CLOCK_PROCESS_CPUTIME_ID);
    memcpy(m.lineage, talos_rt.lineage, TALOS_LINEAGE_BYTES);
    memcpy(m.rep.lineage, talos_rt.lineage, TALOS_LINEAGE_BYTES);
    /* Both modes serve calls through the channel set-up and the mutual
     * attestation: the freeze lock is taken only to freeze (D39; until
     * then stop-and-copy held it from here, and clients waited through
     * the whole handshake while `downtime` counted only its end). */
    if (talos_rt.state != RT_ACTIVE) {
        close(fd);
        snprintf(m.reason, sizeof(m.reason), "TA is %s, not ACTIVE",
                 talos_rt_state_name(talos_rt.state));
        return mig_reply(&m, TALOS_ERR_STATE);
    }
    TALOS_FAULT("source.before_channel");
    /* Between two calls (the freeze lock): what cannot move is refused
     * before anything else happens (D46), and the target pre-faults its
     * arena on this hint during the attestation; BEGIN gives the real size,
     * which calls may still change. */
    pthread_mutex_lock(&talos_rt.freeze);
    const int own[] = {fd, talos_rt_bnd()->x->fd, talos_rt.x.pending_fd};
    rc = talos_rt_unmovable_check(own, sizeof(own) / sizeof(own[0]), m.reason, sizeof(m.reason));
    uint64_t hint = talos_arena_used_bytes();
    pthread_mutex_unlock(&talos_rt.freeze);
    if (rc != TALOS_OK) {
        close(fd);
        goto resume;
    }
    if (o->precopy && (rc = precopy_start(&pc, &hint)) != TALOS_OK) {
        close(fd);
        if (rc == TALOS_ERR_NOT_IMPLEMENTED)
            snprintf(m.reason, sizeof(m.reason), "pre-copy needs write tracking, which this "
                     "kernel does not offer (use stop-and-copy)");
        goto resume;
    }
    /* The key and evidence made ahead (ta/mig_ident.c), or now. */
    if ((rc = mig_ident_take(MIG_ROLE_S, &m.id, m.reason, sizeof(m.reason))) != TALOS_OK) {
        close(fd);
        goto resume;
    }
    if ((rc = talos_chan_open(&m.ch, fd, 1, &m.id.key)) != TALOS_OK)
        goto resume;
    m.chan_up = 1;
    TLOG_DEBUG("%c: +%.3f ms TLS channel up", m.role, (mig_now() - m.t0) / 1e6);
    if ((rc = hello(&m, hint)) != TALOS_OK || (rc = mig_attest(&m)) != TALOS_OK)
        goto resume;
    m.rep.prepare_ns = mig_now() - m.t0;

    uint64_t t_stream = mig_now();
    if (o->precopy) {
        m.rep.wtrack = (uint8_t)precopy_method(pc);
        if ((rc = precopy_rounds(&m, pc, o->max_rounds)) != TALOS_OK)
            goto resume;
        precopy_freeze(pc);
    } else {
        /* Stop-and-copy: quiescent from here to the end; no ecall writes a
         * page between its hash and its send. */
        pthread_mutex_lock(&talos_rt.freeze);
        frozen = 1;
    }
    /* Downtime starts here: the last call the source answered came before. */
    t_freeze = mig_now();
    TALOS_FAULT("source.before_frozen");
    if ((rc = talos_rt_enter(TALOS_LIFE_FREEZE)) != TALOS_OK)
        goto resume;
    /* The state is hashed in the stream: a helper from the back, the
     * stream from the front (ta/prehash.h). */
    if (!o->precopy && (rc = prehash_start(&h)) != TALOS_OK)
        goto resume;
    /* The lineage key and execution record first (ta/cert.c), while frozen. */
    rc = talos_rt_cert_send(&m);
    if (rc == TALOS_OK)
        rc = o->precopy ? precopy_final(&m, pc, head) : prehash_stream(&m, &h, head);
    if (rc == TALOS_OK)
        rc = talos_flow_send(&m);
    TLOG_DEBUG("S: +%.3f ms THREADS sent", (mig_now() - m.t0) / 1e6);
    if (rc != TALOS_OK)
        goto resume;
    m.rep.transfer_ns = mig_now() - t_stream;
    if ((rc = await_prepared(&m, head)) != TALOS_OK)
        goto resume;
    TLOG_DEBUG("S: +%.3f ms PREPARED received", (mig_now() - m.t0) / 1e6);

    TALOS_FAULT("source.before_handoff");
    /* Point of no return: from here on S serves again only with an ABORT. */
    if ((rc = talos_rt_enter(TALOS_LIFE_HANDOFF)) != TALOS_OK)
        goto resume;
    pending.live = 1;
    memcpy(pending.session, m.session, sizeof(pending.session));
    memcpy(pending.k_tok, m.k_tok, sizeof(pending.k_tok));
    pending.version = talos_rt.version;
    memcpy(pending.head, head, sizeof(pending.head));
    t_handoff = mig_now();
    /* Test builds: a HANDOFF sealed for another version (pending keeps ours). */
    uint64_t ho_version = talos_rt.version + (uint64_t)TALOS_TAMPER("handoff_version");
    if ((rc = mig_send_token(&m, TALOS_MIG_HANDOFF, ho_version, head, 0, m.rep.token)) != TALOS_OK)
        goto in_doubt;
    m.rep.token_kind = TALOS_MIG_HANDOFF;
    TALOS_FAULT("source.after_handoff");
    if ((rc = mig_recv(&m, TALOS_MIG_RECEIPT, &got, buf, sizeof(buf), &len)) != TALOS_OK)
        goto in_doubt;
    if (got == TALOS_MIG_ABORT) {
        /* The target failed after our HANDOFF and says so under the session
         * key: we may, and must, serve again. An ABORT that does not verify
         * proves nothing: stay in doubt. */
        int code = TALOS_ERR_PROTOCOL;
        if ((rc = mig_abort_check(&m, buf, len, &code)) != TALOS_OK)
            goto in_doubt;
        rc = code;
        talos_wipe(&pending, sizeof(pending));
        (void)talos_rt_enter(TALOS_LIFE_ABORT_VERIFIED);
        goto resume;
    }
    /* The same check as for a RECEIPT the nodes carry (talos_rt_receipt):
     * pending holds this session, version and head. */
    if ((rc = talos_mig_receipt_decode(buf, len, &rcpt)) != TALOS_OK ||
        (rc = talos_mig_receipt_check((enum talos_life_state)talos_rt.state, &pending, m.lineage,
                                      rcpt.token, sizeof(rcpt.token), &t, NULL, 0)) != TALOS_OK)
        goto in_doubt;
    m.rep.restore_ns = rcpt.restore_ns;
    uint64_t now = mig_now();
    m.rep.activate_ns = now - t_handoff;
    m.rep.downtime_ns = now - t_freeze;
    m.rep.total_ns = now - m.t0;
    m.rep.version = talos_rt.version;
    memcpy(m.rep.head, head, TALOS_MIG_HASH_BYTES);
    m.rep.token_kind = 0;
    /* RETIRED before anyone hears of it. Calls queued at the freeze get
     * MOVED at once — their clients go to the target now, not after the
     * channel's close, our answer to the host and the wipe of the state. */
    (void)talos_rt_enter(TALOS_LIFE_RECEIPT);
    precopy_thaw(pc);
    if (frozen)
        pthread_mutex_unlock(&talos_rt.freeze);
    if (!o->precopy)
        prehash_end(&h);
    mig_end(&m);
    rc = mig_reply(&m, TALOS_OK);
    /* The wipe of a large state must not compete with the lineage's first
     * calls on its new node (on two cores, it did: ~3 ms of client
     * downtime at 256 MiB). */
    talos_thread_background();
    retire();
    precopy_end(pc);
    return rc;

resume:
    /* Nothing was promised (or the target's ABORT verified): the state
     * never changed, serve on. Still ACTIVE when we failed before the
     * freeze. */
    if (talos_rt.state == RT_FROZEN)
        (void)talos_rt_enter(TALOS_LIFE_UNFREEZE);
    if (!m.reason[0])
        snprintf(m.reason, sizeof(m.reason), "migration failed before handoff: %s", talos_strerror(rc));
    TLOG_WARN("migration refused, source serves on: %s", m.reason);
    m.rep.token_kind = 0;
    goto release;

in_doubt:
    /* HANDOFF may have reached the target: we must not serve, and cannot
     * know. The node keeps the HANDOFF token to resend it; only the target's
     * ABORT (RESUME) brings us back. Safety over liveness. */
    snprintf(m.reason, sizeof(m.reason), "handed off, no receipt (%s): in doubt, not serving",
             talos_strerror(rc));
    m.rep.version = talos_rt.version; /* the node's resend reports it */
    memcpy(m.rep.head, head, TALOS_MIG_HASH_BYTES);
    TLOG_WARN("%s", m.reason);
    rc = TALOS_ERR_STATE;

release: /* both failures: the stream's helpers, the freeze and the channel */
    if (!o->precopy)
        prehash_end(&h);
    precopy_end(pc);
    if (frozen)
        pthread_mutex_unlock(&talos_rt.freeze);
    mig_end(&m);
    /* The key served this channel: a serving source makes the next one's
     * while its host still serves its platform requests (D44). */
    if (talos_rt.state == RT_ACTIVE)
        mig_ident_refill(MIG_ROLE_S);
    return mig_reply(&m, rc);
}

/* RESUME: a HANDED_OFF source shown a valid ABORT of its pending session. */
int talos_rt_resume(const uint8_t *tok, size_t len, char *why, size_t why_cap)
{
    struct talos_token t;
    int rc = TALOS_OK;

    if ((rc = talos_mig_resume_check((enum talos_life_state)talos_rt.state, &pending,
                                     talos_rt.lineage, tok, len, &t, why, why_cap)) != TALOS_OK)
        return rc;
    talos_wipe(&pending, sizeof(pending));
    (void)talos_rt_enter(TALOS_LIFE_ABORT_VERIFIED);
    TLOG_WARN("resumed after the target's ABORT (%s)", talos_strerror(t.code));
    return TALOS_OK;
}

/* RECEIPT carried by the nodes (the in-channel one was lost): a HANDED_OFF
 * source shown the target's RECEIPT of its pending session, version and
 * chain head retires. Anything else changes nothing (I8). */
int talos_rt_receipt(const uint8_t *tok, size_t len, char *why, size_t why_cap)
{
    struct talos_token t;
    int rc = TALOS_OK;

    if ((rc = talos_mig_receipt_check((enum talos_life_state)talos_rt.state, &pending,
                                      talos_rt.lineage, tok, len, &t, why, why_cap)) != TALOS_OK)
        return rc;
    /* RETIRED (and wiped) before the host hears of it; the process ends
     * after the reply. */
    TLOG_INFO("the target's RECEIPT arrived through the nodes");
    if ((rc = talos_rt_enter(TALOS_LIFE_RECEIPT)) != TALOS_OK) {
        snprintf(why, why_cap, "TA is %s: it cannot retire", talos_rt_state_name(talos_rt.state));
        return rc;
    }
    retire();
    return TALOS_OK;
}
