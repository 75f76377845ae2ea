/* The source side of a migration (S): attest the target, freeze, stream the
 * state as a pipeline, hand off, retire. SECURITY.md's lifecycle: from
 * FROZEN, S may resume on its own (nothing was promised); from HANDED_OFF,
 * only with the target's ABORT; RETIRED is final. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/migrec.h"
#include "core/wire.h"
#include "os/sched.h"
#include "ta/arena.h"
#include "ta/cert.h"
#include "ta/fault.h"
#include "ta/flow.h"
#include "ta/mig.h"
#include "ta/precopy.h"
#include "ta/rt.h"

/* Kept while HANDED_OFF: the only key that can verify the target's ABORT
 * or RECEIPT, and what a RECEIPT must name (version, chain head). */
static struct {
    int live;
    uint8_t session[TALOS_SESSION_BYTES];
    uint8_t k_tok[TALOS_MIG_KEY_BYTES];
    uint64_t version;
    uint8_t head[TALOS_MIG_HASH_BYTES];
} pending;

/* The state's pages are hashed by two threads that meet (D13, revised in
 * D32 and D33). The persist section is copied and hashed at once (a few
 * pages; the copy is what is sent). A helper at nice 19 starts at once and
 * hashes the arena chunk by chunk from the *back* — during the channel
 * set-up and the attestation, and on through the stream whenever a core is
 * idle (the stream waiting for the socket, the target faulting its arena
 * in). The stream hashes from the front, each chunk right before it
 * encrypts it. Each chunk is claimed once, by whoever gets to it first;
 * when the stream meets the helper's first chunk it joins the helper,
 * which by then has hashed, or is finishing, every arena chunk from there
 * on. Either way the last arena chunk is hashed before it is sent, and no
 * later than any other. Stop-and-copy holds the freeze lock throughout, so
 * no ecall writes a page between its hash and its send. */
struct prehash {
    pthread_t thread;
    int started;
    const uint8_t *base; /* arena */
    uint64_t a_pages, total;
    uint32_t a_chunks, n_chunks;
    uint8_t *ppad;       /* persist section, padded to whole pages */
    uint8_t *leaves;
    uint8_t root[TALOS_HASH];
    struct talos_sha256_ctx *c; /* the stream's own */
    _Atomic uint8_t *claim;     /* per chunk: taken by the stream or the helper */
    _Atomic int stop;           /* a failure: the helper ends after its chunk */
    int all;                    /* every page hashed (the stream knows) */
    uint64_t ns, helper_ns;     /* CPU time spent hashing, stream and helper */
};

static const uint8_t *page_at(const struct prehash *h, uint64_t i)
{
    return i < h->a_pages ? h->base + i * TALOS_PAGE : h->ppad + (i - h->a_pages) * TALOS_PAGE;
}

/* Chunk k is pages [*first, *first + *n); no chunk spans the arena's end
 * and the persist section. */
static void chunk_at(const struct prehash *h, uint32_t k, uint64_t *first, uint32_t *n)
{
    uint64_t end = h->total;

    if (k < h->a_chunks) {
        *first = (uint64_t)k * TALOS_MIG_CHUNK_PAGES;
        end = h->a_pages;
    } else {
        *first = h->a_pages + (uint64_t)(k - h->a_chunks) * TALOS_MIG_CHUNK_PAGES;
    }
    *n = (uint32_t)(end - *first < TALOS_MIG_CHUNK_PAGES ? end - *first : TALOS_MIG_CHUNK_PAGES);
}

static void hash_pages(const struct prehash *h, struct talos_sha256_ctx *c, uint32_t k)
{
    uint64_t first = 0;
    uint32_t n = 0;

    chunk_at(h, k, &first, &n);
    for (uint64_t i = first; i < first + n; i++)
        talos_merkle_leaf(c, i, page_at(h, i), h->leaves + i * TALOS_HASH);
}

/* Every page is hashed and the arena's last chunk not yet sent (T15
 * tampers here: the pages sent then differ from the ones the root covers). */
static void all_hashed(void) { TALOS_FAULT("source.after_prehash"); }

static void *prehash_run(void *arg)
{
    struct prehash *h = arg;
    struct talos_sha256_ctx *c = NULL;
    uint64_t t = mig_clock(CLOCK_THREAD_CPUTIME_ID);

    /* Idle time only: the handshake's and the stream's threads must not
     * wait for this one (what it leaves undone, the stream hashes). */
    talos_thread_background();
    if (talos_sha256_begin(&c) != TALOS_OK)
        return NULL; /* nothing claimed: the stream hashes every chunk */
    for (uint32_t k = h->a_chunks; k-- > 0;) {
        if (atomic_load_explicit(&h->stop, memory_order_relaxed) ||
            atomic_exchange(&h->claim[k], 1))
            break; /* the stream got here first: it has every chunk below */
        hash_pages(h, c, k);
    }
    talos_sha256_free(c);
    h->helper_ns = mig_clock(CLOCK_THREAD_CPUTIME_ID) - t;
    return NULL;
}

