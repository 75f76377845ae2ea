/* Target node side of the handover after a lost channel (handoff.h). One
 * lock and one condition guard the waiting targets, the requests posted to
 * them and the tokens kept per session. A waiting target's thread (the
 * peer thread that imported it) does every call into its TA; requests
 * (resends from peer connections, `talos abort`) are posted to it and
 * answered by it, so the TA sees one frame at a time. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/mig.h"
#include "node/talosd/handoff.h"
#include "node/talosd/node.h"
#include "node/talosd/registry.h"

#define KEPT_MAX 64      /* tokens kept (newest replace oldest) */
#define IMPORTING_MAX 64
#define REQ_WAIT_S 60    /* a request waits this long for its answer at most */

enum hreq_kind { HREQ_TOKEN, HREQ_ABORT };

/* A request posted to a waiting target; owned by the poster (its stack). */
struct hreq {
    enum hreq_kind kind;
    uint8_t tok[PEER_TOKEN_MAX];
    size_t tok_len;
    int done;
    struct peer_verdict ans;
};

struct waiter {
    char id[TA_ID_LEN + 1];
    uint8_t session[TALOS_SESSION_BYTES];
    struct ta_entry *e;
    double deadline;
    struct hreq *tok_req, *abort_req;
    struct waiter *next;
};

struct kept {
    char id[TA_ID_LEN + 1];
    uint8_t session[TALOS_SESSION_BYTES];
    uint8_t kind; /* RECEIPT or ABORT, read from tok */
    uint8_t tok[TALOS_TOKEN_BYTES];
};

static pthread_mutex_t hl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hc = PTHREAD_COND_INITIALIZER;
static struct waiter *waiters;
static struct kept kept[KEPT_MAX];
static size_t kept_next;
static char importing[IMPORTING_MAX][TA_ID_LEN + 1];

double handoff_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait on hc for at most `s` seconds (hl held). */
static void wait_for(double s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long ns = (long)((s - (double)(long)s) * 1e9) + until.tv_nsec;
    until.tv_sec += (time_t)s + ns / 1000000000L;
    until.tv_nsec = ns % 1000000000L;
    (void)pthread_cond_timedwait(&hc, &hl, &until);
}

void handoff_importing(const char *id, int on)
{
    pthread_mutex_lock(&hl);
    for (size_t i = 0; i < IMPORTING_MAX; i++) {
        if (on && !importing[i][0]) {
            snprintf(importing[i], sizeof(importing[i]), "%s", id);
            break;
        }
        if (!on && strcmp(importing[i], id) == 0) {
            importing[i][0] = '\0';
            break;
        }
    }
    pthread_mutex_unlock(&hl);
}

static int is_importing(const char *id)
{
    for (size_t i = 0; i < IMPORTING_MAX; i++)
        if (importing[i][0] && strcmp(importing[i], id) == 0)
            return 1;
    return 0;
}

int handoff_is_importing(const char *id)
{
    pthread_mutex_lock(&hl);
    int on = is_importing(id);
    pthread_mutex_unlock(&hl);
    return on;
}

/* hl held. Only RECEIPT and ABORT tokens are kept; the session and kind
 * are read from the token (untrusted: the TAs check the MAC). */
static void keep_locked(const char *id, const uint8_t *tok, size_t len)
{
    struct kept *k = NULL;
    struct talos_token t;

    if (talos_token_decode(tok, len, &t) != TALOS_OK ||
        (t.kind != TALOS_MIG_RECEIPT && t.kind != TALOS_MIG_ABORT))
        return;
    for (size_t i = 0; i < KEPT_MAX && !k; i++)
        if (strcmp(kept[i].id, id) == 0 &&
            memcmp(kept[i].session, t.session, sizeof(t.session)) == 0)
            k = &kept[i];
    if (!k) {
        k = &kept[kept_next];
        kept_next = (kept_next + 1) % KEPT_MAX;
    }
    snprintf(k->id, sizeof(k->id), "%s", id);
    memcpy(k->session, t.session, sizeof(k->session));
    k->kind = t.kind;
    memcpy(k->tok, tok, TALOS_TOKEN_BYTES);
}

void handoff_keep(const char *id, const uint8_t *tok, size_t len)
{
    pthread_mutex_lock(&hl);
    keep_locked(id, tok, len);
    pthread_mutex_unlock(&hl);
}

static const struct kept *find_kept(const char *id, const uint8_t session[TALOS_SESSION_BYTES])
{
    for (size_t i = 0; i < KEPT_MAX; i++)
        if (kept[i].id[0] && strcmp(kept[i].id, id) == 0 &&
            memcmp(kept[i].session, session, TALOS_SESSION_BYTES) == 0)
            return &kept[i];
    return NULL;
}

