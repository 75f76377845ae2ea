/* The target side of a migration (T): a virgin instance of the same image,
 * started in restore mode. It attests the source, takes the state as a
 * pipeline, writing only inside its own regions, verifies root and chain,
 * answers PREPARED, and activates on HANDOFF. Any failure before ACTIVE is
 * FAILED — terminal — and sends ABORT so that the source may resume. The
 * state stream's records are ta/mig_receive.c's, the helper threads of an
 * import ta/mig_helpers.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/migcheck.h"
#include "core/migrec.h"
#include "core/msg.h"
#include "core/wire.h"
#include "ta/arena.h"
#include "ta/cert.h"
#include "ta/fault.h"
#include "ta/flow.h"
#include "ta/mig.h"
#include "ta/rt.h"

static int fail(struct mig *m, int rc, const char *why)
{
    snprintf(m->reason, sizeof(m->reason), "%s", why);
    return rc;
}

static int hello(struct mig *m, struct mig_prefault *pf, const uint8_t expected[TALOS_LINEAGE_BYTES],
                 uint64_t grant)
{
    struct talos_mig_hello_ack ack = {.version = TALOS_MIG_VERSION};
    struct talos_mig_hello h;
    uint8_t body[TALOS_MIG_HELLO_BYTES], out[TALOS_MIG_HELLO_ACK_BYTES], got = 0;
    uint32_t len = 0;
    int rc = talos_random_bytes(m->nonce_own, sizeof(m->nonce_own));

    /* HELLO_ACK does not depend on HELLO: it goes out first, and the two
     * cross on the wire instead of costing a round trip. */
    if (rc != TALOS_OK)
        return rc;
    memcpy(ack.nonce, m->nonce_own, sizeof(ack.nonce));
    talos_mig_hello_ack_encode(&ack, out);
    if ((rc = talos_chan_send(&m->ch, TALOS_MIG_HELLO_ACK, out, sizeof(out), NULL, 0)) !=
            TALOS_OK ||
        (rc = mig_recv(m, TALOS_MIG_HELLO, &got, body, sizeof(body), &len)) != TALOS_OK ||
        (rc = talos_mig_hello_decode(body, len, &h)) != TALOS_OK)
        return rc;
    if (h.version != TALOS_MIG_VERSION) {
        snprintf(m->reason, sizeof(m->reason), "source speaks migration protocol %u, not %u",
                 h.version, TALOS_MIG_VERSION);
        return TALOS_ERR_PROTOCOL;
    }
    memcpy(m->session, h.session, sizeof(m->session));
    memcpy(m->nonce_peer, h.nonce, sizeof(m->nonce_peer));
    memcpy(m->lineage, h.lineage, sizeof(m->lineage)); /* bound by the source's evidence, checked next */
    mig_prefault_start(pf, h.arena_hint, grant);
    if ((rc = mig_keys(m)) != TALOS_OK)
        return rc;
    /* The host registers us under the lineage the source's node announced in
     * plaintext; a source offering another one (a tampered announcement)
     * would make us serve under a wrong name. Checked once the session keys
     * exist, so that the source hears why, in an ABORT it can verify. */
    return talos_mig_hello_lineage_check(&h, expected, m->reason, sizeof(m->reason));
}

int mig_host_arrival(const uint8_t lineage[TALOS_LINEAGE_BYTES], uint64_t version, char *why,
                     size_t cap)
{
    struct talos_host_activate act = {.version = version};
    uint8_t req[TALOS_HOST_ACTIVATE_BYTES];
    struct talos_wr w;
    size_t n = 0;
    int rc = TALOS_OK;

    memcpy(act.lineage, lineage, sizeof(act.lineage));
    talos_host_activate_encode(&act, req);
    talos_wr_init(&w, 0);
    talos_wr_u16(&w, TALOS_HOST_REQ_ACTIVATE);
    talos_wr_bytes(&w, req, sizeof(req));
    rc = w.err ? w.err
               : talos_rt_host_roundtrip(TALOS_MSG_HOST_REQ, &w, TALOS_MSG_HOST_RET, NULL, 0, &n);
    talos_wr_free(&w);
    if (rc != TALOS_OK)
        snprintf(why, cap, "our node did not record the arrival (%s): not activating",
                 talos_strerror(rc));
    return rc;
}