static int prehash_start(struct prehash *h)
{
    size_t plen = 0;
    uint8_t *persist = talos_rt_persist(&plen);
    uint64_t p_pages = (plen + TALOS_PAGE - 1) / TALOS_PAGE;
    uint64_t cp = TALOS_MIG_CHUNK_PAGES;

    memset(h, 0, sizeof(*h));
    h->base = (const uint8_t *)talos_arena_base();
    h->a_pages = talos_arena_used_bytes() / TALOS_PAGE;
    h->total = h->a_pages + p_pages;
    h->a_chunks = (uint32_t)((h->a_pages + cp - 1) / cp);
    h->n_chunks = h->a_chunks + (uint32_t)((p_pages + cp - 1) / cp);
    h->leaves = malloc((h->total ? h->total : 1) * TALOS_HASH);
    h->ppad = calloc(p_pages ? p_pages : 1, TALOS_PAGE);
    h->claim = calloc(h->n_chunks ? h->n_chunks : 1, sizeof(*h->claim));
    if (!h->leaves || !h->ppad || !h->claim)
        return TALOS_ERR_NOMEM;
    if (plen) /* no persist section: persist may be NULL */
        memcpy(h->ppad, persist, plen);
    if (talos_sha256_begin(&h->c) != TALOS_OK)
        return TALOS_ERR_NOMEM;
    /* The persist section is sent from this copy, so it is hashed now (a
     * few pages); the two threads share the arena's chunks. Then the last
     * arena chunk is never sent before every page is hashed. */
    uint64_t t = mig_clock(CLOCK_THREAD_CPUTIME_ID);
    for (uint32_t k = h->a_chunks; k < h->n_chunks; k++) {
        hash_pages(h, h->c, k);
        atomic_store(&h->claim[k], 1);
    }
    h->ns = mig_clock(CLOCK_THREAD_CPUTIME_ID) - t;
    h->started = pthread_create(&h->thread, NULL, prehash_run, h) == 0;
    return TALOS_OK; /* no thread: the stream hashes every page */
}

static void prehash_join(struct prehash *h)
{
    if (h->started)
        pthread_join(h->thread, NULL);
    h->started = 0;
}

/* Chunk k's pages are hashed before it is sent: by the stream now, or by
 * the helper — then the helper has every arena chunk from k on, and
 * joining it (at most one chunk's work) makes the whole state hashed. */
static void hash_chunk(struct prehash *h, uint32_t k)
{
    if (h->all)
        return;
    if (atomic_exchange(&h->claim[k], 1)) {
        prehash_join(h);
        h->all = 1;
    } else {
        uint64_t t = mig_clock(CLOCK_THREAD_CPUTIME_ID);
        hash_pages(h, h->c, k);
        h->ns += mig_clock(CLOCK_THREAD_CPUTIME_ID) - t;
        h->all = k + 1 >= h->a_chunks;
    }
    if (h->all)
        all_hashed();
}

static void prehash_end(struct prehash *h)
{
    atomic_store(&h->stop, 1);
    prehash_join(h);
    talos_sha256_free(h->c);
    free(h->leaves);
    free((void *)h->claim);
    if (h->ppad) {
        talos_wipe(h->ppad, (h->total - h->a_pages) * TALOS_PAGE);
        free(h->ppad);
    }
    memset(h, 0, sizeof(*h));
}

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