static struct waiter *find_waiter(const char *id, const uint8_t *session)
{
    for (struct waiter *w = waiters; w; w = w->next)
        if (strcmp(w->id, id) == 0 &&
            (!session || memcmp(w->session, session, TALOS_SESSION_BYTES) == 0))
            return w;
    return NULL;
}

static void verdict(struct peer_verdict *v, int status, uint8_t kind, const uint8_t *tok, size_t len,
                    const char *msg)
{
    memset(v, 0, sizeof(*v));
    v->status = status;
    v->kind = kind;
    if (tok && len <= sizeof(v->token)) {
        memcpy(v->token, tok, len);
        v->token_len = len;
    }
    snprintf(v->message, sizeof(v->message), "%s", msg);
}

/* hl held: answer a posted request and wake its poster. */
static void complete(struct hreq **slot, const struct peer_verdict *ans)
{
    if (!*slot)
        return;
    (*slot)->ans = *ans;
    (*slot)->done = 1;
    *slot = NULL;
    pthread_cond_broadcast(&hc);
}

int handoff_wait(struct ta_entry *e, struct talos_migration *m, int seconds)
{
    struct waiter w;
    struct peer_verdict ans;
    struct talos_token prepared;
    int rc = TALOS_OK, finished = 0;

    memset(&w, 0, sizeof(w));
    snprintf(w.id, sizeof(w.id), "%s", e->id);
    w.e = e;
    w.deadline = handoff_now() + seconds;
    if (m->token_kind != TALOS_MIG_PREPARED ||
        talos_token_decode(m->token, m->token_len, &prepared) != TALOS_OK) {
        /* A TA that waits must say for which session; this one broke the
         * protocol: make it give up at once. */
        w.deadline = 0;
    } else {
        memcpy(w.session, prepared.session, sizeof(w.session));
    }
    pthread_mutex_lock(&hl);
    w.next = waiters;
    waiters = &w;
    pthread_mutex_unlock(&hl);
    snprintf(e->handoff, sizeof(e->handoff), "waiting for HANDOFF");
    registry_waiting(e, 1);
    talos_hex(w.session, sizeof(w.session), e->handoff_session);
    TLOG_WARN("peer: target for %s is PREPARED and lost its channel: waiting up to %d s for the "
              "source's HANDOFF through its node (talos abort gives up now)", e->id, seconds);
    pthread_mutex_unlock(&e->lock); /* ps and calls (STATE) meanwhile */

    while (!finished) {
        struct hreq *req = NULL;
        int code = 0;
        uint8_t tok[PEER_TOKEN_MAX];
        size_t tok_len = 0;

        pthread_mutex_lock(&hl);
        while (!w.tok_req && !w.abort_req && handoff_now() < w.deadline && !e->removed)
            wait_for(0.5);
        if (w.abort_req)
            code = TALOS_ERR_ABORTED;
        else if (w.tok_req) {
            req = w.tok_req;
            memcpy(tok, req->tok, req->tok_len);
            tok_len = req->tok_len;
        } else
            code = e->removed ? TALOS_ERR_ABORTED : TALOS_ERR_TIMEOUT;
        pthread_mutex_unlock(&hl);

        pthread_mutex_lock(&e->lock);
        if (code) {
            TLOG_WARN("peer: target for %s gives up waiting for HANDOFF: %s", e->id,
                      code == TALOS_ERR_TIMEOUT ? "the wait expired" : "an operator aborted it");
            rc = talos_ta_give_up(e->ta, code, m);
            finished = 1;
        } else {
            TLOG_INFO("peer: delivering a resent HANDOFF to the target for %s", e->id);
            rc = talos_ta_handoff(e->ta, tok, tok_len, m);
            /* Refused (the token did not verify): the TA is unchanged and
             * waits on; anything else ends the wait. */
            finished = rc != TALOS_OK || m->status == TALOS_OK || m->token_kind == TALOS_MIG_ABORT;
            if (!finished) {
                TLOG_WARN("peer: the target for %s refused a resent HANDOFF (%s): %s; still waiting",
                          e->id, talos_errname(m->status), m->reason);
                pthread_mutex_unlock(&e->lock);
            }
        }
        if (rc != TALOS_OK)
            verdict(&ans, rc, 0, NULL, 0, "the target TA died");
        else if (m->token_kind == TALOS_MIG_RECEIPT || m->token_kind == TALOS_MIG_ABORT)
            verdict(&ans, TALOS_OK, m->token_kind, m->token, m->token_len,
                    m->status == TALOS_OK ? "target activated" : m->reason);
        else
            verdict(&ans, m->status, 0, NULL, 0, m->reason);
        pthread_mutex_lock(&hl);
        if (rc == TALOS_OK && finished)
            keep_locked(w.id, m->token, m->token_len);
        if (req && w.tok_req == req)
            complete(&w.tok_req, &ans);
        if (finished) {
            complete(&w.tok_req, &ans);
            complete(&w.abort_req, &ans);
            for (struct waiter **pp = &waiters; *pp; pp = &(*pp)->next)
                if (*pp == &w) {
                    *pp = w.next;
                    break;
                }
        }
        pthread_mutex_unlock(&hl);
    }
    e->handoff[0] = '\0';
    registry_waiting(e, 0);
    return rc; /* e->lock held */
}