/* Activate: from here this instance is the lineage. Shared by the HANDOFF
 * that arrives in the channel and the one our node delivers later
 * (ta/mig_handoff.c). TALOS_ERR_STATE (nothing changed) unless PREPARED. */
int mig_activate_commit(const uint8_t lineage[TALOS_LINEAGE_BYTES], uint64_t version,
                        const uint8_t head[TALOS_MIG_HASH_BYTES])
{
    int rc = talos_rt_enter(TALOS_LIFE_ACTIVATE);

    if (rc != TALOS_OK)
        return rc;
    memcpy(talos_rt.lineage, lineage, TALOS_LINEAGE_BYTES);
    talos_rt.version = version;
    memcpy(talos_rt.head, head, TALOS_MIG_HASH_BYTES);
    talos_rt.head_version = version;
    return TALOS_OK;
}

static int activate(struct mig *m, const struct mig_received *rcv, uint64_t t_prepared,
                    struct mig_introspection *in)
{
    const uint8_t *head = rcv->head;
    uint64_t version = rcv->begin.version;
    uint8_t buf[TALOS_TOKEN_BYTES], got = 0;
    uint32_t len = 0;
    struct talos_token t;
    int rc = mig_recv(m, TALOS_MIG_HANDOFF, &got, buf, sizeof(buf), &len);

    m->rep.restore_ns = t_prepared - rcv->t_begin;
    if (rc != TALOS_OK) {
        /* The channel broke after PREPARED: the source may have handed off
         * (its HANDOFF lost on the way) or not. Failing now could leave a
         * HANDED_OFF source with nobody to serve; so wait, PREPARED, for the
         * HANDOFF its node resends through ours (ta/mig_handoff.c). */
        snprintf(m->reason, sizeof(m->reason),
                 "PREPARED, channel lost before HANDOFF (%s): waiting for it through the node",
                 talos_strerror(rc));
        return TALOS_ERR_HANDOFF_WAIT;
    }
    if ((rc = talos_token_open(buf, len, m->k_tok, TALOS_MIG_HANDOFF, m->session, m->lineage,
                               &t)) != TALOS_OK ||
        t.version != version || !talos_ct_eq(t.head, head, TALOS_MIG_HASH_BYTES))
        return fail(m, rc ? rc : TALOS_ERR_PROTOCOL, "HANDOFF is not valid for this session");
    /* Introspection: code changed since launch (or unlike what the platform
     * measured) blocks activation — FAILED, and the ABORT lets S resume. */
    TLOG_DEBUG("T: +%.3f ms HANDOFF verified", (mig_now() - m->t0) / 1e6);
    mig_introspect_join(in);
    TLOG_DEBUG("T: +%.3f ms introspection joined (it took %.3f ms of CPU)",
               (mig_now() - m->t0) / 1e6, in->cpu_ns / 1e6);
    if ((rc = in->rc) != TALOS_OK ||
        (rc = talos_rt_code_unchanged(in->now, m->id.own.measurement, in->why, sizeof(in->why))) != TALOS_OK)
        return fail(m, rc, in->why);
    TALOS_FAULT("target.before_active");
    /* Our node first: it records the arrival before we serve and before
     * the source hears RECEIPT, so a node that dies now leaves a source
     * that resumes (our ABORT), not a lineage nobody can reach. */
    if ((rc = mig_host_arrival(m->lineage, version, in->why, sizeof(in->why))) != TALOS_OK)
        return fail(m, rc, in->why);
    TALOS_FAULT("target.after_recorded");
    if ((rc = mig_activate_commit(m->lineage, version, head)) != TALOS_OK)
        return fail(m, rc, "this target is no longer PREPARED");
    m->rep.version = version;
    memcpy(m->rep.head, head, TALOS_MIG_HASH_BYTES);
    memcpy(m->rep.lineage, m->lineage, TALOS_LINEAGE_BYTES);
    TALOS_FAULT("target.after_active");
    /* RECEIPT: token ‖ restore_ns ‖ activate_ns; best effort — we serve
     * whether or not the source hears it (it stays HANDED_OFF, never serving).
     * The token also goes to our node, which answers a resent HANDOFF of
     * this session with it (the source lost this one). */
    struct talos_token r = {.kind = TALOS_MIG_RECEIPT, .version = version};
    struct talos_mig_receipt rcpt = {.restore_ns = m->rep.restore_ns};
    uint8_t rec[TALOS_MIG_RECEIPT_BYTES];
    memcpy(r.session, m->session, sizeof(r.session));
    memcpy(r.lineage, m->lineage, sizeof(r.lineage));
    memcpy(r.head, head, TALOS_MIG_HASH_BYTES);
    if (talos_token_seal(&r, m->k_tok, rcpt.token) == TALOS_OK) {
        rcpt.activate_ns = mig_now() - t_prepared;
        memcpy(m->rep.token, rcpt.token, TALOS_TOKEN_BYTES);
        m->rep.token_kind = TALOS_MIG_RECEIPT;
        talos_mig_receipt_encode(&rcpt, rec);
        (void)talos_chan_send(&m->ch, TALOS_MIG_RECEIPT, rec, sizeof(rec), NULL, 0);
    }
    return TALOS_OK;
}