/* BEGIN, CHUNKs (arena pages, then persist pages), MANIFEST. */
static int stream(struct mig *m, struct prehash *h, uint8_t new_head[TALOS_MIG_HASH_BYTES])
{
    size_t plen = 0;
    int rc = TALOS_OK;

    (void)talos_rt_persist(&plen);
    if ((rc = mig_send_begin(m, h->a_pages * TALOS_PAGE, plen)) != TALOS_OK)
        return rc;
    for (uint32_t k = 0; k < h->n_chunks; k++) {
        uint64_t first = 0;
        uint32_t n = 0;
        chunk_at(h, k, &first, &n);
        hash_chunk(h, k);
        /* Test builds: the last CHUNK renumbered, a gap before it. */
        uint32_t seq = k + (k + 1 == h->n_chunks && TALOS_TAMPER("chunk_seq"));
        if ((rc = mig_send_chunk(m, seq, first, n, page_at(h, first))) != TALOS_OK)
            return rc;
        TALOS_FAULT(k == 1 ? "source.after_2_chunks" : NULL);
    }
    prehash_join(h); /* it met the stream, or found nothing left: it is ending */
    talos_merkle_root(h->c, h->leaves, h->total, h->root);
    m->rep.checkpoint_ns = h->ns + h->helper_ns;
    return mig_send_manifest(m, h->n_chunks, h->root, new_head);
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
    /* Stop-and-copy is quiescent from here on: no ecall until the end (and
     * the state can be hashed during the handshake, D13). Pre-copy takes
     * the lock only to freeze. */
    if (!o->precopy) {
        pthread_mutex_lock(&talos_rt.freeze);
        frozen = 1;
    }
    if (talos_rt.state != RT_ACTIVE) {
        close(fd);
        snprintf(m.reason, sizeof(m.reason), "TA is %s, not ACTIVE",
                 talos_rt_state_name(talos_rt.state));
        if (frozen)
            pthread_mutex_unlock(&talos_rt.freeze);
        return mig_reply(&m, TALOS_ERR_STATE);
    }
    TALOS_FAULT("source.before_channel");
    uint64_t hint = 0;
    rc = o->precopy ? precopy_start(&pc, &hint) : prehash_start(&h);
    if (rc != TALOS_OK) {
        close(fd);
        if (rc == TALOS_ERR_NOT_IMPLEMENTED)
            snprintf(m.reason, sizeof(m.reason), "pre-copy needs write tracking, which this "
                     "kernel does not offer (use stop-and-copy)");
        goto resume;
    }
    if (!o->precopy)
        hint = h.a_pages * TALOS_PAGE;
    if ((rc = talos_chan_open(&m.ch, fd, 1)) != TALOS_OK)
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
    }
    TALOS_FAULT("source.before_frozen");
    if ((rc = talos_rt_enter(TALOS_LIFE_FREEZE)) != TALOS_OK)
        goto resume;
    t_freeze = mig_now();
    /* The lineage key and execution record first (ta/cert.c), while frozen. */
    rc = talos_rt_cert_send(&m);
    if (rc == TALOS_OK)
        rc = o->precopy ? precopy_final(&m, pc, head) : stream(&m, &h, head);
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
    if ((rc = talos_mig_receipt_decode(buf, len, &rcpt)) != TALOS_OK ||
        (rc = talos_token_open(rcpt.token, sizeof(rcpt.token), m.k_tok, TALOS_MIG_RECEIPT,
                               m.session, m.lineage, &t)) != TALOS_OK ||
        t.version != talos_rt.version || !talos_ct_eq(t.head, head, sizeof(head))) {
        rc = rc ? rc : TALOS_ERR_PROTOCOL;
        goto in_doubt;
    }
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
    return mig_reply(&m, rc);
}

/* RESUME: a HANDED_OFF source shown a valid ABORT of its pending session. */
int talos_rt_resume(const uint8_t *tok, size_t len, char *why, size_t why_cap)
{
    struct talos_token t;
    int rc = TALOS_OK;

    if (talos_rt.state != RT_HANDED_OFF || !pending.live) {
        snprintf(why, why_cap, "TA is %s: only a HANDED_OFF source can resume",
                 talos_rt_state_name(talos_rt.state));
        return TALOS_ERR_STATE;
    }
    if ((rc = talos_token_open(tok, len, pending.k_tok, TALOS_MIG_ABORT, pending.session,
                               talos_rt.lineage, &t)) != TALOS_OK) {
        snprintf(why, why_cap, "not a valid ABORT of the pending session: %s", talos_strerror(rc));
        return rc;
    }
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

    if (talos_rt.state != RT_HANDED_OFF || !pending.live) {
        snprintf(why, why_cap, "TA is %s: only a HANDED_OFF source takes a RECEIPT",
                 talos_rt_state_name(talos_rt.state));
        return TALOS_ERR_STATE;
    }
    if ((rc = talos_token_open(tok, len, pending.k_tok, TALOS_MIG_RECEIPT, pending.session,
                               talos_rt.lineage, &t)) != TALOS_OK) {
        snprintf(why, why_cap, "not a valid RECEIPT of the pending session: %s", talos_strerror(rc));
        return rc;
    }
    if (t.version != pending.version || !talos_ct_eq(t.head, pending.head, TALOS_MIG_HASH_BYTES)) {
        snprintf(why, why_cap, "the RECEIPT names another version or chain head");
        return TALOS_ERR_PROTOCOL;
    }
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