/* Post req to the waiter of (id, session or any) and wait for its answer.
 * hl held. TALOS_OK when answered. */
static int post(struct waiter *w, struct hreq *req)
{
    struct hreq **slot = req->kind == HREQ_TOKEN ? &w->tok_req : &w->abort_req;
    double until = handoff_now() + REQ_WAIT_S;

    if (*slot)
        return TALOS_ERR_BUSY;
    *slot = req;
    pthread_cond_broadcast(&hc);
    while (!req->done && handoff_now() < until)
        wait_for(0.5);
    if (req->done)
        return TALOS_OK;
    /* The waiter is stuck in its TA: withdraw (it may be gone; find it). */
    for (struct waiter *x = waiters; x; x = x->next) {
        if (x->tok_req == req)
            x->tok_req = NULL;
        if (x->abort_req == req)
            x->abort_req = NULL;
    }
    return TALOS_ERR_TIMEOUT;
}

void handoff_serve_resend(struct peer_link *l, const struct peer_resend *q)
{
    char id[TA_ID_LEN + 1], sess[33];
    struct peer_verdict v;
    struct hreq req;
    const struct kept *k = NULL;
    struct waiter *w = NULL;

    talos_hex(q->lineage, TALOS_LINEAGE_BYTES, id);
    talos_hex(q->session, TALOS_SESSION_BYTES, sess);
    memset(&req, 0, sizeof(req));
    pthread_mutex_lock(&hl);
    if ((k = find_kept(id, q->session))) {
        /* Settled: the same answer to every resend of that session. */
        verdict(&v, TALOS_OK, k->kind, k->tok, sizeof(k->tok), "kept verdict of that session");
    } else if ((w = find_waiter(id, q->session))) {
        req.kind = HREQ_TOKEN;
        req.tok_len = q->token_len;
        memcpy(req.tok, q->token, q->token_len);
        int rc = post(w, &req);
        if (rc == TALOS_OK)
            v = req.ans;
        else
            verdict(&v, rc, 0, NULL, 0,
                    rc == TALOS_ERR_BUSY ? "another HANDOFF is being delivered" : "the target did not answer");
    } else if (is_importing(id) && !find_waiter(id, NULL)) {
        /* Its target may not have noticed yet that the channel broke. */
        verdict(&v, TALOS_ERR_BUSY, 0, NULL, 0, "the lineage is still being imported; retry");
    } else {
        verdict(&v, TALOS_ERR_NO_SUCH_SESSION, 0, NULL, 0, "no migration session of that lineage and id here");
    }
    pthread_mutex_unlock(&hl);
    TLOG_INFO("peer: resent HANDOFF for %s session %s answered: %s%s", id, sess,
              talos_errname(v.status), v.kind == TALOS_MIG_RECEIPT ? " RECEIPT"
                                       : v.kind == TALOS_MIG_ABORT ? " ABORT" : "");
    (void)peer_send_verdict(l, &v);
}

int handoff_abort(const char *id, uint8_t *tok, size_t *len, char *why, size_t cap)
{
    struct hreq req;
    struct waiter *w = NULL;
    int rc = TALOS_OK;

    memset(&req, 0, sizeof(req));
    req.kind = HREQ_ABORT;
    pthread_mutex_lock(&hl);
    if (!(w = find_waiter(id, NULL))) {
        pthread_mutex_unlock(&hl);
        snprintf(why, cap, "no PREPARED target of %s waits for a HANDOFF on this node", id);
        return TALOS_ERR_STATE;
    }
    rc = post(w, &req);
    pthread_mutex_unlock(&hl);
    if (rc == TALOS_OK && req.ans.status == TALOS_OK && req.ans.kind == TALOS_MIG_ABORT) {
        memcpy(tok, req.ans.token, req.ans.token_len);
        *len = req.ans.token_len;
        return TALOS_OK;
    }
    if (rc == TALOS_OK && req.ans.kind == TALOS_MIG_RECEIPT) {
        snprintf(why, cap, "too late: the target activated with a HANDOFF delivered meanwhile");
        return TALOS_ERR_STATE;
    }
    rc = rc != TALOS_OK ? rc : req.ans.status ? req.ans.status : TALOS_ERR_PROTOCOL;
    snprintf(why, cap, "the target did not give up: %s", talos_strerror(rc));
    return rc;
}