int talos_rt_migrate_in(int fd, const uint8_t expected_lineage[TALOS_LINEAGE_BYTES],
                        uint64_t prefault_grant)
{
    struct mig m;
    struct mig_received rcv;
    size_t plen = 0;
    uint8_t *persist = talos_rt_persist(&plen);
    uint64_t p_pages = (plen + TALOS_PAGE - 1) / TALOS_PAGE;
    uint8_t *ppad = NULL;
    uint8_t tok[TALOS_TOKEN_BYTES];
    struct mig_prefault pf = {0};
    struct mig_introspection in = {0};
    struct mig_unattested un = {0};
    int rc = TALOS_OK;

    memset(&m, 0, sizeof(m));
    memset(&rcv, 0, sizeof(rcv));
    m.role = MIG_ROLE_T;
    m.t0 = mig_now();
    m.cpu0 = mig_clock(CLOCK_PROCESS_CPUTIME_ID);
    /* The frame table let MIGRATE_IN through only EMPTY (ta/frames.c);
     * checked again, as its failure path wipes the state. */
    if (talos_rt.state != RT_EMPTY) {
        close(fd);
        snprintf(m.reason, sizeof(m.reason), "TA is %s: only an EMPTY target imports",
                 talos_rt_state_name(talos_rt.state));
        return mig_reply(&m, TALOS_ERR_STATE);
    }
    /* Introspection from the start: re-hashing the code overlaps the
     * handshake and the stream; its verdict is taken right before activation. */
    mig_introspect_start(&in);
    /* The key and evidence made at start-up (ta/mig_ident.c), or now. */
    if ((rc = mig_ident_take(MIG_ROLE_T, &m.id, m.reason, sizeof(m.reason))) != TALOS_OK) {
        close(fd);
        goto failed;
    }
    mig_unattested_start(&un, fd);
    if ((rc = talos_chan_open(&m.ch, fd, 0, &m.id.key)) != TALOS_OK)
        goto failed;
    m.chan_up = 1;
    TLOG_DEBUG("%c: +%.3f ms TLS channel up", m.role, (mig_now() - m.t0) / 1e6);
    /* The CFG (parsed since launch) must be ready before the source may
     * freeze: it waits for our evidence, so a freshly launched target's
     * parse lands in prepare, not in the downtime. */
    if ((rc = hello(&m, &pf, expected_lineage, prefault_grant)) != TALOS_OK)
        goto failed;
    talos_flow_ready();
    rc = mig_attest(&m);
    mig_unattested_end(&un);
    if (rc != TALOS_OK || (rc = talos_rt_enter(TALOS_LIFE_IMPORT)) != TALOS_OK)
        goto failed;
    if (!(ppad = calloc(p_pages ? p_pages : 1, TALOS_PAGE))) {
        rc = TALOS_ERR_NOMEM;
        goto failed;
    }
    if ((rc = mig_receive(&m, &pf, ppad, plen, &rcv)) != TALOS_OK)
        goto failed;
    TLOG_DEBUG("T: +%.3f ms stream verified", (mig_now() - m.t0) / 1e6);
    if ((rc = talos_arena_adopt()) != TALOS_OK) {
        snprintf(m.reason, sizeof(m.reason), "arena metadata in the state is inconsistent");
        goto failed;
    }
    TLOG_DEBUG("T: +%.3f ms arena adopted", (mig_now() - m.t0) / 1e6);
    /* Thread contexts against the CFG (loaded at launch): before PREPARED. */
    if ((rc = talos_flow_check(&m)) != TALOS_OK)
        goto failed;
    TLOG_DEBUG("T: +%.3f ms thread contexts checked", (mig_now() - m.t0) / 1e6);
    if (plen) /* no persist section: persist may be NULL */
        talos_rt_persist_copy(persist, ppad, plen);
    /* The TA's restore hook on the verified state, before PREPARED (D45):
     * a hook that refuses fails this import and the source serves on. */
    if ((rc = talos_rt_restore_run(TALOS_RESTORE_MIGRATED, rcv.begin.version, m.reason,
                                   sizeof(m.reason))) != TALOS_OK)
        goto failed;
    if ((rc = talos_rt_enter(TALOS_LIFE_PREPARE)) != TALOS_OK)
        goto failed;
    uint64_t t_prepared = mig_now();
    TLOG_DEBUG("T: +%.3f ms PREPARED", (t_prepared - m.t0) / 1e6);
    TALOS_FAULT("target.before_prepared");
    if ((rc = mig_send_token(&m, TALOS_MIG_PREPARED, rcv.begin.version, rcv.head, 0, tok)) !=
        TALOS_OK)
        goto failed;
    TALOS_FAULT("target.after_prepared");
    if ((rc = activate(&m, &rcv, t_prepared, &in)) == TALOS_ERR_HANDOFF_WAIT) {
        /* Keep what a HANDOFF delivered by the node needs (the token key,
         * version, head); the introspection runs again at activation. The
         * PREPARED token tells our node which session we wait for. */
        mig_introspect_join(&in);
        mig_wait_begin(&m, rcv.begin.version, rcv.head);
        m.rep.version = rcv.begin.version;
        memcpy(m.rep.lineage, m.lineage, TALOS_LINEAGE_BYTES);
        memcpy(m.rep.head, rcv.head, TALOS_MIG_HASH_BYTES);
        memcpy(m.rep.token, tok, TALOS_TOKEN_BYTES);
        m.rep.token_kind = TALOS_MIG_PREPARED;
        mig_end(&m);
        talos_wipe(ppad, p_pages * TALOS_PAGE); /* the persist copy is installed */
        free(ppad);
        TLOG_WARN("%s", m.reason);
        return mig_reply(&m, TALOS_ERR_HANDOFF_WAIT);
    }
    if (rc != TALOS_OK)
        goto failed;
    m.rep.state_bytes = rcv.begin.arena_bytes + plen;
    m.rep.total_ns = mig_now() - m.t0;
    free(ppad);
    TLOG_INFO("active: lineage continues at version %llu", (unsigned long long)rcv.begin.version);
    rc = mig_reply(&m, TALOS_OK);
    mig_end_later(&m); /* the close and the CFG's release, off the first calls' path */
    return rc;

failed:
    /* FAILED is terminal: wipe whatever arrived, tell the source it may
     * resume (if the channel still stands), tell the host, end. */
    mig_unattested_end(&un);
    mig_prefault_join(&pf);
    mig_introspect_join(&in);
    (void)talos_rt_enter(TALOS_LIFE_FAIL); /* from any state before ACTIVE */
    talos_rt_wipe_state();
    if (ppad) {
        talos_wipe(ppad, p_pages * TALOS_PAGE);
        free(ppad);
    }
    if (!m.reason[0])
        snprintf(m.reason, sizeof(m.reason), "import failed: %s", talos_strerror(rc));
    TLOG_WARN("target FAILED: %s", m.reason);
    TALOS_FAULT("target.failed_before_abort");
    if (m.keys) {
        /* Sealed whether or not it can be sent: over a broken channel the
         * source is left in doubt, and only this token (which our node logs
         * and an operator can carry to `talos resume`) lets it serve again. */
        struct talos_token t = {.kind = TALOS_MIG_ABORT, .version = rcv.begin.version,
                                .code = rc};
        memcpy(t.session, m.session, sizeof(t.session));
        memcpy(t.lineage, m.lineage, sizeof(t.lineage));
        if (talos_token_seal(&t, m.k_tok, m.rep.token) == TALOS_OK) {
            m.rep.token_kind = TALOS_MIG_ABORT;
            if (m.chan_up)
                (void)talos_chan_send(&m.ch, TALOS_MIG_ABORT, m.rep.token, TALOS_TOKEN_BYTES,
                                      NULL, 0);
        }
    }
    mig_end(&m);
    return mig_reply(&m, rc);
}
